"""Putting segments into the store: store names that sort in order, the uploader thread, a spool."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from tblog._location import EVENT_PREFIX, event_file_name, join, open_store
from tblog._record import whole_records
from tblog._report import report
from tblog._spool import STORE_NAME_PREFIX, lock_spool, read_target, remove_segment, remove_spool


class StoreNames:
    """Puts segments into a run in the store so that each one sorts after what it holds.

    Spool names are chosen where segments are written (``event_file_name``), from this host's
    clock; another host whose clock runs ahead may have put a later-sorting name there
    already. The run is listed once, before the first put, where the credentials allow (a
    policy without ``s3:ListBucket`` refuses it: then names stay as they are). A segment whose
    spool name would sort before the greatest name goes up under a new name that sorts after
    it; the spool file keeps its name (so spool order stays write order), and the new name is
    noted in the spool before the put, so a retry, or ``tblog upload`` after a kill, puts it
    under that same name (or skips it when it is there). Every later put sorts after the one
    before.

    Args:
        fs: The store's fsspec filesystem.
        root: The run's path in ``fs``.
    """

    def __init__(self, fs: Any, root: str) -> None:
        self._fs = fs
        self._root = root
        self.last: str | None = None  # the greatest event file name in the run; None: not known
        self._sizes: dict[str, int] | None = None  # the run's event files as listed; None: not

    def greatest(self, timeout: float | None = None) -> str:
        """The greatest event file name in the run (listed once), "" for none or not listable."""
        if self.last is None:
            sizes: dict[str, int] | None = {}
            try:
                listed = self._fs.ls(self._root, detail=True, **self._within(timeout))
            except FileNotFoundError:  # no run yet
                listed = []
            except PermissionError:  # may write but not list
                listed, sizes = [], None
            for entry in listed:
                name = os.path.basename(str(entry.get("name", "")).rstrip("/"))
                if sizes is not None and name.startswith(EVENT_PREFIX):
                    sizes[name] = int(entry.get("size") or 0)
            self._sizes = sizes
            self.last = max(sizes or (), default="")
        return self.last

    def put(
        self,
        local: str,
        data: bytes,
        suffix: str,
        timeout: float | None = None,
        *,
        check: bool = False,
    ) -> str:
        """Put a spooled segment's ``data`` into the run; return the name it has there.

        Args:
            local: The segment's spool file (it keeps its name).
            data: What to put.
            suffix: The run's segment name suffix.
            timeout: Seconds the listing and the put may take (None: no limit).
            check: The segment may be in the store already (a put that failed late, or a kill
                before its spool file was removed): skip the put when the store holds its
                name with ``len(data)`` bytes (listed, else asked with one HEAD; where HEAD is
                refused too, it is put again).

        Raises:
            Exception: Whatever the store raises (the segment stays in the spool then).
        """
        started = time.monotonic()
        last = self.greatest(timeout)
        spool, own = os.path.split(local)
        note = os.path.join(spool, STORE_NAME_PREFIX + own)
        name = own
        with contextlib.suppress(OSError), open(note, encoding="utf-8") as file:
            name = file.read().strip() or own
        if check and self._holds(name, len(data), timeout):
            self.last = max(last, name)
            return name
        if name <= last:
            name = event_file_name(last, lambda _: False, suffix)
            with open(note, "w", encoding="utf-8") as file:
                file.write(name)
                file.flush()
                os.fsync(file.fileno())
        if timeout is not None:
            timeout -= time.monotonic() - started
        self._fs.pipe_file(join(self._root, name), data, **self._within(timeout))
        self.last = max(last, name)
        if self._sizes is not None:
            self._sizes[name] = len(data)
        return name

    def _holds(self, name: str, size: int, timeout: float | None) -> bool:
        """Whether the run holds ``name`` with ``size`` bytes (False when it cannot be told)."""
        if self._sizes is not None:
            return self._sizes.get(name) == size
        try:
            info = self._fs.info(join(self._root, name), **self._within(timeout))
        except (FileNotFoundError, PermissionError):  # absent, or HEAD refused: put it
            return False
        return int(info.get("size") or -1) == size

    def _within(self, timeout: float | None) -> dict[str, float]:
        """The ``timeout`` argument of fsspec's async filesystems (s3fs, ...); others take none."""
        if timeout is None or not getattr(self._fs, "async_impl", False):
            return {}
        return {"timeout": max(timeout, 0.01)}  # fsspec reads 0 as "no limit"


class Uploader:
    """Uploads closed segments in order, one PUT each, on its own thread, with backoff.

    An unreachable store never blocks the writer: segments wait in the spool, one message
    says so, and they go up in order when the store is back.
    """

    def __init__(self, fs: Any, url: str, root: str, spool: str, suffix: str = "") -> None:
        self._fs = fs
        self._suffix = suffix
        self._url = url
        self._root = root
        self._spool = spool
        self._pending: deque[str] = deque()  # local segment files, in order
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._failing = False
        self._retry = False  # the head segment's last put failed
        self._waiting_since = 0.0  # when the segment at the head of the queue became due
        self._ended = False  # the thread has returned
        self._then: Callable[[], None] | None = None  # run by stop() once the thread ended
        self.names = StoreNames(fs, root)
        self.errors = 0
        self.uploaded_bytes = 0
        self.submitted = 0  # segments submitted so far
        self._uploaded = 0  # of those, segments in the store

    @property
    def pending(self) -> int:
        """Segments waiting for upload."""
        return len(self._pending)

    def submit(self, local: str) -> None:
        """Queue a closed segment; it goes up after every one queued before it."""
        with self._cond:
            if not self._pending:
                self._waiting_since = time.monotonic()
            self._pending.append(local)
            self.submitted += 1
            self._cond.notify_all()
        self.start()  # where no thread can start, a wait uploads (within its deadline)

    def start(self) -> bool:
        """Start the uploader thread (once); False where no thread can start (at exit, 3.12).

        Started with the run's first segment, it lists the store at once, which also brings up
        the store client's own threads while new threads can still be made.
        """
        if self._thread is None:
            try:
                thread = threading.Thread(
                    target=self._loop, name=f"tblog-upload:{self._url}", daemon=True
                )
                thread.start()
            except RuntimeError:  # at interpreter exit (Python 3.12): no new threads
                return False
            self._thread = thread
        return True

    def wait(self, deadline: float) -> bool:
        """Return True once nothing is pending, False if that did not happen by ``deadline``."""
        return self.wait_for(self.submitted, deadline)

    def wait_for(self, count: int, deadline: float) -> bool:
        """Return True once the first ``count`` segments are in the store; False at ``deadline``."""
        if self._thread is None:  # no thread could start (at exit): upload here, once
            self._upload_all_now(deadline)
            return self._uploaded >= count
        with self._cond:
            while self._uploaded < count:
                left = deadline - time.monotonic()
                if left <= 0 or (self._thread is not None and not self._thread.is_alive()):
                    return False
                self._cond.wait(min(left, 0.1))
        return True

    def check(self, stall_secs: float) -> None:
        """Say once that uploads are stuck when the oldest segment waited ``stall_secs``."""
        if self._pending and not self._failing:
            waited = time.monotonic() - self._waiting_since
            if waited >= stall_secs:
                self._failing = True
                report(
                    f"cannot upload to {self._url} for {waited:.0f}s; segments wait in "
                    f"{self._spool} and go up in order when the store is back"
                )

    def stop(self, then: Callable[[], None] | None = None) -> None:
        """Let the thread end; segments still pending stay in the spool.

        Args:
            then: Called once no upload runs any more: now, or when the thread returns (an
                upload under way finishes first, so the spool is not released under it).
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            # With nothing pending no upload runs: release now, not when the thread returns
            # (at exit a daemon thread may never be scheduled again, leaving an empty spool).
            if self._thread is not None and not self._ended and self._pending:
                self._then = then
                return
        if then is not None:
            then()

    def _upload_all_now(self, deadline: float | None = None) -> None:
        """Upload on the calling thread (no uploader thread could start), until ``deadline``."""
        while self._pending:
            left = None if deadline is None else deadline - time.monotonic()
            if (left is not None and left <= 0) or not self._upload_one(self._pending[0], left):
                return
            self._pending.popleft()
            self._uploaded += 1

    def _loop(self) -> None:
        try:
            self._uploads()
        finally:
            with self._cond:
                self._ended = True
                then, self._then = self._then, None
            if then is not None:
                then()

    def _uploads(self) -> None:
        with contextlib.suppress(Exception):  # the store may be down: the first upload retries
            self.names.greatest()
        delay = 0.25
        while True:
            with self._cond:
                while not self._pending and not self._stopping:
                    self._cond.wait()
                if not self._pending:
                    return
                local = self._pending[0]
            if self._upload_one(local):
                delay = 0.25
                with self._cond:
                    self._pending.popleft()
                    self._uploaded += 1
                    self._waiting_since = time.monotonic()
                    self._cond.notify_all()
                continue
            with self._cond:
                if self._stopping:
                    return  # what is left stays in the spool
                self._cond.wait(delay)
            delay = min(delay * 2, 5.0)

    def _upload_one(self, local: str, timeout: float | None = None) -> bool:
        try:
            with open(local, "rb") as file:
                data = file.read()
            self.names.put(local, data, self._suffix, timeout, check=self._retry)
        except Exception as exc:  # noqa: BLE001 - any store error: keep the segment, retry
            self._retry = True  # the put may have landed all the same
            self.errors += 1
            if not self._failing:
                self._failing = True
                report(
                    f"cannot upload to {self._url}: {type(exc).__name__}: {exc}; segments wait "
                    f"in {self._spool} and go up in order when the store is back"
                )
            return False
        self._retry = False
        self.uploaded_bytes += len(data)
        with contextlib.suppress(OSError):
            remove_segment(local)
        if self._failing:
            self._failing = False
            report(f"uploads to {self._url} work again")
        return True


def upload_spool(
    spool: str, storage_options: Mapping[str, Any] | None = None
) -> tuple[int, int] | None:
    """Upload every segment left in a spool directory, in write order; return (done, left).

    Spool names sort in write order (each is made to sort after the one before); the name a
    segment gets in the store is chosen when it is put (see ``StoreNames``), never by
    renaming the spool file, so a failed put changes nothing in the spool.

    A segment cut short by a kill ends in a torn record: it is uploaded up to its last whole
    record. Uploaded segments are removed, and the directory too once it is empty. A spool
    whose lock another process holds (the run is still writing, or another ``tblog upload``
    is at work) is left alone: None. A segment that would sort before what the store holds
    is renamed first, in the spool, so that it reads after it (see ``StoreNames``).

    Raises:
        OSError: The spool directory or its ``target`` file cannot be read.
    """
    try:
        lock = lock_spool(spool)
    except FileNotFoundError:  # uploaded and removed by another upload meanwhile
        return 0, 0
    if lock is None:
        return None
    try:
        try:
            url, suffix = read_target(spool)
        except FileNotFoundError:  # emptied by another upload before this one took the lock
            remove_spool(spool)
            return 0, 0
        fs, root = open_store(url, storage_options)
        names = sorted(n for n in os.listdir(spool) if n.startswith(EVENT_PREFIX))
        store = StoreNames(fs, root)
        for done, name in enumerate(names):
            local = os.path.join(spool, name)
            with open(local, "rb") as segment:
                data = segment.read()
            whole = whole_records(data)
            try:
                if whole:  # a kill may have landed after its PUT: skip it if it is there
                    store.put(local, data[:whole], suffix, check=True)
            except Exception as exc:  # noqa: BLE001 - report the store's error, keep the segment
                report(f"cannot upload {local} to {url}: {type(exc).__name__}: {exc}")
                return done, len(names) - done
            remove_segment(local)
        remove_spool(spool)
        return len(names), 0
    finally:
        os.close(lock)
