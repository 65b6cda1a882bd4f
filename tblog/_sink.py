"""Where a run's framed records go: local event files (this module) or remote segments."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from tblog._location import event_file_name, newest_event_file
from tblog._record import fitting
from tblog._report import report

if TYPE_CHECKING:
    from tblog._options import WriterOptions


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


def open_sink(
    logdir: str,
    header: Callable[[bool], bytes],
    options: WriterOptions,
    store: tuple[Any, str] | None,
) -> EventSink:
    """The sink of a run: a local event file, or segments uploaded to ``store`` (fs, path).

    Args:
        logdir: The run's directory or URL.
        header: Returns the records a new file starts with (True: the run's first file).
        options: The run's writer options (sizes, suffix, upload period, spool).
        store: The fsspec filesystem and path of a run in object storage; None for local.
    """
    if store is None:
        return LocalFile(logdir, header, options.max_bytes, options.filename_suffix)
    from tblog._remote import RemoteSegments  # it builds on this module's event files

    spool_dir = options.spool_dir
    return RemoteSegments(
        logdir,
        header,
        fs=store[0],
        path=store[1],
        upload_secs=options.upload_secs,
        max_bytes=options.max_bytes,
        spool_dir=None if spool_dir is None else os.fspath(spool_dir),
        stall_secs=options.timeout_secs,
        storage_options=options.storage_options,
        suffix=options.filename_suffix,
    )


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
            path = self.path  # undoing the partial write may close the file and forget it
            self._undo_partial_write(fd)
            self.errors += 1
            if not self._failing:
                self._failing = True
                report(
                    f"cannot write to {path}: {exc.strerror or exc}; dropping points until "
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
            newest = newest_event_file(names)
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
