"""Never raise, never hang, never lose: threads, processes, fork, kills, faults, input, memory."""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import struct
import subprocess
import sys
import textwrap
import threading
import time
from itertools import count
from pathlib import Path

import hypothesis.strategies as st
import mp_workers
import pytest
from hypothesis import HealthCheck, given, settings
from privileges import drop_permission_overrides
from scripts import popen_script
from tbread import event_files, read_run

import tblog

pytestmark = pytest.mark.slow


# ---- threads -------------------------------------------------------------------------------


def test_many_threads_lose_nothing_and_counters_never_collide(logdir: Path) -> None:
    """8 threads: own tags with steps, a shared counted tag, text; every point, in step order."""
    logger = logging.getLogger("threads")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = tblog.TensorBoardHandler(logdir)
    logger.addHandler(handler)
    per_thread = 1000

    def work(worker: int) -> None:
        for step in range(per_thread):
            logger.info("", extra={"tag": f"own/{worker}", "value": float(step), "step": step})
            logger.info("", extra={"tag": "shared", "value": float(worker)})
            if step % 100 == 0:
                logger.info("thread %d at %d", worker, step)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    handler.close()

    run = read_run(logdir)
    for worker in range(8):
        assert list(range(per_thread)) == run.steps(f"own/{worker}")
    assert list(range(8 * per_thread)) == run.steps("shared")  # no duplicate, no skip, in order
    assert list(range(80)) == run.steps("logs/INFO")


# ---- processes -----------------------------------------------------------------------------


@pytest.mark.parametrize("method", [pytest.param("fork", marks=pytest.mark.forks), "spawn"])
def test_queue_recipe_delivers_every_point_with_central_steps(tmp_path: Path, method: str) -> None:
    """QueueHandler in workers, the run's QueueListener in the parent: all points, no collision."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    context = multiprocessing.get_context(method)
    with tblog.setup(
        "mp", log_root=tmp_path / "logs", runs_root=tmp_path / "runs", console=False
    ) as run:
        queue = run.log_queue(context.Queue(-1))
        workers = [
            context.Process(target=mp_workers.queue_worker, args=(queue, n)) for n in range(3)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
        assert [0, 0, 0] == [w.exitcode for w in workers]
    assert run.run_path is not None
    assert run.log_file is not None
    data = read_run(run.run_path)
    for n in range(3):
        assert list(range(mp_workers.RECORDS)) == data.steps(f"w{n}")
    assert list(range(3 * mp_workers.RECORDS)) == data.steps("shared")
    assert sorted(data.values("shared")) == sorted(
        float(n) for n in range(3) for _ in range(mp_workers.RECORDS)
    )
    log_text = run.log_file.read_text()
    assert all(f"worker {n} done" in log_text for n in range(3))
    assert [str(run.run_path)] == [
        os.path.dirname(f) for f in event_files(tmp_path / "runs", recursive=True)
    ]


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
@pytest.mark.forks
def test_a_multiprocessing_fork_child_keeps_its_points_without_flushing(logdir: Path) -> None:
    """A fork-started Process child exits through os._exit; its sub-run still gets every point."""
    logger = logging.getLogger("child")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.addHandler(tblog.TensorBoardHandler(logdir, flush_secs=3600))
    logger.info("", extra={"tag": "parent", "value": 1.0, "step": 0})
    child = multiprocessing.get_context("fork").Process(
        target=mp_workers.inherited_handler_worker, args=(500,)
    )
    child.start()
    child.join(60)
    assert 0 == child.exitcode
    logging.getLogger("child").handlers[0].close()
    sub_runs = [p for p in logdir.iterdir() if p.is_dir()]
    assert [f"child_{child.pid}"] == [p.name for p in sub_runs]
    assert list(range(500)) == read_run(sub_runs[0]).steps("child")
    assert {"parent": [(0, 1.0)]} == read_run(logdir).scalars


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_an_os_fork_child_that_exits_normally_loses_nothing(tmp_path: Path) -> None:
    """os.fork + sys.exit without flush: the child's exit hook writes its sub-run; no hang."""
    proc = popen_script(
        tmp_path,
        """
        import logging, os, sys, tblog
        log = logging.getLogger("x"); log.setLevel(logging.INFO)
        log.addHandler(tblog.TensorBoardHandler("runs/exp", flush_secs=3600))
        log.info("", extra={"tag": "parent", "value": 1.0, "step": 0})
        pid = os.fork()
        if pid == 0:
            for step in range(300):
                log.info("", extra={"tag": "child", "value": float(step), "step": step})
            sys.exit(0)
        os.waitpid(pid, 0)
        print(pid)
        """,
    )
    out, err = proc.communicate(timeout=60)
    assert 0 == proc.returncode, err
    child = read_run(tmp_path / f"runs/exp/child_{out.strip()}")
    assert list(range(300)) == child.steps("child")
    assert {"parent": [(0, 1.0)]} == read_run(tmp_path / "runs/exp").scalars


# ---- durability ----------------------------------------------------------------------------

_LOG_AND_WAIT = """
import logging, sys, time, tblog
log = logging.getLogger("d"); log.setLevel(logging.INFO)
handler = tblog.TensorBoardHandler("runs/exp", flush_secs={flush_secs})
log.addHandler(handler)
for step in range(5000):
    log.info("", extra={{"tag": "x", "value": float(step), "step": step}})
{after}
print("ready", flush=True)
time.sleep(600)
"""

#: No flush(): wait (with a deadline) until the periodic flush wrote every point.
_PERIODIC_WRITE = """
stats = lambda: tblog.get_writer("runs/exp").stats
deadline = time.monotonic() + 60
while (stats().written, stats().queued) != (5000, 0) and time.monotonic() < deadline:
    time.sleep(0.01)
"""


@pytest.mark.parametrize(
    ("flush_secs", "after", "sig"),
    [
        (3600, "handler.flush()", signal.SIGKILL),
        (0.2, _PERIODIC_WRITE, signal.SIGKILL),
        (3600, "handler.flush()", signal.SIGTERM),
    ],
    ids=["flush-then-sigkill", "periodic-flush-then-sigkill", "flush-then-sigterm"],
)
def test_flushed_points_survive_a_kill(
    tmp_path: Path, flush_secs: float, after: str, sig: signal.Signals
) -> None:
    """Points flushed (by flush() or the periodic flush) survive SIGKILL and SIGTERM."""
    proc = popen_script(tmp_path, _LOG_AND_WAIT.format(flush_secs=flush_secs, after=after))
    assert proc.stdout is not None
    assert "ready" == proc.stdout.readline().strip()
    proc.send_signal(sig)
    proc.communicate(timeout=30)
    assert list(range(5000)) == read_run(tmp_path / "runs/exp").steps("x")


def test_exit_never_hangs_on_a_stuck_disk(tmp_path: Path) -> None:
    """A writer stuck in write(): exit gives up after the time limit and says what it left."""
    proc = popen_script(
        tmp_path,
        """
        import logging, os, threading, time, tblog
        log = logging.getLogger("s"); log.setLevel(logging.INFO)
        log.addHandler(tblog.TensorBoardHandler("runs/exp", timeout_secs=1.0))
        os.write = lambda fd, data: time.sleep(3600)  # the disk never answers
        for step in range(100):
            log.info("", extra={"tag": "x", "value": 1.0, "step": step})
        print("exiting", flush=True)
        """,
    )
    start = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert 0 == proc.returncode, err
    assert time.monotonic() - start < 30
    assert "exiting" in out
    assert "gave up waiting for the writer" in err


def test_a_dead_writer_thread_releases_flush_and_exit(tmp_path: Path) -> None:
    """A writer thread that dies: flush() returns False at once, exit does not hang."""
    proc = popen_script(
        tmp_path,
        """
        import logging, tblog
        from tblog import _run
        def die(self):
            raise SystemExit("writer killed")
        _run.Run._drain = die
        log = logging.getLogger("s"); log.setLevel(logging.INFO)
        handler = tblog.TensorBoardHandler("runs/exp")
        log.addHandler(handler)
        log.info("", extra={"tag": "x", "value": 1.0, "step": 0})
        print(handler.writer.flush(timeout=30), flush=True)
        log.info("", extra={"tag": "x", "value": 2.0, "step": 1})
        """,
    )
    start = time.monotonic()
    out, err = proc.communicate(timeout=60)
    assert 0 == proc.returncode, err
    assert time.monotonic() - start < 25
    assert "False" == out.strip()
    assert "stopped: SystemExit: writer killed" in err


# ---- faults --------------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Path:
    """A 256 KiB tmpfs (skipped where mounting is not permitted)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (the injected-OSError test covers this)")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_drops_counts_reports_once_and_resumes(
    small_disk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC on a real tmpfs: the app runs on, one message, a counter, writing resumes."""
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * 200_000)
    logdir = small_disk / "run"
    writer = tblog.get_writer(logdir)
    for step in range(20_000):  # ~700 KB of events, far more than the space left
        writer.add_scalar("x", float(step), step)
    writer.flush()
    full = writer.stats
    assert full.dropped > 0  # a failed write drops (and counts) its whole batch
    assert 20_000 == full.written + full.dropped
    filler.unlink()
    for step in range(20_000, 20_100):
        writer.add_scalar("x", float(step), step)
    writer.flush()
    after = writer.stats
    writer.close()

    err = capsys.readouterr().err
    assert 1 == err.count("No space left on device")
    assert 1 == err.count(" works again\n")
    assert after.written == full.written + 100
    steps = read_run(logdir).steps("x")
    assert len(steps) == after.written  # every written point is readable: no torn record
    assert list(range(20_000, 20_100)) == steps[-100:]


def test_an_unwritable_run_directory_is_reported_once(tmp_path: Path) -> None:
    """A run directory made read-only before the first write: one message, points counted.

    As root (CI), the writer runs without root's permission overrides.
    """
    logdir = tmp_path / "ro"
    logdir.mkdir(mode=0o500)
    script = textwrap.dedent(
        """
        import tblog
        writer = tblog.get_writer("ro")
        for step in range(10):
            writer.add_scalar("x", 1.0, step)
        writer.flush()
        print(writer.stats.dropped)
        writer.close()
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False, preexec_fn=drop_permission_overrides,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr
    assert "10" == result.stdout.strip()
    assert 1 == result.stderr.count("cannot create an event file")
    assert [] == os.listdir(logdir)


# ---- bad input -----------------------------------------------------------------------------

_tags = st.one_of(st.text(min_size=1, max_size=12), st.just(""), st.none(), st.integers())
_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.none(),
    st.builds(object),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_steps = st.one_of(
    st.integers(min_value=-5, max_value=2**40), st.floats(allow_nan=True), st.booleans()
)
_records = st.lists(st.tuples(_tags, _values, _steps), min_size=1, max_size=40)
_run_ids = count()


def _valid(tag: object, value: object, step: object) -> bool:
    """The contract, stated independently of tblog's code: what must become a scalar."""
    return (
        isinstance(tag, str)
        and tag != ""
        and isinstance(value, (int, float))  # bool is an int: a scalar 0/1
        and type(step) is int
        and step >= 0
    )


def _f32(value: float) -> float:
    number = float(value)
    if math.isfinite(number) and abs(number) > 3.4028234663852886e38:
        return math.copysign(math.inf, number)
    return float(struct.unpack("<f", struct.pack("<f", number))[0])


def _expected(records: list[tuple[object, object, object]]) -> dict[str, list[tuple[int, float]]]:
    expected: dict[str, list[tuple[int, float]]] = {}
    for tag, value, step in records:
        if _valid(tag, value, step):
            expected.setdefault(str(tag), []).append((int(step), _f32(value)))  # type: ignore[call-overload,arg-type]
    return expected


def _same(
    got: dict[str, list[tuple[int, float]]], want: dict[str, list[tuple[int, float]]]
) -> bool:
    if set(got) != set(want):
        return False
    for tag, points in want.items():
        if len(points) != len(got[tag]):
            return False
        for (s1, v1), (s2, v2) in zip(points, got[tag], strict=True):
            if s1 != s2 or not (v1 == v2 or (math.isnan(v1) and math.isnan(v2))):
                return False
    return True


_hypothesis = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@_hypothesis
@given(records=_records)
def test_handler_survives_arbitrary_records(tmp_path: Path, records: list) -> None:  # type: ignore[type-arg]
    """Arbitrary tag/value/step extras: no exception, run readable, every valid point exact."""
    logdir = tmp_path / f"h{next(_run_ids)}"
    logger = logging.getLogger(f"fuzz.{logdir.name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = tblog.TensorBoardHandler(logdir, text_tag=None)
    logger.addHandler(handler)
    for tag, value, step in records:
        logger.info("m", extra={"tag": tag, "value": value, "step": step})
    logger.info("m", extra={"metrics": {"ok": 1.0, "bad": object()}, "step": 0})
    handler.close()
    logger.removeHandler(handler)
    got = read_run(logdir).scalars if logdir.exists() else {}
    want = _expected(records)
    want.setdefault("ok", []).append((0, 1.0))
    assert _same(got, want), (got, want)


@_hypothesis
@given(records=_records)
def test_facade_helpers_survive_arbitrary_values(tmp_path: Path, records: list) -> None:  # type: ignore[type-arg]
    """RootLogger.scalar with arbitrary input: no exception, every valid point exact."""
    name = f"f{next(_run_ids)}"
    with tblog.setup(
        name, log_root=tmp_path / "logs", runs_root=tmp_path / "runs", log_name=name, console=False
    ) as run:
        for tag, value, step in records:
            run.scalar(tag, value, step)  # type: ignore[arg-type]
    assert run.run_path is not None
    got = read_run(run.run_path).scalars if run.run_path.exists() else {}
    assert _same(got, _expected(records))


@_hypothesis
@given(records=_records)
def test_processor_survives_arbitrary_events(tmp_path: Path, records: list) -> None:  # type: ignore[type-arg]
    """TensorBoardProcessor with arbitrary event dicts: no exception, every valid point exact."""
    logdir = tmp_path / f"p{next(_run_ids)}"
    processor = tblog.TensorBoardProcessor(logdir=str(logdir))
    for tag, value, step in records:
        event = {"event": "e", "tag": tag, "value": value, "step": step}
        assert processor(None, "info", event) is event
    processor.close()
    got = read_run(logdir).scalars if logdir.exists() else {}
    assert _same(got, _expected(records))


# ---- memory --------------------------------------------------------------------------------


def test_memory_stays_flat_when_the_writer_is_stalled(tmp_path: Path) -> None:
    """A stalled writer and 500k records: the queue stays bounded, drops are counted, RSS flat."""
    proc = popen_script(
        tmp_path,
        """
        import logging, threading, tblog
        from tblog import _run
        stall = threading.Event()
        drain = _run.Run._drain
        _run.Run._drain = lambda self: stall.wait()
        def rss_mb():
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * 4096 / 2**20
        log = logging.getLogger("m"); log.setLevel(logging.INFO); log.propagate = False
        handler = tblog.TensorBoardHandler("runs/exp", max_queue=10_000, block_secs=0)
        log.addHandler(handler)
        for step in range(20_000):  # fill the queue and warm up
            log.info("", extra={"tag": "x", "value": 0.5, "step": step})
        before = rss_mb()
        for step in range(20_000, 520_000):
            log.info("", extra={"tag": "x", "value": 0.5, "step": step})
        after = rss_mb()
        stats = handler.stats
        print(before, after, stats.queued, stats.dropped)
        _run.Run._drain = drain
        stall.set()
        """,
    )
    out, err = proc.communicate(timeout=300)
    assert 0 == proc.returncode, err
    before, after, queued, dropped = (float(x) for x in out.split())
    assert 10_000 == queued
    # Released at exit, the writer writes the queue it kept: the first 10,000 points, in order.
    assert list(range(10_000)) == read_run(tmp_path / "runs/exp").steps("x")
    assert 510_000 <= dropped
    assert after - before < 10, (before, after)
    assert 1 == err.count("is full")
