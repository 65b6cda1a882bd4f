"""Lifetimes: close is a barrier, exit and fork lose nothing, setup is all or nothing."""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import mp_workers
import pytest
from scripts import run_script
from tbread import event_files, read_run
from waiting import until

import tblog
from tblog import _run

pytestmark = pytest.mark.slow


def _stall(run: _run.Run) -> threading.Event:
    """Hold the run's writer thread inside its next drain until the returned event is set.

    Returns once the writer thread is in there.
    """
    stall = threading.Event()
    entered = threading.Event()
    original = run._drain

    def stalled() -> None:
        entered.set()
        stall.wait()
        original()

    run._drain = stalled  # type: ignore[method-assign]
    run._wake.set()
    assert entered.wait(10), "the writer thread never reached its drain"
    return stall


# ---- close is a barrier ----------------------------------------------------------------------


def test_facade_close_writes_a_processors_points_first(tmp_path: Path) -> None:
    """tblog.close() returns with a TensorBoardProcessor's points (no logdir) on disk."""
    structlog = pytest.importorskip("structlog")
    run = tblog.setup("barrier", runs_root=tmp_path / "runs", log_root=tmp_path, console=False)
    processor = tblog.TensorBoardProcessor(flush_secs=3600)
    for step in range(50):
        processor(structlog.get_logger(), "info", {"tag": "p", "value": 0.5, "step": step})
    tblog.close()
    assert run.run_path is not None
    assert list(range(50)) == read_run(run.run_path).steps("p")  # still open in the processor
    processor.close()


def test_handler_close_writes_every_path_into_the_run(logdir: Path) -> None:
    """handler.close() while a get_writer() of the run stays open: both paths are on disk."""
    writer = tblog.get_writer(logdir)
    handler = tblog.TensorBoardHandler(logdir, flush_secs=3600)
    log = logging.getLogger("barrier.handler")
    log.propagate = False
    log.setLevel(logging.INFO)
    log.addHandler(handler)
    for step in range(20):
        writer.add_scalar("w", 1.0, step)
        log.info("", extra={"tag": "h", "value": 2.0, "step": step})
    handler.close()
    data = read_run(logdir)
    assert list(range(20)) == data.steps("w")
    assert list(range(20)) == data.steps("h")
    assert writer.stats.queued == 0
    writer.close()


# ---- multiprocessing workers that open their own run -------------------------------------


@pytest.mark.parametrize(
    "method", [pytest.param("fork", marks=pytest.mark.forks), "forkserver", "spawn"]
)
@pytest.mark.parametrize("opener", ["get_writer", "handler", "setup"])
def test_a_worker_that_opens_its_own_run_loses_nothing(
    tmp_path: Path, method: str, opener: str
) -> None:
    """A multiprocessing worker's own run keeps every unflushed point (fork exits via _exit)."""
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} start method here")
    context = multiprocessing.get_context(method)
    target = tmp_path / "runs"
    worker = context.Process(target=mp_workers.own_run_worker, args=(str(target), opener, 100))
    worker.start()
    worker.join(120)
    assert 0 == worker.exitcode
    (path,) = {os.path.dirname(f) for f in event_files(target, recursive=True)}
    assert list(range(100)) == read_run(path).steps("w")


# ---- fork around the facade -------------------------------------------------------------


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
@pytest.mark.forks
def test_a_fork_child_closing_its_copy_never_stops_the_parents_listener(tmp_path: Path) -> None:
    """A forked child calling tblog.setup()/close() leaves the parent's log_queue() running."""
    run = tblog.setup("parent", runs_root=tmp_path / "runs", log_root=tmp_path, console=False)
    queue = run.log_queue()
    fork = multiprocessing.get_context("fork")
    for target in (mp_workers.setup_in_child, mp_workers.close_in_child):
        child = fork.Process(target=target, args=(str(tmp_path / "child_runs"),))
        child.start()
        child.join(60)
        assert 0 == child.exitcode
    worker = fork.Process(target=mp_workers.queue_worker, args=(queue, 0))
    worker.start()
    worker.join(120)
    assert 0 == worker.exitcode
    tblog.close()
    assert run.run_path is not None
    assert list(range(mp_workers.RECORDS)) == read_run(run.run_path).steps("w0")


# ---- a removed run directory and dropped points ---------------------------------------------


def test_a_removed_run_directory_loses_no_flushed_point(logdir: Path) -> None:
    """The run removed mid-way (rm -rf): the next batch lands in a new file, nothing lost."""
    writer = tblog.RunWriter(logdir, flush_secs=3600)
    writer.add_scalar("x", 0.0, 0)
    assert writer.flush()
    shutil.rmtree(logdir)
    for step in range(1, 11):
        writer.add_scalar("x", float(step), step)
    assert writer.flush()
    assert list(range(1, 11)) == read_run(logdir).steps("x")
    assert 10 == writer.stats.written - 1  # the rewritten batch is counted once
    writer.close()


def test_flush_says_false_once_for_dropped_points(logdir: Path) -> None:
    """A point dropped before a flush makes that flush return False; the next one is True."""
    writer = tblog.RunWriter(logdir, max_queue=10, block_secs=0)
    run = writer._live()
    stall = _stall(run)
    for step in range(30):
        writer.add_scalar("x", 1.0, step)
    stall.set()
    assert writer.flush() is False
    writer.add_scalar("x", 1.0, 30)
    assert writer.flush() is True
    assert 20 == writer.stats.dropped
    writer.close()


# ---- counters live as long as the process -----------------------------------------------------


def test_counted_steps_continue_when_a_run_is_reopened(logdir: Path) -> None:
    """A run reopened (dictConfig again, a notebook cell re-run): counted steps go on."""
    log = logging.getLogger("reopen")
    log.propagate = False
    log.setLevel(logging.INFO)
    for _ in range(2):
        handler = tblog.TensorBoardHandler(logdir, text_tag="logs")
        log.addHandler(handler)
        for _ in range(3):
            log.info("", extra={"tag": "counted", "value": 1.0})
            log.info("line")
        log.removeHandler(handler)
        handler.close()
    data = read_run(logdir)
    assert list(range(6)) == data.steps("counted")
    assert list(range(6)) == data.steps("logs")


# ---- exit -----------------------------------------------------------------------------------


def test_points_from_an_earlier_registered_atexit_hook_are_written(tmp_path: Path) -> None:
    """An atexit hook registered before tblog's first run runs after tblog's: still written."""
    done = run_script(
        tmp_path,
        """
        import atexit, logging, tblog
        log = logging.getLogger("late"); log.setLevel(logging.INFO)
        @atexit.register
        def last_words():
            log.info("bye", extra={"tag": "late", "value": 7.0, "step": 9})
            tblog.get_writer("runs/other").add_scalar("other", 1.0, 0)
        log.addHandler(tblog.TensorBoardHandler("runs/exp"))
        log.info("", extra={"tag": "late", "value": 1.0, "step": 0})
        """,
    )
    assert 0 == done.returncode, done.stderr
    assert "" == done.stderr
    assert [(0, 1.0), (9, 7.0)] == read_run(tmp_path / "runs/exp").scalars["late"]
    assert [(0, 1.0)] == read_run(tmp_path / "runs/other").scalars["other"]


@pytest.mark.parametrize("how", ["logging.shutdown()", "dictconfig"])
def test_shutdown_never_hangs_on_a_stuck_disk(tmp_path: Path, how: str) -> None:
    """logging.shutdown() or a dictConfig re-run with a stuck disk returns after timeout_secs."""
    action = (
        "logging.shutdown()"
        if how == "logging.shutdown()"
        else 'logging.config.dictConfig({"version": 1})'
    )
    done = run_script(
        tmp_path,
        f"""
        import logging, logging.config, os, time, tblog
        log = logging.getLogger("stuck"); log.setLevel(logging.INFO)
        log.addHandler(tblog.TensorBoardHandler("runs/exp", timeout_secs=1.0))
        os.write = lambda fd, data: time.sleep(3600)  # the disk never answers
        log.info("", extra={{"tag": "x", "value": 1.0, "step": 0}})
        start = time.monotonic()
        {action}
        print(round(time.monotonic() - start, 1), flush=True)
        os._exit(0)
        """,
        timeout=60,
    )
    assert 0 == done.returncode, done.stderr
    assert float(done.stdout) < 5


# ---- setup is all or nothing ------------------------------------------------------------------


def test_a_failing_setup_leaves_nothing_and_keeps_the_previous_one(tmp_path: Path) -> None:
    """setup(flush_secs=0) or a bad text_tag: ValueError, no thread, no file, first run kept."""
    first = tblog.setup("first", runs_root=tmp_path / "runs", log_root=tmp_path, console=False)
    threads = threading.active_count()
    files = sorted(p.name for p in tmp_path.rglob("*"))
    for bad in ({"flush_secs": 0}, {"text_tag": "{nope}"}, {"level": "LOUD"}, {"fmt": "%(x"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            tblog.setup("second", runs_root=tmp_path / "runs", log_root=tmp_path, **bad)
        assert threads == threading.active_count()
        assert files == sorted(p.name for p in tmp_path.rglob("*"))
        assert tblog.get_root_logger() is first
    logging.getLogger("kept").info("", extra={"tag": "x", "value": 1.0, "step": 0})
    first.close()
    assert first.run_path is not None
    assert [(0, 1.0)] == read_run(first.run_path).scalars["x"]


def test_setups_in_the_same_second_never_share_a_run(tmp_path: Path) -> None:
    """Four processes and a quick sweep call setup("exp") at once: each gets its own run."""
    start = time.time() + 2.0
    body = f"""
        import logging, time, tblog
        time.sleep(max(0.0, {start} - time.time()))
        with tblog.setup("exp", runs_root="runs", log_root="logs", console=False) as run:
            logging.getLogger("p").info("", extra={{"tag": "one", "value": 1.0, "step": 0}})
        print(run.run_path)
        """
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    procs = [
        subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE)
        for _ in range(4)
    ]
    outs = [proc.communicate(timeout=120)[0].decode().strip() for proc in procs]
    assert all(0 == proc.returncode for proc in procs)
    sweep = []
    for _ in range(3):
        with tblog.setup("exp", runs_root=tmp_path / "runs", log_root=tmp_path / "logs") as run:
            logging.getLogger("p").info("", extra={"tag": "one", "value": 1.0, "step": 0})
        sweep.append(str(run.run_path))
    paths = outs + sweep
    assert len(set(paths)) == 7
    assert 7 == len(list((tmp_path / "logs").glob("exp_*.log")))
    for path in paths:
        assert [(0, 1.0)] == read_run(tmp_path / path).scalars["one"]


# ---- a handler that failed to build --------------------------------------------------------


def test_a_handler_that_failed_to_build_never_breaks_logging_shutdown(tmp_path: Path) -> None:
    """TensorBoardHandler(flush_secs=0) raises; shutdown still flushes a MemoryHandler's lines."""
    done = run_script(
        tmp_path,
        """
        import logging, logging.handlers, tblog
        target = logging.FileHandler("out.log")
        memory = logging.handlers.MemoryHandler(capacity=100, target=target)
        log = logging.getLogger("m"); log.setLevel(logging.INFO); log.addHandler(memory)
        try:
            tblog.TensorBoardHandler("runs/exp", flush_secs=0)
        except ValueError as exc:
            print(exc)
            kept = exc  # as dictConfig or a REPL keeps it: its traceback keeps the handler alive
        log.info("buffered line")
        """,
    )
    assert 0 == done.returncode, done.stderr
    assert "flush_secs must be" in done.stdout
    assert "" == done.stderr
    assert "buffered line\n" == (tmp_path / "out.log").read_text()


# ---- the writer thread ---------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_many_threads_in_a_fork_child_start_one_writer(tmp_path: Path) -> None:
    """In a forked child, 16 threads logging at once start exactly one writer thread."""
    done = run_script(
        tmp_path,
        """
        import logging, os, sys, threading, time, warnings, tblog
        warnings.simplefilter("ignore", DeprecationWarning)  # 3.12+: forking with threads
        init = threading.Thread.__init__
        def slow_init(self, *args, **kwargs):  # widen the window in which two could start
            if kwargs.get("name", "").startswith("tblog-writer"):
                time.sleep(0.05)
            init(self, *args, **kwargs)
        threading.Thread.__init__ = slow_init
        log = logging.getLogger("f"); log.setLevel(logging.INFO)
        log.addHandler(tblog.TensorBoardHandler("runs/exp"))
        log.info("", extra={"tag": "parent", "value": 1.0, "step": 0})
        pid = os.fork()
        if pid == 0:
            barrier = threading.Barrier(16)
            def work(n):
                barrier.wait()
                for step in range(200):
                    log.info("", extra={"tag": f"t{n}", "value": 1.0, "step": step})
            threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
            for t in threads: t.start()
            for t in threads: t.join()
            writers = [t for t in threading.enumerate() if t.name.startswith("tblog-writer")]
            print(len(writers), flush=True)
            sys.exit(0)
        os.waitpid(pid, 0)
        print(pid)
        """,
    )
    assert 0 == done.returncode, done.stderr
    writers, pid = done.stdout.split()
    assert "1" == writers
    assert "" == done.stderr
    child = read_run(tmp_path / f"runs/exp/child_{pid}")
    assert all(list(range(200)) == child.steps(f"t{n}") for n in range(16))


def test_a_stalled_disk_costs_the_caller_block_secs_once(logdir: Path) -> None:
    """A full queue on a stuck writer: one call waits block_secs, the next ones drop at once."""
    writer = tblog.RunWriter(logdir, max_queue=100, block_secs=0.5)
    run = writer._live()
    stall = _stall(run)
    for step in range(100):
        writer.add_scalar("x", 1.0, step)
    start = time.monotonic()
    for step in range(100, 110):
        writer.add_scalar("x", 1.0, step)
    spent = time.monotonic() - start
    stall.set()
    assert writer.flush() is False
    assert 10 == writer.stats.dropped
    assert 0.5 <= spent < 2.5  # one wait, not ten (5 s)
    writer.add_scalar("x", 1.0, 110)  # room again: written
    writer.close()
    assert [*range(100), 110] == read_run(logdir).steps("x")


# ---- found by attacking the above ------------------------------------------------------------


def test_options_that_would_break_the_writer_are_refused(logdir: Path) -> None:
    """flush_secs/timeout_secs/upload_secs must be finite: inf killed the writer thread."""
    for option in ("flush_secs", "timeout_secs", "upload_secs"):
        with pytest.raises(ValueError, match=option):
            tblog.RunWriter(logdir, **{option: float("inf")})
    with tblog.RunWriter(logdir, block_secs=float("inf")) as writer:  # wait as long as it takes
        writer.add_scalar("x", 1.0, 0)
    assert [(0, 1.0)] == read_run(logdir).scalars["x"]


def test_a_counted_step_never_passes_int64(
    logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After an explicit step 2**63 - 1, a counted step would show negative: dropped, said."""
    with tblog.RunWriter(logdir) as writer:
        writer.add_scalar("x", 1.0, 2**63 - 1)
        writer.add_scalar("x", 2.0)
        assert writer.flush() is False
    assert [(2**63 - 1, 1.0)] == read_run(logdir).scalars["x"]
    assert 1 == capsys.readouterr().err.count("passed 2**63 - 1")


def test_a_stuck_disk_costs_one_timeout_not_one_per_call(tmp_path: Path) -> None:
    """flush(), then close() and logging.shutdown() of 4 handlers: about timeout_secs in all."""
    done = run_script(
        tmp_path,
        """
        import logging, os, time, tblog
        handlers = [tblog.TensorBoardHandler("runs/exp", timeout_secs=1.0) for _ in range(4)]
        log = logging.getLogger("stuck"); log.setLevel(logging.INFO)
        for handler in handlers:
            log.addHandler(handler)
        os.write = lambda fd, data: time.sleep(3600)  # the disk never answers
        log.info("", extra={"tag": "x", "value": 1.0, "step": 0})
        start = time.monotonic()
        logging.shutdown()
        print(round(time.monotonic() - start, 1), flush=True)
        os._exit(0)
        """,
    )
    assert 0 == done.returncode, done.stderr
    assert float(done.stdout) < 2.5  # one wait of 1 s, not 4 x (flush + close)


def test_shutdown_on_a_stuck_disk_says_what_was_left(tmp_path: Path) -> None:
    """logging.shutdown() on a stuck disk: one line from the flush, one from the close."""
    done = run_script(
        tmp_path,
        """
        import logging, os, time, tblog
        log = logging.getLogger("stuck"); log.setLevel(logging.INFO)
        log.addHandler(tblog.TensorBoardHandler("runs/exp", timeout_secs=0.5))
        log.info("", extra={"tag": "x", "value": 1.0, "step": 0})
        log.handlers[0].flush()  # on disk
        os.write = lambda fd, data: time.sleep(3600)  # the disk stops answering
        for step in range(1, 4):
            log.info("", extra={"tag": "x", "value": 1.0, "step": step})
        logging.shutdown()
        os._exit(0)
        """,
    )
    assert 0 == done.returncode, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("tblog:")]
    run = os.path.realpath(tmp_path / "runs" / "exp")
    flushed = f"tblog: flush of {run} gave up after 0.5s: the writer is stuck in a write; "
    closed = f"tblog: gave up waiting for the writer of {run}, stuck in a write since an earlier "
    assert [
        flushed + "points not written yet: 3",
        closed + "flush; queued points not written: 3",
    ] == lines
    assert [(0, 1.0)] == read_run(tmp_path / "runs" / "exp").scalars["x"]


def test_flush_during_another_threads_close_waits_for_it(logdir: Path) -> None:
    """A flush racing a close of the same run returns once that close has written it all."""
    writer = tblog.RunWriter(logdir)
    other = tblog.RunWriter(logdir)
    run = writer._live()
    stall = _stall(run)
    for step in range(1000):
        writer.add_scalar("x", float(step), step)
    closing = threading.Thread(target=run.close)  # the engine's close, as the last release does
    closing.start()
    until(lambda: run.closed, "the close")
    threading.Timer(0.3, stall.set).start()
    assert other.flush(timeout=10) is True
    assert 1000 == run.written  # not before the close wrote every point
    closing.join()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_that_configures_logging_again_writes_its_own_sub_run(tmp_path: Path) -> None:
    """DictConfig run again in a forked child: its handler writes child_<pid>, not the parent's."""
    done = run_script(
        tmp_path,
        """
        import logging, logging.config, os, sys, warnings
        warnings.simplefilter("ignore", DeprecationWarning)
        config = {"version": 1, "disable_existing_loggers": False,
                  "handlers": {"tb": {"class": "tblog.TensorBoardHandler", "logdir": "runs/exp"}},
                  "root": {"handlers": ["tb"], "level": "INFO"}}
        logging.config.dictConfig(config)
        log = logging.getLogger("p")
        log.info("", extra={"tag": "x", "value": 1.0, "step": 0})
        pid = os.fork()
        if pid == 0:
            logging.config.dictConfig(config)
            log.info("", extra={"tag": "x", "value": -1.0, "step": 1})
            sys.exit(0)
        os.waitpid(pid, 0)
        print(pid)
        """,
    )
    assert 0 == done.returncode, done.stderr
    pid = done.stdout.strip()
    assert 1 == len(event_files(tmp_path / "runs/exp"))
    assert [(0, 1.0)] == read_run(tmp_path / "runs/exp").scalars["x"]
    assert [(1, -1.0)] == read_run(tmp_path / f"runs/exp/child_{pid}").scalars["x"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_fork_during_close_leaves_the_child_a_working_setup(tmp_path: Path) -> None:
    """A fork while another thread is inside tblog.close(): the child's setup() never hangs."""
    done = run_script(
        tmp_path,
        """
        import os, sys, threading, time, warnings, tblog
        from tblog._facade import ACTIVE
        warnings.simplefilter("ignore", DeprecationWarning)
        ACTIVE.lock.acquire()  # as a thread inside close() holds it at the moment of the fork
        pid = os.fork()
        if pid == 0:
            with tblog.setup("child", runs_root="runs", log_root="logs", console=False) as run:
                run.scalar("x", 1.0, 0)
            os._exit(0)
        ACTIVE.lock.release()
        _, status = os.waitpid(pid, 0)
        print(status)
        """,
        timeout=60,
    )
    assert 0 == done.returncode, done.stderr
    assert "0" == done.stdout.strip()


def test_a_failing_setup_removes_the_directories_it_made(tmp_path: Path) -> None:
    """A runs_root under a regular file: SetupError, and the new log_root is gone again."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(tblog.SetupError):
        tblog.setup("x", log_root=tmp_path / "new" / "logs", runs_root=blocker / "runs")
    assert not (tmp_path / "new").exists()


def test_a_second_close_of_one_writer_waits_for_the_first(logdir: Path) -> None:
    """Two threads closing the same RunWriter: neither returns before the points are written."""
    writer = tblog.RunWriter(logdir)
    run = writer._live()
    stall = _stall(run)
    for step in range(1000):
        writer.add_scalar("x", float(step), step)
    first = threading.Thread(target=writer.close)
    first.start()
    until(lambda: run.closed, "the close")
    threading.Timer(0.3, stall.set).start()
    writer.close()
    assert 1000 == run.written
    first.join()
