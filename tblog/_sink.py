"""Where a run's framed records go: local event files (this module) or remote segments."""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import threading
import time
from collections.abc import Callable
from typing import Protocol

from tblog._report import report

EVENT_PREFIX = "events.out.tfevents."

_file_seq = 0  # a process-wide sequence in event file names: two files never share a name
_seq_lock = threading.Lock()  # the writer and uploader threads both take names


def event_file_name(newest: str, exists: Callable[[str], bool], suffix: str = "") -> str:
    """Return a new event file name that sorts after ``newest`` (TensorBoard reads by name).

    The one naming rule of local event files and remote segments:
    ``events.out.tfevents.<seconds, 10 digits>.<host>.<pid>.<n><suffix>``. The seconds are the
    clock's, but never less than those of ``newest``, and one more when that name would still
    not sort after it. So a name sorts after every earlier one and keeps its length whatever the
    clock does (stepped back, or another host's clock ahead: the stamp follows the later one).

    After a name no clock of ours sorts after (no 10-digit stamp: ``events.out.tfevents.zzz``,
    an 11-digit stamp), names take a short prefix that sorts after it, chosen once:
    ``events.out.tfevents.<prefix>.<seconds>.<host>.<pid>.<n><suffix>``; later names keep that
    prefix and follow the same rule, so they stay bounded too.

    Args:
        newest: The greatest event file name already there ("" for none).
        exists: Tells whether a name is taken.
        suffix: Appended to the name (``SummaryWriter(filename_suffix=...)``).
    """
    global _file_seq
    host = socket.gethostname()
    pid = os.getpid()
    prefix, floor = _family_of(newest)
    stamp = min(int(time.time()), 10**10 - 1)  # ten digits, even on a clock past 2286
    if floor is not None:
        stamp = max(stamp, floor)
    for _ in range(1000):
        with _seq_lock:
            _file_seq += 1
            seq = _file_seq
        name = f"{EVENT_PREFIX}{prefix}{stamp:010d}.{host}.{pid}.{seq}{suffix}"
        if name <= newest:
            if floor is None or floor + 1 >= 10**10:
                prefix, floor = _prefix_after(newest[len(EVENT_PREFIX) :]), None
                continue
            stamp = max(stamp, floor + 1)  # the same second as newest, which sorts after ours
            continue
        if not exists(name):
            return name
    msg = f"no free event file name after {newest!r}"
    raise OSError(errno.EEXIST, msg)


_MAX_PREFIX = 16  # the longest prefix chosen to sort after a foreign name


def _family_of(newest: str) -> tuple[str, int | None]:
    """The prefix (with its dot) and the seconds of ``newest`` if it follows our rule."""
    floor = stamp_of(newest)
    if floor is not None or not newest.startswith(EVENT_PREFIX):
        return "", floor
    head, _, rest = newest[len(EVENT_PREFIX) :].partition(".")
    stamp = rest.split(".", 1)[0]
    if 0 < len(head) <= _MAX_PREFIX and len(stamp) == 10 and stamp.isdigit():
        return f"{head}.", int(stamp)  # a name made after a foreign one: the same prefix
    return "", None


def _prefix_after(tail: str) -> str:
    """A short prefix (with its dot) that sorts after ``tail``: its head up to a "z" or past."""
    for i, char in enumerate(tail[:_MAX_PREFIX]):
        if char < "z":
            return f"{tail[:i]}z."
    if len(tail) < _MAX_PREFIX:
        return f"{tail}z."
    last = ord(tail[_MAX_PREFIX - 1]) + 1
    while not chr(last).isprintable():  # DEL and the C1 controls: no name holds those
        last += 1
    return f"{tail[: _MAX_PREFIX - 1]}{chr(last)}."


def stamp_of(name: str) -> int | None:
    """The seconds field of an event file name, or None when it has none."""
    if not name.startswith(EVENT_PREFIX):
        return None
    head = name[len(EVENT_PREFIX) :].split(".", 1)[0]
    return int(head) if head.isdigit() and len(head) <= 10 else None


def fitting(data: bytes | memoryview, room: int) -> int:
    """The length of the longest run of whole records at the start of ``data`` within ``room``.

    When not even the first record fits, the first record's length: a record larger than a
    file's size cap goes alone into a file of its own (records are never split).
    """
    offset = 0
    while offset < len(data):
        end = offset + 16 + int.from_bytes(data[offset : offset + 8], "little")
        if end > room:
            break
        offset = end
    if offset == 0 and len(data):
        offset = 16 + int.from_bytes(data[:8], "little")
    return offset


def records_in(data: bytes | memoryview, end: int) -> int:
    """The number of whole records in ``data[:end]`` (``end`` on a record boundary)."""
    count = offset = 0
    while offset + 16 <= end:
        offset += 16 + int.from_bytes(data[offset : offset + 8], "little")
        count += 1
    return count


def create_event_file(path: str, header: bytes) -> int:
    """Create ``path`` exclusively with its header records; return the descriptor.

    Raises:
        OSError: It cannot be created or its header not written whole (nothing is left then).
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if os.write(fd, header) != len(header):
            raise OSError(28, "short write of the file header")  # noqa: TRY301
    except OSError:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.remove(path)
        raise
    return fd


class EventSink(Protocol):
    """Where the writer thread puts whole framed records; only the writer thread calls it."""

    @property
    def path(self) -> str | None:
        """The file (or segment) being written, if any."""

    @property
    def errors(self) -> int:
        """I/O errors met."""

    def write(self, data: bytes) -> int:
        """Write whole records; return how many bytes of them were (a whole-record prefix).

        Less than ``len(data)`` when a fault stopped it (reported once per fault).
        """

    def check(self) -> None:
        """Periodic housekeeping while idle (a deleted file, a segment due)."""

    def sync(self) -> Callable[[float], bool]:
        """Start making everything written so far readable by TensorBoard, without waiting.

        Returns a function that waits until it is, at most until the monotonic time it is given,
        and says whether it is: the flushing thread waits, never the writer thread.
        """

    def close(self, deadline: float) -> None:
        """Finish: the last file (or segment) complete; waits at most until ``deadline``."""

    def reset_in_child(self, logdir: str) -> None:
        """In a forked child: forget the parent's file and write below ``logdir`` instead."""


def _readable(deadline: float) -> bool:
    del deadline
    return True


class LocalFile:
    """Event files in a local run directory, written with ``os.write``, one at a time.

    - A file is created on the first write, named to sort after every file already there.
    - A failed write is cut back to the last whole record (a torn record stops TensorBoard's
      readers for good); writing resumes when the fault clears.
    - Records written into a file that was deleted (the run directory removed) are written
      again into a new file: writes into an unlinked file succeed silently on Linux.
    - With ``max_bytes``, a file that would grow past it is closed and a new one started.

    Args:
        logdir: The run directory (created when the first file is).
        header: Returns the records a new file starts with; its argument says whether this is
            the run's first file in this process (a resume's purge belongs there only).
        max_bytes: Start a new file before one would exceed this size; None for no limit.
        suffix: Appended to the name of every event file.
    """

    def __init__(
        self,
        logdir: str,
        header: Callable[[bool], bytes],
        max_bytes: int | None = None,
        suffix: str = "",
    ) -> None:
        self.logdir = logdir
        self.path: str | None = None
        self.errors = 0
        self._header = header
        self._max_bytes = max_bytes
        self._suffix = suffix
        self._fd: int | None = None
        self._offset = 0
        self._header_size = 0
        self._opened = False
        self._failing = False

    def write(self, data: bytes) -> int:
        """Write ``data`` (whole records) at the end of the current file, or of new ones.

        Returns the bytes written: all of ``data``, or the records before a fault.
        """
        total = len(data)
        limit = self._max_bytes
        while limit is not None and data:
            if self._fd is None and not self._open():
                return total - len(data)
            if self._offset + len(data) <= limit:
                break
            cut = fitting(data, limit - self._offset)
            if self._offset + cut > limit and self._offset > self._header_size:
                self._close_file()  # rotate: the next file takes these records
                continue
            if not self._write_checked(data[:cut]):
                return total - len(data)
            data = data[cut:]
            self._close_file()
        if data and not self._write_checked(data):
            return total - len(data)
        return total

    def _write_checked(self, data: bytes) -> bool:
        if not self._write(data):
            return False
        if self._deleted():
            self._file_gone()
            return self._write(data)
        return True

    def check(self) -> None:
        """Notice a deleted file while idle and let it go."""
        if self._deleted():
            self._file_gone()

    def sync(self) -> Callable[[float], bool]:
        """Local writes are readable as soon as ``os.write`` returns."""
        return _readable

    def close(self, deadline: float) -> None:
        """Close the current file."""
        del deadline
        self._close_file()

    def reset_in_child(self, logdir: str) -> None:
        """Close the child's copy of the descriptor and start afresh in ``logdir``."""
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)  # the child's copy of the descriptor only
        self.logdir = logdir
        self.path = None
        self._offset = 0
        self._failing = False
        self._opened = True  # a purge belongs to the parent's file
        self.errors = 0

    def _write(self, data: bytes) -> bool:
        if self._fd is None and not self._open():
            return False
        fd = self._fd
        assert fd is not None  # noqa: S101 - _open() set it
        try:
            view = memoryview(data)
            while view:
                n = os.write(fd, view)
                view = view[n:]
        except OSError as exc:
            self._undo_partial_write(fd)
            self.errors += 1
            if not self._failing:
                self._failing = True
                report(
                    f"cannot write to {self.path}: {exc.strerror or exc}; dropping points until "
                    "writing works again (see the writer's 'dropped' counter)"
                )
            return False
        self._offset += len(data)
        if self._failing:
            self._failing = False
            report(f"writing to {self.path} works again")
        return True

    def _undo_partial_write(self, fd: int) -> None:
        # A torn record stops TensorBoard's readers for good: cut back to the last whole record.
        try:
            os.ftruncate(fd, self._offset)
            os.lseek(fd, self._offset, os.SEEK_SET)
        except OSError:
            self._close_file()

    def _open(self) -> bool:
        try:
            os.makedirs(self.logdir, exist_ok=True)
            names = os.listdir(self.logdir)
            newest = max((n for n in names if n.startswith(EVENT_PREFIX)), default="")
            taken = set(names)
            name = event_file_name(newest, taken.__contains__, self._suffix)
            path = os.path.join(self.logdir, name)
            header = self._header(not self._opened)
            fd = create_event_file(path, header)
        except Exception as exc:  # noqa: BLE001 - any error costs points, never the writer
            self.errors += 1
            if not self._failing:
                self._failing = True
                why = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
                report(
                    f"cannot create an event file in {self.logdir}: {why}; "
                    "dropping points until it can be created"
                )
            return False
        self._fd = fd
        self.path = path
        self._offset = self._header_size = len(header)
        self._opened = True
        return True

    def _deleted(self) -> bool:
        """True if the open file was unlinked (writes into it would vanish silently)."""
        fd = self._fd
        if fd is None:
            return False
        try:
            return os.fstat(fd).st_nlink == 0
        except OSError:
            return True

    def _file_gone(self) -> None:
        report(
            f"the event file {self.path} was deleted (was the run directory removed?); "
            "points from now on go to a new event file"
        )
        self._close_file()

    def _close_file(self) -> None:
        self.path = None
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
