"""RunWriter and the shared run: SummaryWriter-style methods, and the traps of today's writers."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from scripts import run_script
from tbread import event_files, read_run
from waiting import until

import tblog
from tblog import _registry, _run


def test_add_methods_write_into_one_run(logdir: Path) -> None:
    """add_scalar/_scalars/_text/_histogram/_image/_hparams all land in the same run directory."""
    with tblog.get_writer(logdir) as writer:
        writer.add_scalar("loss", 0.5, 1)
        writer.add_scalars("acc", {"train": 0.9, "val": 0.8}, 1)
        writer.add_text("notes", "**bold**", 1)
        writer.add_histogram("w", np.array([1.0, 2.0, np.nan, np.inf]), 1)
        writer.add_image("img", np.zeros((3, 4, 5), dtype=np.uint8), 1)
        writer.add_hparams({"lr": 0.1, "opt": "adam"}, {"hparam/acc": 0.7})
    run = read_run(logdir)
    assert {
        "loss": [(1, 0.5)],
        "acc/train": [(1, pytest.approx(0.9))],
        "acc/val": [(1, pytest.approx(0.8))],
        "hparam/acc": [(0, pytest.approx(0.7))],
    } == (run.scalars)
    assert run.texts == {"notes": [(1, "**bold**")]}
    assert run.histograms == {"w": [(1, 2.0)]}  # NaN and inf are left out of a histogram
    assert run.images == {"img": [(1, 5, 4)]}
    assert {
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
    } == set(run.plugins["hparams"])
    assert [str(logdir)] == [os.path.dirname(f) for f in event_files(logdir, recursive=True)]


def test_missing_global_step_counts_per_tag_and_follows_the_context(logdir: Path) -> None:
    """A missing ``global_step`` is resolved like a record's step."""
    writer = tblog.get_writer(logdir)
    writer.add_scalar("a", 1)
    writer.add_scalar("a", 2)
    with tblog.step(7):
        writer.add_scalar("a", 3)
        writer.add_scalar("b", 4)
    writer.close()
    run = read_run(logdir)
    assert (run.steps("a"), run.steps("b")) == ([0, 1, 7], [7])


def test_bad_arguments_raise_value_error_naming_them(logdir: Path) -> None:
    """Direct calls validate at the boundary and name the bad argument."""
    writer = tblog.get_writer(logdir)
    with pytest.raises(ValueError, match="tag must be a non-empty str"):
        writer.add_scalar("", 1.0)
    with pytest.raises(ValueError, match="step must be an int >= 0"):
        writer.add_scalar("x", 1.0, -3)
    with pytest.raises(ValueError, match="value is not a scalar number"):
        writer.add_scalar("x", "abc")
    with pytest.raises(ValueError, match="step must be an int >= 0"):
        tblog.step(-1)
    writer.close()
    with pytest.raises(tblog.WriterClosedError, match="closed"):
        writer.add_scalar("x", 1.0)


def test_wall_time_is_real(logdir: Path) -> None:
    """Points carry the time they were logged, never 0, unless a walltime is given."""
    before = time.time()
    writer = tblog.get_writer(logdir)
    writer.add_scalar("now", 1.0, 0)
    writer.add_scalar("then", 1.0, 0, walltime=1_000_000.0)
    writer.close()
    run = read_run(logdir)
    assert sorted(run.wall_times)[0] == 1_000_000.0
    assert before <= sorted(run.wall_times)[1] <= time.time()


def test_flush_returns_only_when_the_data_is_on_disk(logdir: Path) -> None:
    """Trap: flush() returning before the queue is written. Ours waits for the writer thread."""
    writer = tblog.get_writer(logdir)
    run = writer._run
    assert run is not None
    run.flush_secs = 3600.0  # no periodic write can help
    for step in range(50_000):
        writer.add_scalar("s", float(step), step)
    assert writer.flush() is True
    assert len(read_run(logdir).scalars["s"]) == 50_000
    assert writer.stats.queued == 0
    writer.close()


def test_periodic_flush_writes_without_being_asked(logdir: Path) -> None:
    """Points reach disk within ``flush_secs`` with no flush() or close()."""
    writer = tblog.RunWriter(logdir, flush_secs=0.2)
    writer.add_scalar("x", 1.0, 0)
    until(
        lambda: event_files(logdir) and read_run(logdir).scalars == {"x": [(0, 1.0)]},
        "the point reaching the disk",
        timeout=5,
    )
    writer.close()


def test_two_writers_in_the_same_second_keep_both_files_in_order(logdir: Path) -> None:
    """Trap: two writers created in the same second truncating each other's file."""
    first = tblog.get_writer(logdir)
    first.add_scalar("x", 1.0, 0)
    first.close()
    second = tblog.get_writer(logdir)
    second.add_scalar("x", 2.0, 1)
    second.close()
    files = event_files(logdir)
    assert len(files) == 2
    assert files == sorted(files)
    assert read_run(logdir).scalars["x"] == [(0, 1.0), (1, 2.0)]


def test_a_new_file_sorts_after_every_existing_one(logdir: Path) -> None:
    """Files are read in name order: a new file must sort last even against a later name."""
    logdir.mkdir(parents=True)
    future = logdir / "events.out.tfevents.9999999999.zzz.99999.99"
    future.write_bytes(b"")
    writer = tblog.get_writer(logdir)
    writer.add_scalar("x", 1.0, 0)
    writer.close()
    files = event_files(logdir)
    assert str(future) == files[0]
    assert len(files) == 2


def test_an_io_error_neither_kills_the_writer_nor_blocks_callers(
    logdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Trap: a writer thread that dies on an I/O error and then blocks every caller."""
    writer = tblog.get_writer(logdir)
    writer.add_scalar("x", 0.0, 0)
    assert writer.flush()
    real_write = os.write
    failing = threading.Event()
    failing.set()

    def flaky_write(fd: int, data: bytes) -> int:
        if failing.is_set():
            # Half a batch reaches the disk, then the disk is full: a torn record.
            real_write(fd, bytes(data)[: len(data) // 2])
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(_run.os, "write", flaky_write)
    writer.add_scalar("x", 1.0, 1)
    writer.add_scalar("x", 2.0, 2)
    assert writer.flush(timeout=5) is False  # returns, does not hang, says points were dropped
    failing.clear()
    writer.add_scalar("x", 3.0, 3)
    assert writer.flush(timeout=5) is True
    stats = writer.stats
    writer.close()

    err = capsys.readouterr().err
    assert "No space left on device" in err
    assert "works again" in err
    assert (stats.written, stats.dropped) == (2, 2)
    # The torn half-record was cut away: TensorBoard reads past the failure.
    assert read_run(logdir).scalars["x"] == [(0, 0.0), (3, 3.0)]


def test_an_uncreatable_run_directory_is_reported_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A run directory under a regular file: one message, points counted as dropped."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    writer = tblog.get_writer(blocker / "run")
    for step in range(3):
        writer.add_scalar("x", 1.0, step)
        writer.flush()
    assert writer.stats.dropped == 3
    writer.close()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1
    assert "cannot create an event file in" in err[0]


def test_a_deleted_event_file_is_noticed_and_replaced(logdir: Path) -> None:
    """Writes into a removed file would vanish silently: a new file takes over."""
    writer = tblog.RunWriter(logdir, flush_secs=0.05)
    writer.add_scalar("x", 1.0, 0)
    writer.flush()
    for path in event_files(logdir):
        os.remove(path)
    os.rmdir(logdir)
    # A periodic pass notices the removal and lets the file go.
    until(lambda: writer.file_path is None, "letting the removed file go")
    writer.add_scalar("x", 2.0, 1)
    writer.close()
    assert read_run(logdir).scalars["x"] == [(1, 2.0)]


def test_points_after_a_run_was_closed_are_counted_not_lost_silently(
    logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """After the run is closed (close_all), a point is counted as dropped, said once."""
    writer = tblog.get_writer(logdir)
    writer.add_scalar("x", 1.0, 0)
    _registry.close_all()
    writer.add_scalar("x", 2.0, 1)
    writer.add_scalars("m", {"a": 1, "b": 2}, 1)
    assert 3 == writer.stats.dropped
    assert 1 == capsys.readouterr().err.count("logged after")
    assert [(0, 1.0)] == read_run(logdir).scalars["x"]
    writer.close()


def test_import_tblog_stays_light() -> None:
    """``import tblog`` imports none of tensorboardX, numpy, structlog, torch."""
    code = (
        "import sys, tblog; "
        "print(sorted(m for m in ('tensorboardX', 'numpy', 'structlog', 'torch') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_exit_without_close_loses_nothing_with_one_exit_hook(tmp_path: Path) -> None:
    """Trap: an atexit hook per writer. One hook drains every run before logging.shutdown."""
    result = run_script(
        tmp_path,
        """
        import atexit, logging, tblog
        registered = []
        real = atexit.register
        atexit.register = lambda f, *a, **k: (registered.append(f), real(f, *a, **k))[1]
        for i in range(5):
            log = logging.getLogger(f"l{i}")
            log.addHandler(tblog.TensorBoardHandler(f"runs/r{i % 2}", flush_secs=3600))
            log.setLevel(logging.INFO)
            for step in range(2000):
                log.info("", extra={"tag": f"t{i}", "value": step, "step": step})
        print(sum(str(getattr(f, "__module__", "")).startswith("tblog") for f in registered))
        """,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1"
    r0, r1 = read_run(tmp_path / "runs/r0"), read_run(tmp_path / "runs/r1")
    assert {"t0", "t2", "t4"} == set(r0.scalars)
    assert {"t1", "t3"} == set(r1.scalars)
    assert all(len(v) == 2000 for v in [*r0.scalars.values(), *r1.scalars.values()])
    assert len(event_files(tmp_path / "runs/r0")) == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_writes_to_its_own_sub_run(tmp_path: Path) -> None:
    """After fork the child never writes into the parent's file; both finish, nothing is lost."""
    result = run_script(
        tmp_path,
        """
        import logging, os, tblog
        log = logging.getLogger("train")
        log.setLevel(logging.INFO)
        log.addHandler(tblog.TensorBoardHandler("runs/exp", flush_secs=3600))
        for step in range(100):
            log.info("", extra={"tag": "parent", "value": step, "step": step})
        pid = os.fork()
        if pid == 0:
            for step in range(50):
                log.info("", extra={"tag": "child", "value": step, "step": step})
            logging.shutdown()
            os._exit(0)
        for step in range(100, 200):
            log.info("", extra={"tag": "parent", "value": step, "step": step})
        _, status = os.waitpid(pid, 0)
        print(pid, status)
        """,
    )
    assert result.returncode == 0, result.stderr
    child_pid, status = result.stdout.split()
    assert status == "0"
    parent = read_run(tmp_path / "runs/exp")
    child = read_run(tmp_path / f"runs/exp/child_{child_pid}")
    assert {"parent": list(range(200))} == {t: parent.steps(t) for t in parent.scalars}
    assert {"child": list(range(50))} == {t: child.steps(t) for t in child.scalars}
    assert len(event_files(tmp_path / "runs/exp")) == 1


def test_concurrent_threads_lose_nothing_and_never_duplicate_steps(logdir: Path) -> None:
    """Threads sharing a tag with counted steps get 0..N-1 exactly once, in file order."""
    writer = tblog.get_writer(logdir)
    threads = [
        threading.Thread(target=lambda: [writer.add_scalar("shared", 1.0) for _ in range(2000)])
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    assert list(range(8000)) == read_run(logdir).steps("shared")
