"""Runs in object storage: immutable event-file segments, spooled locally, uploaded in order."""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import os
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

from tblog._location import event_file_name, join, open_store
from tblog._record import fitting
from tblog._report import report
from tblog._sink import create_event_file
from tblog._spool import default_spool_root, lock_spool, remove_spool, write_target
from tblog._upload import Uploader

DEFAULT_REMOTE_MAX_BYTES = 64 * 2**20  # one PUT each (s3fs sends up to 100 MiB in one)

_spool_seq = itertools.count(1)


def _nothing_to_wait_for(deadline: float) -> bool:
    del deadline
    return True


class RemoteSegments:
    """A run in object storage as a sequence of immutable event-file segments.

    The writer thread writes records into a local spool file; a segment is closed when
    ``upload_secs`` passed since it opened, when it would pass ``max_bytes``, on ``sync()``
    (a flush) and on ``close()``. Each closed segment is a complete event file whose name
    sorts after every earlier one, uploaded whole (one PUT, never rewritten) by an uploader
    thread: bytes uploaded = bytes written plus one small header per segment.

    Args:
        url: The run's URL (``s3://bucket/runs/exp1``).
        header: Returns the records a new segment starts with (True: the run's first one).
        fs: The fsspec filesystem of ``url``.
        path: ``url`` as a path in ``fs``.
        upload_secs: A segment with points is closed and uploaded at least this often.
        max_bytes: A segment is closed before it would grow past this size.
        spool_dir: Where segments wait for upload (default ``default_spool_root()``).
        stall_secs: Say that uploads are stuck once a segment waited this long.
        storage_options: The fsspec options ``fs`` was made with (a forked child makes its own).
        suffix: Appended to segment names (``SummaryWriter(filename_suffix=...)``).
    """

    def __init__(
        self,
        url: str,
        header: Callable[[bool], bytes],
        *,
        fs: Any,
        path: str,
        upload_secs: float = 30.0,
        max_bytes: int | None = None,
        spool_dir: str | None = None,
        stall_secs: float = 10.0,
        storage_options: Mapping[str, Any] | None = None,
        suffix: str = "",
    ) -> None:
        self.url = url
        self._storage_options = dict(storage_options or {})
        self._suffix = suffix
        self._stall_secs = stall_secs
        self.path: str | None = None
        self._header = header
        self._fs = fs
        self._root = path
        self._upload_secs = upload_secs
        self._max_bytes = max_bytes or DEFAULT_REMOTE_MAX_BYTES
        self._spool_root = spool_dir or default_spool_root()
        self._spool: str | None = None
        self._uploader: Uploader | None = None
        self._newest = ""  # the greatest segment name made so far
        self._fd: int | None = None
        self._local = ""
        self._size = 0
        self._dirty = False  # the open segment holds more than its file_version record
        self._opened_at = 0.0
        self._first = True
        self._failing = False
        self._errors = 0
        self._old_errors = 0  # errors of the uploader of an earlier spool
        self._told_left = 0  # segments left in the spool that a message already named
        self._lock: int | None = None  # the spool's lock, held while this process uploads it

    @property
    def errors(self) -> int:
        """Spool and upload errors met."""
        uploader = self._uploader
        return self._errors + self._old_errors + (uploader.errors if uploader is not None else 0)

    @property
    def spool(self) -> str | None:
        """The spool directory of this run (None before the first segment)."""
        return self._spool

    @property
    def pending(self) -> int:
        """Closed segments waiting for upload."""
        return self._uploader.pending if self._uploader is not None else 0

    def write(self, data: bytes) -> int:
        """Append whole records to the open segment (opening or rotating segments as needed).

        Returns the bytes written: all of ``data``, or the records before a fault.
        """
        total = len(data)
        limit = self._max_bytes
        while data:
            if self._fd is None and not self._open_segment():
                break
            if self._size + len(data) <= limit:
                if self._append(data):
                    data = b""
                break
            cut = fitting(data, limit - self._size)
            if self._size + cut > limit and self._dirty:
                self._close_segment()
                continue
            if not self._append(data[:cut]):
                break
            data = data[cut:]
            self._close_segment()
        return total - len(data)

    def _append(self, data: bytes) -> bool:
        fd = self._fd
        assert fd is not None  # noqa: S101 - _open_segment() set it
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._size)
                os.lseek(fd, self._size, os.SEEK_SET)
            self._spool_failed(exc)
            return False
        self._size += len(data)
        self._dirty = True
        return True

    def check(self) -> None:
        """Close the open segment once ``upload_secs`` passed; say when uploads are stuck."""
        if self._dirty and time.monotonic() - self._opened_at >= self._upload_secs:
            self._close_segment()
        if self._uploader is not None:
            self._uploader.check(self._stall_secs)

    def sync(self) -> Callable[[float], bool]:
        """Close the open segment; return a wait until every segment so far is in the store.

        The writer thread goes on writing new segments into the spool meanwhile: a store that
        is down never holds it up.
        """
        self._close_segment()
        uploader = self._uploader
        if uploader is None:
            return _nothing_to_wait_for
        return functools.partial(uploader.wait_for, uploader.submitted)

    def close(self, deadline: float) -> None:
        """Close and upload the last segment; what cannot go up by ``deadline`` stays spooled."""
        self._close_segment()
        uploader = self._uploader
        if uploader is None:
            self._release()
            return
        if not uploader.wait(deadline) and uploader.pending != self._told_left:
            self._told_left = uploader.pending
            report(
                f"{uploader.pending} segments of {self.url} are not uploaded yet; they are kept "
                f"in {self._spool} (push them later with: tblog upload {self._spool})"
            )
        uploader.stop(self._release)

    def _release(self) -> None:
        """Uploads are over: remove the spool if it is empty, and release its lock.

        A segment made later (a point logged by a later exit hook) starts a new spool.
        """
        fd, self._lock = self._lock, None
        uploader = self._uploader
        spool = self._spool
        if spool is not None and (uploader is None or not uploader.pending) and remove_spool(spool):
            if uploader is not None:
                self._old_errors += uploader.errors
            self._spool = self._uploader = None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def reset_in_child(self, logdir: str) -> None:
        """A forked child writes its own sub-run, with its own spool and uploader."""
        for fd in (self._fd, self._lock):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)  # the child's copies; the parent uploads its own segments
        self._fd = self._lock = None
        self.url = logdir
        # A filesystem object does not survive a fork (s3fs refuses): the child opens its own,
        # later, once fsspec's own fork hooks have reset its event loop.
        self._fs = None
        self.path = None
        self._spool = None
        self._uploader = None
        self._dirty = False
        self._first = False
        self._errors = 0

    def _open_segment(self) -> bool:
        try:
            if self._spool is None:
                self._spool = self._make_spool()
            spool = self._spool
            newest = self._newest
            if self._uploader is not None:  # follow a later name the store holds, if known
                newest = max(newest, self._uploader.names.last or "")
            name = event_file_name(
                newest, lambda n: os.path.exists(os.path.join(spool, n)), self._suffix
            )
            local = os.path.join(spool, name)
            uploader = self._uploader_for()  # opens the store (its package may be missing)
            header = self._header(self._first)
            # More than a file_version record (a purge): worth an object even with no point.
            dirty = self._first and len(header) > len(self._header(False))  # noqa: FBT003
            fd = create_event_file(local, header)
        except Exception as exc:  # noqa: BLE001 - any error costs points, never the writer
            self._spool_failed(exc)
            return False
        self._dirty = dirty
        uploader.start()
        self._first = False
        self._newest = name
        self._fd, self._local = fd, local
        self.path = join(self.url, name)
        self._size = len(header)
        self._opened_at = time.monotonic()
        if self._failing:
            self._failing = False
            report(f"the spool of {self.url} works again")
        return True

    def _close_segment(self) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.close(fd)
        self.path = None
        if not self._dirty:  # only a file_version record: nothing worth an object
            with contextlib.suppress(OSError):
                os.remove(self._local)
            return
        self._dirty = False
        self._uploader_for().submit(self._local)

    def _uploader_for(self) -> Uploader:
        if self._uploader is None:
            assert self._spool is not None  # noqa: S101 - made with the first segment
            if self._fs is None:
                self._fs, self._root = open_store(self.url, self._storage_options)
            self._uploader = Uploader(self._fs, self.url, self._root, self._spool, self._suffix)
        return self._uploader

    def _make_spool(self) -> str:
        slug = re.sub(r"[^\w.-]+", "_", self.url)[-80:]
        spool = os.path.join(self._spool_root, f"{slug}.{os.getpid()}.{next(_spool_seq)}")
        os.makedirs(spool, exist_ok=True)
        lock = lock_spool(spool)  # before the target file: `tblog upload` skips it till then
        if lock is None:
            msg = f"{spool} is locked by another process"
            raise OSError(errno.EBUSY, msg)
        self._lock = lock
        write_target(spool, self.url, self._suffix)
        return spool

    def _spool_failed(self, exc: Exception) -> None:
        self._errors += 1
        if not self._failing:
            self._failing = True
            why = getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"
            report(
                f"cannot write the spool of {self.url} ({self._spool_root}): "
                f"{why}; dropping points until it works again"
            )
