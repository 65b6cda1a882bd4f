"""The shared writer of one run directory: steps, queue, writer thread and sink."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from tblog._batches import BatchWriter, DrainingQueue, FlushMarker, unsynced
from tblog._kinds import EVENT, FLUSH, MARK, SCALAR
from tblog._location import is_url, join, open_store
from tblog._options import WAIT_MAX, WriterOptions
from tblog._report import Once, report
from tblog._sink import EventSink, open_sink
from tblog._step import STEP
from tblog._values import MAX_STEP

_WAKE_AT = 8192  # queued points that wake the writer before its periodic flush
_CHUNK = 4096  # points encoded per write() call


class Run:
    """One run directory's writer: every handler, facade and processor aimed at it shares it.

    The calling thread only resolves the step and appends to a deque (under one lock, so the
    points of one tag are queued in step order); the writer thread encodes, frames and writes.
    """

    #: Set by the registry's exit hook: a run closed (or opened) after it writes later points
    #: on the calling thread, since no thread can start then.
    exiting: ClassVar[bool] = False
    #: The runs writing on the calling thread after the exit hook (it completes their sinks).
    late_runs: ClassVar[list[Run]] = []

    def __init__(
        self,
        logdir: str,
        options: WriterOptions,
        counters: dict[str, int],
        first_events: Iterable[Any] = (),
    ) -> None:
        """Open the run's sink and start its writer thread.

        Args:
            logdir: The run's directory or URL, as the registry names it.
            options: The run's writer options (checked when they were made).
            counters: The per-tag step counters the run counts in (they outlive the run).
            first_events: Event builders the first event file starts with (a resume's purge).
        """
        store = open_store(logdir, options.storage_options) if is_url(logdir) else None
        self.key = logdir  # the registry key: the directory as first opened in this process
        self.logdir = logdir
        self.options = options
        self.flush_secs = float(options.flush_secs)
        self.max_queue = int(options.max_queue)
        self.block_secs = float(options.block_secs)
        self.timeout_secs = float(options.timeout_secs)
        self.refs = 0
        self.closed = False
        self.late = False  # closed by the exit hook: later points are written synchronously
        self._lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._next = counters
        self._queue: deque[Any] = deque()
        self._wake = threading.Event()
        self._stopping = False
        self._stalled = False  # a full queue already made one call wait in vain
        self._stuck_at: int | None = None  # the writer's progress when a flush waited in vain
        self._flush_failing = False  # a flush waited in vain for the store: told, until one works
        self._markers = 0  # flush markers and MARK events ever queued (not points)
        self._closed_done = threading.Event()  # set when close() finished (or gave up)
        self.warn_once = Once()  # report a problem of this run once
        self.nan_warning = options.nan_warning
        self._first_events = list(first_events)
        # Its encoders import numpy and tensorboardX before the thread starts (a fork never
        # catches the writer thread half-way through an import).
        self._batches = BatchWriter(logdir, self.warn_once, options.nan_warning)
        self._sink = self._batches.sink = self._open_sink(store)
        self._thread: threading.Thread | None = None
        self._crowded_at = 0  # until the thread runs; then min(_WAKE_AT, max_queue)
        if Run.exiting:  # opened by a late exit hook, when no thread can be started (3.12)
            self._write_late()
        else:
            self._start_thread()

    def _open_sink(self, store: tuple[Any, str] | None) -> EventSink:
        """The run's sink: a local event file, or segments uploaded to ``store``."""
        return open_sink(self.logdir, self._header, self.options, store)

    @property
    def path(self) -> str | None:
        """The event file being written (None before the first point, or after a fault)."""
        return self._sink.path

    @property
    def written(self) -> int:
        """Points written."""
        return self._batches.written

    @property
    def dropped(self) -> int:
        """Points dropped (a full queue, a closed run, an unencodable value, an I/O error)."""
        return self._batches.dropped

    @property
    def errors(self) -> int:
        """I/O and encoding errors met by the writer."""
        return self._batches.errors + self._sink.errors

    @property
    def queued(self) -> int:
        """Points not written or dropped yet: waiting in the queue, or in a write under way.

        Flush markers and tblog's own events are no points. ``written + dropped + queued`` is
        every point logged to the run.
        """
        waiting = max(0, len(self._queue) - self._markers + self._batches.markers)
        return waiting + self._batches.in_hand

    @property
    def unwritten(self) -> int:
        """Points not written yet (``queued``), as the give-up messages count them."""
        return self.queued

    def _drop(self, points: int) -> None:
        """Count points the calling thread could not queue."""
        self._batches.dropped += points

    def _put_marker(self, item: tuple[int, str, Any, int, float]) -> None:
        """Queue an item that is no point (a flush marker, a MARK event), counted apart."""
        with self._lock:
            self._markers += 1
        self._queue.append(item)  # outside the lock: a late run writes it in append()

    @property
    def spooled(self) -> int:
        """Segments of a remote run waiting for upload (0 for a local run)."""
        return int(getattr(self._sink, "pending", 0))

    def _header(self, first: bool) -> bytes:
        """The records a new event file starts with; a resume's purge goes into the first only."""
        protos = self._batches.protos
        header = protos.file_version()
        if first:
            header += b"".join(
                protos.event(EVENT, "", build, 0, 0.0) for build in self._first_events
            )
        return header

    # ---- calling thread -------------------------------------------------------------------

    def put_scalar(self, tag: str, value: float, step: int, walltime: float) -> None:
        """Queue a scalar with an explicit step: the hot path, no lock needed.

        Without a counter to read, there is nothing to order; the deque append and the dict
        store are each atomic. Crossing ``_crowded_at`` wakes the writer (and handles a full
        queue or a thread not yet started after fork) in ``_crowded``.
        """
        queue = self._queue
        if len(queue) >= self._crowded_at and not self._crowded():
            return
        queue.append((SCALAR, tag, value, step, walltime))
        self._next[tag] = step + 1

    def put(
        self,
        kind: int,
        tag: str,
        payload: Any,
        step: int | None,
        walltime: float | None,
        counted: bool = False,
    ) -> int:
        """Queue one point and return its step; ``counted`` ignores the ``tblog.step`` context."""
        queue = self._queue
        if len(queue) >= self._crowded_at and not self._crowded():
            return -1
        if walltime is None:
            walltime = time.time()
        with self._lock:
            if self.closed and not self.late:  # closed while this call waited for the lock
                self._refuse_closed(1)
                return -1
            if step is None:
                if not counted:
                    step = STEP.get()
                if step is None:
                    step = self._next.get(tag, 0)
                    if step > MAX_STEP:
                        self._step_overflow(tag)
                        return -1
            self._next[tag] = step + 1
            queue.append((kind, tag, payload, step, walltime))
        return step

    def put_many(self, points: Iterable[tuple[int, str, Any, int | None, float | None]]) -> None:
        """Queue several points under one lock (a ``metrics`` dict)."""
        if not isinstance(points, list):
            points = list(points)
        queue = self._queue
        if len(queue) >= self._crowded_at and not self._crowded(len(points)):
            return
        context_step = STEP.get()
        now = time.time()
        with self._lock:
            if self.closed and not self.late:  # closed while this call waited for the lock
                self._refuse_closed(len(points))
                return
            nxt = self._next
            for kind, tag, payload, given, walltime in points:
                step = given
                if step is None:
                    step = context_step if context_step is not None else nxt.get(tag, 0)
                    if step > MAX_STEP:
                        self._step_overflow(tag)
                        continue
                nxt[tag] = step + 1
                queue.append((kind, tag, payload, step, now if walltime is None else walltime))

    def _step_overflow(self, tag: str) -> None:
        """A counted step past 2**63 - 1 (TensorBoard would show it negative): drop, say so."""
        self._drop(1)
        self.warn_once(
            f"step-overflow:{tag}",
            f"the counted step of tag {tag!r} passed 2**63 - 1, the largest step TensorBoard "
            "shows; its points without a step are dropped",
        )

    def put_event(self, build: Any, *, point: bool = True) -> None:
        """Queue a raw Event builder; ``point=False`` for tblog's own (a purge's SessionLog).

        Events of tblog's own are written like the others but never counted as points.
        """
        if point:
            queue = self._queue
            if len(queue) >= self._crowded_at and not self._crowded():
                return
            queue.append((EVENT, "", build, 0, 0.0))
        else:
            self._put_marker((MARK, "", build, 0, 0.0))
        self._wake.set()
        if self._thread is None:
            self._start_thread()

    def purge_below(self, limits: Mapping[str, int]) -> None:
        """Let a resumed run's purge move down to a step that a tag logs again.

        ``limits`` holds, per tag of the run being continued, the step below which that tag
        has old points still shown: its next step before the restore, at most the purge step
        the run's first events carry. A loop that resumes by logging such an earlier step again
        (Lightning restarts at the checkpoint's step) gets a ``SessionLog.START`` at that step
        written just before it: TensorBoard's Python loader then drops the older points at and
        after it, so the step is replaced, not doubled. The Rust loader ignores STARTs; there a
        tag whose step goes back drops its own later points. The check runs on the writer
        thread, and only while limits are set.
        """
        with self._lock:
            self._batches.purge_limits = dict(limits) if limits else None

    def seed_steps(self, steps: dict[str, int]) -> None:
        """Make the per-tag counters continue from these steps (a restored run)."""
        with self._lock:
            self._next.update(steps)

    def counters(self) -> dict[str, int]:
        """Return a copy of the per-tag step counters: each tag's next counted step."""
        with self._lock:
            return dict(self._next)

    def _crowded(self, points: int = 1) -> bool:
        """Wake the writer; return False if the points must be dropped (counted here).

        Every put comes here once the queue passed ``_crowded_at``; a closed run sets that to 0,
        so points logged after close (say, from a late atexit hook) are counted, not lost
        silently, at no cost to the hot path.
        """
        if self.closed:
            self._refuse_closed(points)
            return False
        if self._thread is None:
            self._start_thread()
        if not self._wake.is_set():
            self._wake.set()
        if len(self._queue) < self.max_queue:
            self._stalled = False
            return True
        return self._make_room(points)

    def _refuse_closed(self, points: int) -> None:
        """Count points logged after close dropped, and say so once."""
        self._drop(points)
        self.warn_once("closed", f"points logged after {self.logdir} was closed are dropped")

    def _make_room(self, points: int) -> bool:
        """Wait up to ``block_secs`` for room, once per stall; else count the points dropped.

        After one call waited in vain, later calls drop at once until the queue has room again:
        a stuck disk costs the logging loop ``block_secs`` once, not on every call.
        """
        deadline = time.monotonic() + (0.0 if self._stalled else self.block_secs)
        while len(self._queue) >= self.max_queue:
            thread = self._thread
            if time.monotonic() >= deadline or thread is None or not thread.is_alive():
                self._stalled = True
                self._drop(points)
                self.warn_once(
                    "queue-full",
                    f"the queue of {self.logdir} is full ({self.max_queue} points) and the writer "
                    f"did not catch up within {self.block_secs:g}s; dropping points until it "
                    "does (see the writer's 'dropped' counter)",
                )
                return False
            time.sleep(0.001)
        self._stalled = False
        return True

    def flush(self, timeout: float | None = None) -> int | None:
        """Wait until every point queued before the call is written or dropped.

        A flush that waits the run's ``timeout_secs`` in vain says on stderr what was left (once
        per stall), and marks the writer stuck: close then does not wait for it again. One given
        its own ``timeout`` leaves both to its caller, who asked for a shorter wait (the writer
        may only be slow).

        Args:
            timeout: Seconds to wait at most; None means the run's ``timeout_secs``.

        Returns:
            The run's dropped count at that moment (a caller compares it with the count it saw
            before, so drops of earlier points make its flush fail), or None on timeout or a
            dead writer thread.
        """
        tell = timeout is None
        limit = self.timeout_secs if timeout is None else timeout
        if self.closed:  # another thread may still be closing: its close is this flush's
            return self.dropped if self._closed_done.wait(min(limit, WAIT_MAX)) else None
        if self._stuck():
            return None  # an earlier flush timed out and the writer has not moved since
        if self._thread is None:
            self._start_thread()
        thread = self._thread
        marker = FlushMarker()
        self._put_marker((FLUSH, "", marker, 0, 0.0))
        self._wake.set()
        deadline = time.monotonic() + limit
        if not marker.wait(thread, deadline):
            if tell:  # the run's own timeout passed: the writer is stuck (a hung disk)
                self._stuck_at = self._batches.progress
                report(
                    f"flush of {self.logdir} gave up after {limit:g}s: the writer is stuck in a "
                    f"write; points not written yet: {self.unwritten}"
                )
            return None
        if not marker.written:
            return None  # the writer thread died: it said so
        return self._synced(marker, limit if tell else None, deadline)

    def _stuck(self) -> bool:
        """True if a flush waited in vain and the writer has not moved since."""
        return self._stuck_at is not None and self._stuck_at == self._batches.progress

    def _synced(self, marker: FlushMarker, limit: float | None, deadline: float) -> int | None:
        """Wait for what the writer wrote before ``marker`` to be readable (a remote run's uploads).

        A store that is down makes this wait in vain, but the writer goes on: not "stuck". The
        first flush that waits its ``limit`` (None: a caller's own timeout) in vain says so; the
        next one to succeed ends the outage. A failed sync was told where it failed.
        """
        synced = marker.synced
        if synced is None or synced(deadline):
            self._flush_failing = False
            return marker.dropped
        if limit is not None and synced is not unsynced and not self._flush_failing:
            self._flush_failing = True
            report(
                f"flush of {self.logdir} gave up after {limit:g}s: what was written before it "
                f"is not readable yet ({self.spooled} segments wait in the spool for upload)"
            )
        return None

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued (waiting at most ``timeout`` seconds), stop the thread, close.

        None means the run's ``timeout_secs``: closing never hangs on a stuck disk. Closed by
        the exit hook, the run goes on writing later points (from later exit hooks) itself.
        """
        if self.closed:
            return
        if timeout is None:
            timeout = self.timeout_secs
        waited = f"after {timeout:g}s"
        if self._stuck():
            timeout = 0.0  # a flush already waited in vain: do not wait a second time
            waited = "stuck in a write since an earlier flush"
        deadline = time.monotonic() + timeout  # for the thread and the sink together
        with self._lock:  # a put holding the lock queued before this; later ones see closed
            self.closed = True
            self._crowded_at = 0  # later puts go through _crowded(), which counts them dropped
        self._stopping = True
        self._wake.set()
        try:
            thread = self._thread
            if thread is not None and thread is not threading.current_thread():
                thread.join(min(timeout, WAIT_MAX))
                if thread.is_alive():
                    report(
                        f"gave up waiting for the writer of {self.logdir}, {waited}; "
                        f"queued points not written: {self.unwritten}"
                    )
                    return  # the thread still owns the file; a daemon, it ends with the process
                self._drain()  # points put while the thread was stopping (the check raced)
            elif thread is None:
                self._drain()  # a writer that died (or never started) left them to close
            self._sink.close(deadline)
            if Run.exiting:
                self._write_late()
        finally:
            self._closed_done.set()

    def _write_late(self) -> None:
        """Write every later point on the calling thread (after the exit hook: no new threads)."""
        self.late = True
        self._queue = DrainingQueue(self._drain)
        self._crowded_at = sys.maxsize
        Run.late_runs.append(self)

    def finish_late(self, deadline: float) -> None:
        """Complete what late points left in the sink (a remote run's last segment)."""
        self._sink.close(deadline)

    # ---- writer thread --------------------------------------------------------------------

    def _start_thread(self) -> None:
        """Start the writer thread unless one runs (many threads may ask at once after fork).

        Where no thread can start (Python 3.12 during interpreter shutdown: a run opened by an
        exit hook), points are written on the calling thread instead.
        """
        with self._thread_lock:
            if self._thread is not None or self.late:
                return
            thread = threading.Thread(
                target=self._loop, name=f"tblog-writer:{os.path.basename(self.logdir)}", daemon=True
            )
            try:
                thread.start()
            except RuntimeError:  # "can't create new thread at interpreter shutdown"
                self._write_late()
                return
            self._thread = thread
            self._crowded_at = min(_WAKE_AT, self.max_queue)

    def _loop(self) -> None:
        try:
            while True:
                self._wake.wait(self.flush_secs)
                self._wake.clear()
                stopping = self._stopping
                self._drain()
                self._batches.progress += 1  # the writer moves (a stuck one hangs in a write)
                try:
                    self._sink.check()
                except Exception as exc:  # noqa: BLE001 - a sink fault must not stop the writer
                    self._batches.sink_failed(exc)
                if stopping and not self._queue:
                    break
        except BaseException as exc:  # noqa: BLE001 - the thread must release its waiters
            self._batches.errors += 1
            self._batches.lose_in_hand()  # the batch it was writing is lost
            report(
                f"the writer of {self.logdir} stopped: {type(exc).__name__}: {exc}; "
                "a new one starts with the next point or flush"
            )
            with self._thread_lock:
                self._thread = None  # the next flush or point starts another
                self._crowded_at = 0  # the next put goes through _crowded(), which starts it
        finally:
            for kind, _, payload, _, _ in list(self._queue):
                if kind == FLUSH:
                    payload.done.set()

    def _drain(self) -> None:
        queue = self._queue
        popleft = queue.popleft
        write = self._batches.write
        while queue:
            write([popleft() for _ in range(min(len(queue), _CHUNK))])

    # ---- fork -----------------------------------------------------------------------------

    def lock_for_fork(self) -> None:
        """Hold the queue's lock across a fork (the child then never inherits it taken)."""
        self._lock.acquire()

    def unlock_after_fork(self) -> None:
        """Release the lock ``lock_for_fork`` took, in the parent after the fork."""
        self._lock.release()

    def reset_in_child(self) -> None:
        """Give a forked child its own sub-run: it never touches the parent's file or queue."""
        self._lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._wake = threading.Event()
        self._stalled = False
        self._queue = deque()  # the parent writes what it had queued
        self.logdir = join(self.logdir, f"child_{os.getpid()}")
        self._sink.reset_in_child(self.logdir)
        self._batches.reset_in_child(self.logdir)
        self._markers = 0
        self._stuck_at = None  # the parent's stuck writer is not the child's
        self._flush_failing = False
        self._thread = None  # started by the child's first point or flush
        self._crowded_at = 0
        self._stopping = False
