"""Runs in object storage: immutable event-file segments, spooled locally, uploaded in order."""

from __future__ import annotations

import contextlib
import errno
import functools
import itertools
import os
import re
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

from tblog._location import EVENT_PREFIX, event_file_name, join, open_store
from tblog._record import fitting, whole_records
from tblog._report import report
from tblog._sink import create_event_file

DEFAULT_REMOTE_MAX_BYTES = 64 * 2**20  # one PUT each (s3fs sends up to 100 MiB in one)
TARGET_FILE = "target"  # in a spool directory: the URL its segments belong to
LOCK_FILE = "lock"  # in a spool directory: locked by the process that uploads it
STORE_NAME_PREFIX = "store-name."  # in a spool: the store name chosen for segment <rest>

_spool_seq = itertools.count(1)


def default_spool_root() -> str:
    """Where segments wait for upload: ``$TBLOG_SPOOL``, else ``<tmp>/tblog-spool``."""
    return os.environ.get("TBLOG_SPOOL") or os.path.join(tempfile.gettempdir(), "tblog-spool")


def remove_spool(spool: str) -> bool:
    """Remove an empty spool directory (its target and lock files, and itself); True if gone."""
    try:
        names = set(os.listdir(spool))
        # A store-name note outlives its segment when a kill lands between their removals.
        notes = {n for n in names if n.startswith(STORE_NAME_PREFIX)}
        if not names - notes <= {TARGET_FILE, LOCK_FILE}:
            return False
        for name in (*sorted(notes), TARGET_FILE, LOCK_FILE):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(spool, name))
        os.rmdir(spool)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def lock_spool(spool: str) -> int | None:
    """Take a spool's lock without waiting: its descriptor, or None while another process holds it.

    The process writing a run holds its spool's lock until its uploads end (a kill releases
    it); ``tblog upload`` holds it while it uploads. An ``flock`` belongs to the open file, so
    two holders in one process exclude each other too. Closing the descriptor releases it.

    Raises:
        FileNotFoundError: The spool directory is gone (uploaded and removed meanwhile).
    """
    fd = os.open(os.path.join(spool, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        import fcntl
    except ModuleNotFoundError:  # Windows: no advisory locks; spools are not shared there
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def write_target(spool: str, url: str, suffix: str) -> None:
    """Say in a spool directory which run its segments belong to (and their name suffix)."""
    with open(os.path.join(spool, TARGET_FILE), "w", encoding="utf-8") as file:
        file.write(f"{url}\n{suffix}\n")


def read_target(spool: str) -> tuple[str, str]:
    """The run URL and the segment name suffix a spool directory names.

    Raises:
        OSError: The ``target`` file cannot be read.
    """
    with open(os.path.join(spool, TARGET_FILE), encoding="utf-8") as file:
        lines = file.read().splitlines()
    return lines[0].strip(), lines[1] if len(lines) > 1 else ""


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


def remove_segment(local: str) -> None:
    """Remove an uploaded segment from its spool, then its store-name note (if any)."""
    os.remove(local)
    spool, own = os.path.split(local)
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(spool, STORE_NAME_PREFIX + own))


def _nothing_to_wait_for(deadline: float) -> bool:
    del deadline
    return True


class _Uploader:
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
        self._uploader: _Uploader | None = None
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
            fd = create_event_file(local, header)
        except Exception as exc:  # noqa: BLE001 - any error costs points, never the writer
            self._spool_failed(exc)
            return False
        self._dirty = self._first and len(header) > len(self._header(False))  # noqa: FBT003
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

    def _uploader_for(self) -> _Uploader:
        if self._uploader is None:
            assert self._spool is not None  # noqa: S101 - made with the first segment
            if self._fs is None:
                self._fs, self._root = open_store(self.url, self._storage_options)
            self._uploader = _Uploader(self._fs, self.url, self._root, self._spool, self._suffix)
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
