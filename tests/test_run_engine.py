"""The run engine (``tblog._run.Run``) driven through its sink seam, as a user's calls see it.

Every run opened here writes into a scriptable ``FakeSink`` (``Run._open_sink`` is the seam):
a fault, a short write or a hung disk is exactly where the test puts it.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fakesink import FakeSink, FakeSinks, install, same
from waiting import until

import tblog
from tblog._record import whole_records


@pytest.fixture
def sinks(monkeypatch: pytest.MonkeyPatch) -> FakeSinks:
    """Every run opened by the test writes into a FakeSink."""
    return install(monkeypatch)


def _writer(logdir: Path, **options: object) -> tblog.RunWriter:
    """A writer that writes only when asked (or crowded): the test decides when."""
    options.setdefault("flush_secs", 60.0)
    return tblog.RunWriter(logdir, **options)  # type: ignore[arg-type]


def _add(writer: tblog.RunWriter, steps: range, tag: str = "x") -> None:
    for step in steps:
        writer.add_scalar(tag, float(step), step)


def _tblog_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("tblog:")]


# ---- order and wholeness ---------------------------------------------------------------------


def test_points_reach_the_sink_in_order_and_in_whole_records(
    logdir: Path, sinks: FakeSinks
) -> None:
    """Each write hands over whole records; every tag's points arrive in the order logged."""
    writer = _writer(logdir)
    for step in range(3000):
        writer.add_scalar("a", float(step), step)
        writer.add_scalar("b", -float(step), step)
    writer.add_text("notes", "hello", 7)
    writer.add_histogram("w", [1.0, 2.0, 3.0], 7)
    assert writer.flush()
    sink = sinks.last
    assert all(whole_records(data) == len(data) for data in sink.writes)
    assert [(s, float(s)) for s in range(3000)] == list(
        zip(sink.steps("a"), sink.values("a"), strict=True)
    )
    assert [-float(s) for s in range(3000)] == sink.values("b")
    assert [("notes", 7, "hello")] == sink.points("notes")
    assert [("w", 7, 3)] == sink.points("w")
    assert 6002 == writer.stats.written
    writer.close()


def test_a_handlers_records_reach_the_sink_as_the_record_contract_says(
    logdir: Path, sinks: FakeSinks, logger: logging.Logger
) -> None:
    """A value, a metrics dict and a plain message become the points README's table names."""
    handler = tblog.TensorBoardHandler(logdir, flush_secs=60.0)
    logger.addHandler(handler)
    logger.info("epoch", extra={"tag": "loss", "value": 0.5, "step": 3})
    logger.info("eval", extra={"metrics": {"acc": 0.75, "f1": 0.25}, "step": 3, "tag": "val"})
    logger.info("loaded %d images", 5000)
    handler.flush()
    points = sinks.last.points()
    assert [("loss", 3, 0.5), ("val/acc", 3, 0.75), ("val/f1", 3, 0.25)] == points[:3]
    tag, step, text = points[3]
    assert ("logs/INFO", 0) == (tag, step)
    assert "loaded 5000 images" in text
    handler.close()


# ---- flush -----------------------------------------------------------------------------------


def test_flush_returns_only_after_the_sink_took_every_earlier_point(
    logdir: Path, sinks: FakeSinks
) -> None:
    """While the sink holds the write, flush() waits; it returns once the points are taken."""
    writer = _writer(logdir)
    sink = sinks.last
    sink.hold()
    _add(writer, range(100))
    seen: dict[str, object] = {}

    def flush() -> None:
        seen["ok"] = writer.flush(timeout=20)
        seen["taken"] = len(sink.steps("x"))

    flusher = threading.Thread(target=flush)
    flusher.start()
    assert sink.entered.wait(10), "the writer never reached the sink"
    assert flusher.is_alive()  # the points are inside the sink's write, not taken yet
    assert {} == seen
    sink.release()
    flusher.join(20)
    assert {"ok": True, "taken": 100} == seen
    writer.close()


def test_a_flush_on_a_hung_sink_times_out_and_a_later_one_succeeds(
    logdir: Path, sinks: FakeSinks
) -> None:
    """flush(timeout) says False after about timeout, each time it is asked; True after.

    A caller's own timeout does not mark the writer stuck (it may only be slow): a later
    flush waits again, as long as it was told to.
    """
    writer = _writer(logdir)
    sink = sinks.last
    sink.hold()
    _add(writer, range(10))
    for _ in range(2):
        start = time.monotonic()
        assert writer.flush(timeout=0.3) is False
        assert 0.25 <= time.monotonic() - start < 5
    sink.release()
    until(lambda: len(sink.steps("x")) == 10, "the held write")
    _add(writer, range(10, 20))
    assert writer.flush(timeout=10)
    assert list(range(20)) == sink.steps("x")
    writer.close()


def test_a_handler_flush_that_times_out_says_so_on_stderr(
    logdir: Path, sinks: FakeSinks, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """A handler's flush() that gives up on a stuck disk tells the user, in one line."""
    handler = tblog.TensorBoardHandler(logdir, flush_secs=60.0, timeout_secs=0.3)
    logger.addHandler(handler)
    sink = sinks.last
    sink.hold()
    logger.info("", extra={"tag": "x", "value": 1.0, "step": 0})
    handler.flush()
    lines = _tblog_lines(capsys.readouterr().err)
    sink.release()
    handler.close()
    assert 1 == len(lines), lines


def test_closing_one_share_of_a_run_on_a_stuck_disk_says_what_was_left(
    logdir: Path, sinks: FakeSinks, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """A handler's close() while another share stays open waits timeout_secs, then says so."""
    handler = tblog.TensorBoardHandler(logdir, flush_secs=60.0, timeout_secs=0.3)
    writer = _writer(logdir)  # a second share: closing the handler only flushes the run
    logger.addHandler(handler)
    sink = sinks.last
    sink.hold()
    for step in range(3):
        logger.info("", extra={"tag": "x", "value": 1.0, "step": step})
    start = time.monotonic()
    handler.close()
    elapsed = time.monotonic() - start
    lines = _tblog_lines(capsys.readouterr().err)
    sink.release()
    until(lambda: len(sink.steps("x")) == 3, "the held write")
    writer.close()
    assert 0.25 <= elapsed < 5
    assert 1 == len(lines), lines
    assert f"flush of {writer.logdir} gave up after 0.3s" in lines[0]
    assert "points not written yet: 3" in lines[0]
    assert [0, 1, 2] == sink.steps("x")


def test_a_flush_waiting_for_a_store_that_is_down_says_so_once_per_outage(
    logdir: Path, sinks: FakeSinks, logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first handler flush() of an outage tells on stderr; later ones do not, until it ends."""
    handler = tblog.TensorBoardHandler(logdir, flush_secs=60.0, timeout_secs=0.3)
    logger.addHandler(handler)
    sink = sinks.last
    sink.waiter = lambda _deadline: False  # the uploads never arrive
    told = []
    for outage in range(2):
        for step in range(3):
            logger.info("", extra={"tag": "x", "value": 1.0, "step": 3 * outage + step})
            handler.flush()
        told.append(_tblog_lines(capsys.readouterr().err))
        sink.waiter = None
        handler.flush()  # the store is back
        sink.waiter = lambda _deadline: False
    sink.waiter = None
    handler.close()
    assert [1, 1] == [len(lines) for lines in told], told
    assert "is not readable yet" in told[0][0]
    assert list(range(6)) == sink.steps("x")


def test_a_sync_that_waits_in_vain_bounds_the_flush_and_the_writer_goes_on(
    logdir: Path, sinks: FakeSinks
) -> None:
    """A store that is down (sync never readable) fails the flush at its timeout, no more."""
    writer = _writer(logdir)
    sink = sinks.last
    deadlines: list[float] = []

    def never(deadline: float) -> bool:
        deadlines.append(deadline)
        return False

    sink.waiter = never
    _add(writer, range(5))
    start = time.monotonic()
    assert writer.flush(timeout=0.5) is False
    assert len(deadlines) == 1
    assert start + 0.4 <= deadlines[0] <= start + 1.5  # the flush's own deadline
    sink.waiter = None
    _add(writer, range(5, 10))
    assert writer.flush(timeout=5)  # not taken for a stuck writer
    assert list(range(10)) == sink.steps("x")
    writer.close()


# ---- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), RuntimeError("a sink bug")],
    ids=["OSError", "RuntimeError"],
)
def test_a_write_that_raises_costs_only_its_points(
    logdir: Path, sinks: FakeSinks, capsys: pytest.CaptureFixture[str], fault: Exception
) -> None:
    """The batch whose write raised is dropped and counted; one line says so; later points land."""
    writer = _writer(logdir)
    sink = sinks.last
    _add(writer, range(10))
    assert writer.flush()
    sink.fail("write", fault, times=2)
    _add(writer, range(10, 20))
    assert writer.flush() is False
    _add(writer, range(20, 30))
    assert writer.flush() is False  # the second fault of the same kind
    _add(writer, range(30, 40))
    assert writer.flush()
    stats = writer.stats
    writer.close()
    assert list(range(10)) + list(range(30, 40)) == sink.steps("x")
    assert (20, 20, 2) == (stats.written, stats.dropped, stats.errors)
    lines = _tblog_lines(capsys.readouterr().err)
    assert 1 == len(lines), lines
    assert str(fault) in lines[0]
    assert type(fault).__name__ in lines[0]
    assert str(writer.logdir) in lines[0]


def test_a_short_write_costs_only_the_records_it_did_not_take(
    logdir: Path, sinks: FakeSinks
) -> None:
    """A write that took 3 of 10 records: 3 written, 7 dropped, and the next batch is whole."""
    writer = _writer(logdir)
    sink = sinks.last
    _add(writer, range(10))
    assert writer.flush()
    sink.keep_only(3)
    _add(writer, range(10, 20))
    assert writer.flush() is False
    _add(writer, range(20, 30))
    assert writer.flush()
    stats = writer.stats
    writer.close()
    assert list(range(13)) + list(range(20, 30)) == sink.steps("x")
    assert (23, 7) == (stats.written, stats.dropped)


@pytest.mark.parametrize("method", ["check", "sync"])
def test_a_check_or_sync_fault_costs_no_point(
    logdir: Path, sinks: FakeSinks, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    """A raising check() or sync() is counted and told once; no point is lost."""
    writer = _writer(logdir)
    sink = sinks.last
    sink.fail(method, RuntimeError("a sink bug"), times=2)
    _add(writer, range(10))
    first = writer.flush()
    assert first is (method == "check")  # a failed sync fails the flush that asked for it
    _add(writer, range(10, 20))
    writer.flush()
    _add(writer, range(20, 30))
    assert writer.flush()
    stats = writer.stats
    writer.close()
    assert list(range(30)) == sink.steps("x")
    assert (30, 0, 2) == (stats.written, stats.dropped, stats.errors)
    lines = _tblog_lines(capsys.readouterr().err)
    assert 1 == len(lines), lines
    assert "RuntimeError: a sink bug" in lines[0]


# ---- close -----------------------------------------------------------------------------------


def test_close_completes_the_sink_once_and_a_second_close_is_harmless(
    logdir: Path, sinks: FakeSinks, logger: logging.Logger
) -> None:
    """close() writes what is queued, closes the sink within timeout_secs; twice is harmless."""
    handler = tblog.TensorBoardHandler(logdir, flush_secs=60.0, timeout_secs=3.0)
    logger.addHandler(handler)
    sink = sinks.last
    for step in range(50):
        logger.info("", extra={"tag": "x", "value": float(step), "step": step})
    start = time.monotonic()
    handler.close()
    handler.close()
    assert list(range(50)) == sink.steps("x")
    assert 1 == sink.close_calls
    assert sink.closed_with is not None
    assert start < sink.closed_with <= start + 3.0 + 1.0


def test_close_gives_up_on_a_hung_sink_within_timeout_secs(
    logdir: Path, sinks: FakeSinks, capsys: pytest.CaptureFixture[str]
) -> None:
    """A disk that never returns costs close() timeout_secs, and one line says so."""
    writer = _writer(logdir, timeout_secs=0.5)
    sink = sinks.last
    sink.hold()
    _add(writer, range(10))
    start = time.monotonic()
    try:
        writer.close()
        elapsed = time.monotonic() - start
        writer.close()  # harmless
    finally:
        sink.release()
    assert 0.4 <= elapsed < 3
    lines = _tblog_lines(capsys.readouterr().err)
    assert 1 == len(lines), lines
    assert "gave up waiting for the writer" in lines[0]
    assert str(logdir) in lines[0]


def test_close_giving_up_counts_the_points_inside_the_hung_write(
    logdir: Path, sinks: FakeSinks, capsys: pytest.CaptureFixture[str]
) -> None:
    """The give-up message counts every point not written, the batch in the sink included."""
    writer = _writer(logdir, timeout_secs=0.3)
    sink = sinks.last
    sink.hold()
    _add(writer, range(10))
    try:
        writer.close()
    finally:
        sink.release()
    assert "queued points not written: 10" in capsys.readouterr().err


# ---- queue bounds ----------------------------------------------------------------------------


@pytest.mark.parametrize("block_secs", [0.0, 0.3])
def test_a_full_queue_waits_block_secs_once_then_drops_until_there_is_room(
    logdir: Path, sinks: FakeSinks, capsys: pytest.CaptureFixture[str], block_secs: float
) -> None:
    """README: one call waits at most block_secs; later ones drop at once, counted, told once."""
    writer = _writer(logdir, max_queue=10, block_secs=block_secs)
    sink = sinks.last
    sink.hold()
    try:
        _add(writer, range(1))
        writer.flush(timeout=0.01)  # wakes the writer, which takes step 0 into the held write
        assert sink.entered.wait(10)
        _add(writer, range(1, 11))  # the queue is full now
        start = time.monotonic()
        _add(writer, range(11, 12))
        waited = time.monotonic() - start
        start = time.monotonic()
        _add(writer, range(12, 112))
        rest = time.monotonic() - start
        assert writer.stats.dropped == 101
    finally:
        sink.release()
    assert block_secs * 0.8 <= waited < block_secs + 2
    assert rest < max(block_secs, 0.2)  # no second wait
    until(lambda: writer.stats.queued == 0, "the writer catching up")
    _add(writer, range(200, 210))  # room again: accepted
    assert writer.flush(timeout=10) is False  # points before it were dropped
    _add(writer, range(210, 220))
    assert writer.flush(timeout=10)
    writer.close()
    assert list(range(11)) + list(range(200, 220)) == sink.steps("x")
    lines = _tblog_lines(capsys.readouterr().err)
    assert 1 == len(lines), lines
    assert "is full (10 points)" in lines[0]


# ---- steps and NaN ---------------------------------------------------------------------------


def test_steps_resolve_as_readme_says(
    logdir: Path, sinks: FakeSinks, logger: logging.Logger
) -> None:
    """Explicit step, else the step context, else a per-tag counter continuing the last step."""
    handler = tblog.TensorBoardHandler(logdir, flush_secs=60.0)
    logger.addHandler(handler)

    def point(tag: str, **extra: object) -> None:
        logger.info("", extra={"tag": tag, "value": 1.0, **extra})

    point("x", step=5)
    point("x")  # continues after 5
    with tblog.step(10):
        point("x")
        point("y")
        point("y", step=2)  # an explicit step wins over the context
        logger.info("first line")
        logger.info("second line")  # text tags count their own steps
    point("y")
    point("z")
    point("z")
    handler.flush()
    sink = sinks.last
    assert [5, 6, 10] == sink.steps("x")
    assert [10, 2, 3] == sink.steps("y")
    assert [0, 1] == sink.steps("z")
    assert [0, 1] == sink.steps("logs/INFO")
    handler.close()


def test_nan_and_inf_are_written_as_they_are_and_warned_about_once_each_way(
    logdir: Path, sinks: FakeSinks, caplog: pytest.LogCaptureFixture
) -> None:
    """Non-finite values reach the sink unchanged; tblog.nan warns when it starts and ends."""
    caplog.set_level(logging.WARNING, logger="tblog.nan")
    writer = _writer(logdir)
    values = [0.5, math.nan, math.inf, -math.inf, math.nan, 0.25, 0.125]
    for step, value in enumerate(values):
        writer.add_scalar("loss", value, step)
    assert writer.flush()
    writer.close()
    shown = sinks.last.values("loss")
    assert all(same(a, b) for a, b in zip(values, shown, strict=True))
    warnings = [r.getMessage() for r in caplog.records if r.name == "tblog.nan"]
    assert 2 == len(warnings), warnings
    assert "non-finite value nan at step 1" in warnings[0]
    assert "finite again at step 5" in warnings[1]


def test_a_counted_step_past_the_largest_is_dropped_and_told_once(
    logdir: Path, sinks: FakeSinks, capsys: pytest.CaptureFixture[str]
) -> None:
    """After step 2**63 - 1, points without a step are dropped (TensorBoard would go negative)."""
    writer = _writer(logdir)
    writer.add_text("t", "last", 2**63 - 1)
    writer.add_text("t", "past")
    writer.add_text("t", "past again")
    writer.add_text("u", "fine")
    assert writer.flush() is False
    stats = writer.stats
    writer.close()
    assert [2**63 - 1] == sinks.last.steps("t")
    assert [0] == sinks.last.steps("u")
    assert 2 == stats.dropped
    lines = _tblog_lines(capsys.readouterr().err)
    assert 1 == len(lines), lines
    assert "2**63 - 1" in lines[0]


# ---- fork ------------------------------------------------------------------------------------


def _in_child(work: Callable[[], dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    """Fork; the child runs ``work`` and leaves without the parent's exit hooks.

    Returns the child's pid and what ``work`` returned (sent back as JSON).
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read_end)
            os.write(write_end, json.dumps(work()).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        raw = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert 0 == os.waitstatus_to_exitcode(status)
    return pid, json.loads(raw)


@pytest.mark.forks
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_childs_run_starts_clean(logdir: Path, sinks: FakeSinks) -> None:
    """The child has no queued points, zero counters, its own sub-run; the parent loses nothing."""
    writer = _writer(logdir)
    sink = sinks.last
    _add(writer, range(1))
    assert writer.flush()
    sink.hold()
    _add(writer, range(1, 3))
    flusher = threading.Thread(target=writer.flush, kwargs={"timeout": 30})
    flusher.start()  # the writer takes steps 1, 2 into the held write
    assert sink.entered.wait(10)
    _add(writer, range(3, 5))  # queued in the parent when it forks

    def child() -> dict[str, Any]:
        stats = writer.stats
        writer.add_scalar("c", 1.0, 7)
        return {
            "before": [stats.written, stats.dropped, stats.errors, stats.queued],
            "flushed": writer.flush(timeout=10),
            "logdir": writer.logdir,
            "sink_logdir": sink.child_logdir,
            "points": sink.points(),
        }

    pid, report = _in_child(child)
    sink.release()
    flusher.join(30)
    sub_run = os.path.join(writer.logdir, f"child_{pid}")
    assert {
        "before": [0, 0, 0, 0],
        "flushed": True,
        "logdir": sub_run,
        "sink_logdir": sub_run,
        "points": [["c", 7, 1.0]],
    } == report
    assert writer.flush()
    assert list(range(5)) == sink.steps("x")
    assert [] == sink.steps("c")
    writer.close()


@pytest.mark.forks
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_inherit_a_stuck_writer(
    logdir: Path, sinks: FakeSinks, capsys: pytest.CaptureFixture[str]
) -> None:
    """The parent's disk hangs and its flush gave up; the child's own sub-run flushes and closes."""
    writer = _writer(logdir, timeout_secs=0.2)
    sink = sinks.last
    _add(writer, range(1))
    assert writer.flush()
    sink.hold()
    _add(writer, range(1, 3))
    assert writer.flush() is False  # the run's own timeout: the parent's writer is stuck

    def child() -> dict[str, Any]:
        sink.release()  # the child's sink (a copy) answers
        writer.add_scalar("c", 1.0, 7)
        return {"flushed": writer.flush(), "points": sink.points()}

    _, report = _in_child(child)
    sink.release()
    assert {"flushed": True, "points": [["c", 7, 1.0]]} == report
    until(lambda: [0, 1, 2] == sink.steps("x"), "the parent's held write")
    writer.close()
    assert 1 == len(_tblog_lines(capsys.readouterr().err))  # the parent's flush said so


def _kill_the_writer(writer: tblog.RunWriter, sink: FakeSink) -> None:
    """Log steps 0..4 (written), then 5..9 into a write that ends the writer thread."""
    _add(writer, range(5))
    assert writer.flush()
    sink.fail("write", KeyboardInterrupt("stop"))
    _add(writer, range(5, 10))
    assert writer.flush() is False  # released by the dying thread, not by its timeout


def test_a_writer_thread_that_dies_is_replaced_by_the_next_flush(
    logdir: Path, sinks: FakeSinks, capsys: pytest.CaptureFixture[str]
) -> None:
    """A BaseException out of the sink ends the writer thread; the next flush starts another.

    The flush that was waiting is released at once; the points after the lost batch are
    written before close, so a kill after that flush loses nothing more.
    """
    writer = _writer(logdir, timeout_secs=30.0)
    sink = sinks.last
    start = time.monotonic()
    _kill_the_writer(writer, sink)
    _add(writer, range(10, 15))  # the first of them starts a new writer, which takes it
    until(lambda: 10 in sink.steps("x"), "the new writer")
    assert writer.flush() is False  # it reports the batch the dying thread lost
    assert list(range(5)) + list(range(10, 15)) == sink.steps("x")
    _add(writer, range(15, 20))
    assert writer.flush() is True
    assert list(range(5)) + list(range(10, 20)) == sink.steps("x")
    stats = writer.stats
    writer.close()
    assert time.monotonic() - start < 10
    assert (15, 5, 0) == (stats.written, stats.dropped, stats.queued)
    lines = _tblog_lines(capsys.readouterr().err)
    assert 1 == len(lines), lines
    assert f"the writer of {writer.logdir} stopped: KeyboardInterrupt: stop" in lines[0]
    assert "a new one starts" in lines[0]


def test_the_points_a_dying_writer_lost_are_counted_dropped(logdir: Path, sinks: FakeSinks) -> None:
    """stats.dropped counts the batch the writer thread died writing."""
    writer = _writer(logdir, timeout_secs=30.0)
    _kill_the_writer(writer, sinks.last)
    stats = writer.stats
    writer.close()
    assert (5, 5) == (stats.written, stats.dropped)


def test_queued_counts_points_only(logdir: Path, sinks: FakeSinks) -> None:
    """stats.queued counts the points waiting and in a write under way, never flush markers.

    ``written + dropped + queued`` is every point logged, while the disk hangs and after.
    """
    writer = _writer(logdir, timeout_secs=30.0)
    sink = sinks.last
    _add(writer, range(5))
    assert writer.flush()
    sink.hold()
    _add(writer, range(5, 10))
    assert writer.flush(timeout=0.05) is False  # wakes the writer into the held write
    assert sink.entered.wait(10)
    _add(writer, range(10, 15))
    assert writer.flush(timeout=0.05) is False  # its flush marker waits behind them
    stats = writer.stats
    sink.release()
    assert writer.flush()
    after = writer.stats
    writer.close()
    assert (5, 0, 10) == (stats.written, stats.dropped, stats.queued)
    assert (15, 0, 0) == (after.written, after.dropped, after.queued)


def test_queued_and_written_leave_out_a_purges_events(
    tmp_path: Path, logdir: Path, sinks: FakeSinks
) -> None:
    """The SessionLog events a restore queues into an open run are neither queued nor points."""
    writer = _writer(logdir, timeout_secs=30.0)
    sink = sinks.last
    _add(writer, range(5))
    assert writer.flush()
    sink.hold()  # what is queued from now on stays queued until the release
    _add(writer, range(5, 8))
    assert writer.flush(timeout=0.05) is False
    assert sink.entered.wait(10)
    again = tblog.restore(log_file=tmp_path / "job.log", run_path=logdir, purge_step=4,
                          console=False)  # fmt: skip
    stats = writer.stats
    sink.release()
    assert writer.flush()
    after = writer.stats
    again.close()
    writer.close()
    starts = [e.step for e in sink.events() if e.HasField("session_log")]
    assert (3, [4, 4]) == (stats.queued, starts)  # both loaders' purge: two STARTs
    assert (8, 0) == (after.written, after.queued)


def test_points_logged_while_the_run_closes_are_written_or_counted_dropped(
    logdir: Path, sinks: FakeSinks
) -> None:
    """Threads logging counted steps while the run closes (the exit hook): none goes unseen.

    A point either reaches the sink or is counted dropped; ``written + dropped`` is what was
    logged, in every trial (a put that waited for the lock while close drained used to queue
    its point into a run nobody would write again).
    """
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # interleave the threads finely: the race is a few bytecodes
    try:
        for trial in range(30):
            writer = _writer(logdir / str(trial))
            run, sink = sinks.runs[-1], sinks.last
            logged = [0] * 3
            stop = threading.Event()

            def log(
                i: int,
                writer: tblog.RunWriter = writer,
                stop: threading.Event = stop,
                logged: list[int] = logged,
            ) -> None:
                while not stop.is_set():
                    try:
                        writer.add_scalar(f"t{i}", 1.0)  # a counted step: the locked put
                    except tblog.WriterClosedError:
                        return
                    logged[i] += 1

            threads = [threading.Thread(target=log, args=(i,)) for i in range(3)]
            for thread in threads:
                thread.start()
            until(lambda: sum(logged) > 300, "points logged")  # noqa: B023 - this trial's
            run.close()  # what the exit hook does
            stop.set()
            for thread in threads:
                thread.join()
            writer.close()
            total = sum(len(sink.steps(f"t{i}")) for i in range(3))
            assert (sum(logged), total) == (run.written + run.dropped, run.written), trial
    finally:
        sys.setswitchinterval(switch)
