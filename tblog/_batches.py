"""The writer thread's work: encode a batch of queued points, write it, count every point."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from tblog._encode import BatchScalarEncoder, ProtoEncoder, ScalarEncoder
from tblog._kinds import EVENT, FLUSH, MARK, SCALAR
from tblog._nan import NanSentinel
from tblog._purge import starts_before_relogged_steps
from tblog._record import records_in
from tblog._report import Once
from tblog._sink import EventSink


class FlushMarker:
    """A flush's place in the queue: the writer releases it once everything before is written."""

    __slots__ = ("done", "dropped", "synced", "written")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.written = False  # True when the writer reached it; False when released by its death
        self.dropped = 0  # the run's dropped count when the writer reached it
        # Waits (on the flushing thread, never the writer's) until what the writer wrote before
        # the marker is readable: at once for a local file, after the uploads for a remote run.
        self.synced: Callable[[float], bool] | None = None

    def wait(self, thread: threading.Thread | None, deadline: float) -> bool:
        """Wait until the writer ``thread`` reaches the marker or dies (True), or ``deadline``."""
        while not self.done.wait(0.1):
            if thread is None or not thread.is_alive():
                return True
            if time.monotonic() >= deadline:
                return False
        return True


def unsynced(_deadline: float) -> bool:
    """The wait of a flush whose sync failed: it fails at once."""
    return False


class BatchWriter:
    """Turn the writer thread's batches of queued items into records in the run's sink.

    Every point taken from the queue is settled once: written, or dropped (an unencodable
    value, a write that failed part way). Flush markers and MARK events are no points: a
    marker is released in its place, a MARK event written on its own.

    Attributes:
        sink: Where the records go (set by the run once it opened it).
        protos: The encoder of non-scalar points and file headers.
        written: Points written.
        dropped: Points dropped, by the writer and (a full queue, a closed run) by callers.
        errors: Encoding and sink faults met (the sink counts its own I/O errors apart).
        in_hand: Points taken from the queue and not settled yet (a write under way).
        markers: Flush markers and MARK events taken from the queue.
        progress: Moves on every write: a stuck writer does not move it.
        purge_limits: A resumed run's per-tag steps below which an old point is still shown
            (see ``Run.purge_below``); None once nothing can be relogged there.
    """

    sink: EventSink

    def __init__(self, logdir: str, warn_once: Once, nan_warning: bool) -> None:
        """Make the encoders (importing numpy and tensorboardX before any thread starts)."""
        self.logdir = logdir
        self.warn_once = warn_once
        self.nan_warning = nan_warning
        self.written = self.dropped = self.errors = 0
        self.in_hand = self.markers = self.progress = 0
        self.purge_limits: dict[str, int] | None = None
        self._scalars = ScalarEncoder()
        self._batch = BatchScalarEncoder(self._scalars)
        self._sentinel = NanSentinel()
        self.protos = ProtoEncoder()

    def reset_in_child(self, logdir: str) -> None:
        """Start a forked child's sub-run in ``logdir`` with zero counters."""
        self.logdir = logdir
        self.written = self.dropped = self.errors = 0
        self.in_hand = self.markers = 0

    def lose_in_hand(self) -> None:
        """Count the points taken and not settled as dropped (the writer thread died)."""
        self.dropped += self.in_hand
        self.in_hand = 0

    def write(self, batch: list[Any]) -> None:
        """Encode and write one batch taken from the queue, in order."""
        kinds, tags, payloads, steps, walls = zip(*batch, strict=True)
        if kinds.count(SCALAR) == len(kinds):  # the common case: only scalars
            self.in_hand = len(kinds)
            limits = self.purge_limits
            if limits is None or min(steps) >= max(limits.values()):
                self._write(*self._encode_scalars(tags, payloads, steps, walls))
                return
        markers = kinds.count(FLUSH) + kinds.count(MARK)
        self.markers += markers
        self.in_hand = len(kinds) - markers
        if self.purge_limits is not None:
            batch = starts_before_relogged_steps(batch, self.purge_limits)
            kinds, tags, payloads, steps, walls = zip(*batch, strict=True)
        self._write_mixed(kinds, tags, payloads, steps, walls)

    def _write_mixed(
        self,
        kinds: tuple[int, ...],
        tags: tuple[str, ...],
        payloads: tuple[Any, ...],
        steps: tuple[Any, ...],
        walls: tuple[Any, ...],
    ) -> None:
        """Write a batch of mixed kinds: runs of scalars batch-encoded, markers in order."""
        encode = self.protos.event
        chunks: list[bytes] = []
        count = start = 0
        for i, kind in enumerate(kinds):
            if kind == SCALAR:
                continue
            if i > start:
                more, n = self._encode_scalars(
                    tags[start:i], payloads[start:i], steps[start:i], walls[start:i]
                )
                chunks += more
                count += n
            start = i + 1
            if kind < 0:  # a flush marker or a MARK event: what came before is written first
                self._write(chunks, count)
                chunks, count = [], 0
                self._write_marker(kind, payloads[i])
                continue
            try:
                chunks.append(encode(kind, tags[i], payloads[i], steps[i], walls[i]))
                count += 1
            except Exception as exc:  # noqa: BLE001 - one bad point must not stop the run
                self._encode_failed(tags[i], exc)
        if start < len(kinds):
            more, n = self._encode_scalars(
                tags[start:], payloads[start:], steps[start:], walls[start:]
            )
            chunks += more
            count += n
        self._write(chunks, count)

    def _write_marker(self, kind: int, payload: Any) -> None:
        """Write a MARK event (no point), or sync the sink for a flush marker and release it."""
        if kind == MARK:
            try:
                record = self.protos.event(EVENT, "", payload, 0, 0.0)
            except Exception as exc:  # noqa: BLE001 - an event of tblog's own; the run goes on
                self.sink_failed(exc)
                return
            self._write([record], 0)
            return
        try:
            payload.synced = self.sink.sync()
        except Exception as exc:  # noqa: BLE001 - the flush fails, the writer goes on
            self.sink_failed(exc)
            payload.synced = unsynced
        payload.written = True
        payload.dropped = self.dropped
        payload.done.set()

    def _encode_scalars(
        self, tags: Any, values: Any, steps: Any, walls: Any
    ) -> tuple[list[bytes], int]:
        """Encode scalar points in a batch; returns the framed chunks and the points they hold."""
        if self.nan_warning:
            try:
                self._sentinel.watch(self.logdir, tags, values, steps)
            except Exception as exc:  # noqa: BLE001 - the sentinel must never cost a point
                self.warn_once("nan-warning", f"the NaN/Inf check of {self.logdir} failed: {exc}")
        try:
            return self._batch.encode(tags, values, steps, walls), len(tags)
        except Exception:  # noqa: BLE001 - find the bad point, keep the others
            out = []
            for point in zip(tags, values, steps, walls, strict=True):
                try:
                    out.append(self._scalars.encode(*point))
                except Exception as exc:  # noqa: BLE001, PERF203 - the slow path finding a bad point
                    self._encode_failed(point[0], exc)
            return out, len(out)

    def _encode_failed(self, tag: str, exc: Exception) -> None:
        self.dropped += 1
        self.in_hand -= 1
        self.errors += 1
        self.warn_once(
            f"encode:{tag}",
            f"could not encode a point of tag {tag!r} for {self.logdir}: "
            f"{type(exc).__name__}: {exc}",
        )

    def sink_failed(self, exc: Exception) -> None:
        """Count and report (once per kind) a fault the sink raised instead of handling it."""
        self.errors += 1
        self.warn_once(
            f"sink:{type(exc).__name__}",
            f"writing to {self.logdir} failed: {type(exc).__name__}: {exc}",
        )

    def _write(self, chunks: list[bytes], count: int) -> None:
        """Write framed records holding ``count`` points in one go (or count them dropped)."""
        if not chunks:
            return
        data = b"".join(chunks)
        try:
            done = self.sink.write(data)
        except Exception as exc:  # noqa: BLE001 - a sink fault costs this write, not the writer
            self.sink_failed(exc)
            done = 0
        if done == len(data):
            self.written += count
        else:  # a fault part way: what reached a file is written, the rest dropped
            kept = min(records_in(data, done), count)  # a MARK event alone holds no point
            self.written += kept
            self.dropped += count - kept
        self.in_hand -= count
        self.progress += 1


class DrainingQueue(deque[Any]):
    """A queue whose items are written as they are put, on the putting thread.

    The queue of a run after tblog's exit hook, when no writer thread can start.
    """

    def __init__(self, drain: Callable[[], None]) -> None:
        super().__init__()
        self._drain = drain
        self._lock = threading.Lock()

    def append(self, item: Any) -> None:
        """Queue ``item`` and write what is queued."""
        with self._lock:
            super().append(item)
            self._drain()
