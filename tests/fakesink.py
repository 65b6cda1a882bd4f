"""A scriptable ``EventSink`` for driving the run engine (``tblog._run.Run``) without a disk.

``install(monkeypatch)`` makes every run opened afterwards write into a ``FakeSink`` through
the engine's one seam, ``Run._open_sink``; the sinks made are listed in ``FakeSinks.made``.
A test scripts a fault (a raise, a short write, a hang) and reads back what the engine handed
over, as TensorBoard's own Event protos.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tblog._record import record_end, split_records, whole_records
from tblog._run import Run

_HELD_SECS = 30.0  # the longest a held write waits for its release (a test fails, never hangs)


class FakeSink:
    """An in-memory EventSink that records each write and can fail, cut short or hold one.

    Attributes:
        writes: The data of every call to ``write`` that returned, as handed over.
        kept: The bytes the sink said it took (the whole-record prefixes).
        entered: Set when a held write has started (the writer thread is inside the sink).
        closed_with: The deadline ``close`` got, once it was called.
        child_logdir: The directory ``reset_in_child`` moved to.
    """

    def __init__(self, logdir: str) -> None:
        self.logdir = logdir
        self.path: str | None = None
        self.errors = 0
        self.writes: list[bytes] = []
        self.kept = bytearray()
        self.entered = threading.Event()
        self.closed_with: float | None = None
        self.close_calls = 0
        self.child_logdir: str | None = None
        self._gate = threading.Event()
        self._gate.set()
        self._faults: dict[str, list[Exception]] = {"write": [], "check": [], "sync": []}
        self._short: list[int] = []  # records to keep of the next writes
        self.waiter: Callable[[float], bool] | None = None  # what sync() returns, if set

    # ---- scripting ---------------------------------------------------------------------

    def fail(self, method: str, exc: Exception, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` (write, check, sync) raise ``exc``."""
        self._faults[method].extend([exc] * times)

    def keep_only(self, records: int) -> None:
        """Make the next write take only its first ``records`` records (a fault part way)."""
        self._short.append(records)

    def hold(self) -> None:
        """Make writes wait inside the sink until ``release()`` (a hung disk)."""
        self.entered.clear()
        self._gate.clear()

    def release(self) -> None:
        """Let held writes go on."""
        self._gate.set()

    # ---- EventSink ---------------------------------------------------------------------

    def write(self, data: bytes) -> int:
        """Take ``data`` (whole records), after a hold, a scripted raise or a short write."""
        self.entered.set()
        if not self._gate.wait(_HELD_SECS):
            msg = "a held write was never released"
            raise AssertionError(msg)
        self._raise("write")
        self.writes.append(bytes(data))
        done = len(data)
        if self._short:
            keep = self._short.pop(0)
            done = 0
            for _ in range(keep):
                end = record_end(data, done)
                assert end is not None, "fewer records than keep_only() asked for"
                done = end
        self.kept += data[:done]
        return done

    def check(self) -> None:
        """Periodic housekeeping: nothing to do but a scripted raise."""
        self._raise("check")

    def sync(self) -> Callable[[float], bool]:
        """Readable at once, unless a waiter or a raise was scripted."""
        self._raise("sync")
        return self.waiter if self.waiter is not None else _at_once

    def close(self, deadline: float) -> None:
        """Remember the deadline it was given."""
        self.closed_with = deadline
        self.close_calls += 1

    def reset_in_child(self, logdir: str) -> None:
        """Forget everything the parent's copy saw; write for ``logdir`` from now on."""
        self.child_logdir = logdir
        self.writes = []
        self.kept = bytearray()
        self.entered = threading.Event()
        self._gate = threading.Event()
        self._gate.set()
        self._faults = {"write": [], "check": [], "sync": []}
        self._short = []

    def _raise(self, method: str) -> None:
        faults = self._faults[method]
        if faults:
            raise faults.pop(0)

    # ---- reading back ------------------------------------------------------------------

    def events(self) -> list[Any]:
        """Every Event the sink took, in order (TensorBoard's own proto class)."""
        from tensorboard.compat.proto import event_pb2

        assert whole_records(bytes(self.kept)) == len(self.kept), "a torn record was kept"
        return [event_pb2.Event.FromString(r) for r in split_records(bytes(self.kept))]

    def points(self, tag: str | None = None) -> list[tuple[str, int, Any]]:
        """``(tag, step, value)`` of every summary value taken, in order; of ``tag`` only if given.

        A scalar's value is its float, text is its str, a histogram is its number of values.
        """
        from tensorboard.util import tensor_util

        out = []
        for event in self.events():
            for value in event.summary.value:
                if tag is not None and value.tag != tag:
                    continue
                if value.HasField("simple_value"):
                    shown: Any = value.simple_value
                elif value.HasField("histo"):
                    shown = int(value.histo.num)
                else:
                    array = tensor_util.make_ndarray(value.tensor)
                    item = array.reshape(-1)[0]
                    shown = item.decode("utf-8") if isinstance(item, bytes) else item
                out.append((value.tag, int(event.step), shown))
        return out

    def steps(self, tag: str) -> list[int]:
        """The steps of ``tag`` in the order the sink took them."""
        return [step for _, step, _ in self.points(tag)]

    def values(self, tag: str) -> list[float]:
        """The scalar values of ``tag`` in the order the sink took them."""
        return [value for _, _, value in self.points(tag)]


def _at_once(deadline: float) -> bool:
    del deadline
    return True


class FakeSinks:
    """The FakeSinks made since ``install``; ``last`` is the newest."""

    def __init__(self) -> None:
        self.made: list[FakeSink] = []
        self.runs: list[Run] = []  # the run each sink was made for (its counters outlive close)

    @property
    def last(self) -> FakeSink:
        """The sink of the run opened last."""
        assert self.made, "no run was opened"
        return self.made[-1]


def install(monkeypatch: pytest.MonkeyPatch) -> FakeSinks:
    """Make every run opened from now on (in this test) write into a new ``FakeSink``."""
    sinks = FakeSinks()

    def open_sink(run: Run, store: Any) -> FakeSink:
        del store
        sink = FakeSink(run.logdir)
        sinks.made.append(sink)
        sinks.runs.append(run)
        return sink

    monkeypatch.setattr(Run, "_open_sink", open_sink)
    return sinks


def same(a: float, b: float) -> bool:
    """Equal as TensorBoard shows them: NaN equals NaN."""
    return (math.isnan(a) and math.isnan(b)) or a == b
