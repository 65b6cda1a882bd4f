"""The RootLogger facade: setup/close, helpers, restore with purge, ranks, SummaryWriter parity."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from privileges import drop_permission_overrides
from tbread import event_files, read_run

import tblog


def _setup(tmp_path: Path, name: str = "resnet50", **kwargs: object) -> tblog.RootLogger:
    return tblog.setup(
        name,
        log_root=tmp_path / "logs",
        runs_root=tmp_path / "runs",
        console=False,
        **kwargs,  # type: ignore[arg-type]
    )


def test_issue_example_file_log_and_run_share_setup_and_teardown(tmp_path: Path) -> None:
    """The issue's example: file lines, scalars, a timer and hparams in one run."""
    root = logging.getLogger()
    before = (list(root.handlers), root.level)
    with _setup(tmp_path) as run:
        assert tblog.is_active()
        assert run is tblog.get_root_logger()
        logging.getLogger("data").info("loaded")
        logging.getLogger("train").info("step", extra={"tag": "loss", "value": 0.3, "step": 1})
        run.scalars({"acc": 0.9, "f1": 0.8}, step=1)
        with run.timer("time/epoch"):
            time.sleep(0.01)
        run.hparams({"lr": 1e-3, "bs": 64}, {"hparam/acc": 0.9})
        run.info("done with %s", "epoch")
    assert not tblog.is_active()
    assert before == (list(root.handlers), root.level)

    assert run.log_file is not None
    assert run.run_path is not None
    assert run.log_file.parent == tmp_path / "logs"
    assert run.run_path.parent == tmp_path / "runs"
    assert run.log_file.stem == run.run_path.name
    assert run.run_path.name.startswith("resnet50_")
    lines = run.log_file.read_text().splitlines()
    assert ["data: loaded", "train: step", "root: done with epoch"] == [
        line.split("  ", 1)[-1].split(" ", 1)[-1].strip() for line in lines
    ]
    assert all(" INFO " in line for line in lines)

    data = read_run(run.run_path)
    assert [(1, pytest.approx(0.3))] == data.scalars["loss"]
    assert [(1, pytest.approx(0.9))] == data.scalars["acc"]
    assert [(1, pytest.approx(0.8))] == data.scalars["f1"]
    assert 0.01 <= data.values("time/epoch")[0] < 5
    assert "hparam/acc" in data.scalars
    assert {
        "_hparams_/experiment",
        "_hparams_/session_start_info",
        "_hparams_/session_end_info",
    } == (set(data.plugins["hparams"]))
    assert ["```\nloaded\n```", "```\ndone with epoch\n```"] == [
        t for _, t in data.texts["logs/INFO"]
    ]
    assert [str(run.run_path)] == [
        os.path.dirname(f) for f in event_files(tmp_path, recursive=True)
    ]


def test_file_log_line_points_at_the_caller(tmp_path: Path) -> None:
    """Facade logging methods keep the caller's file and line (stacklevel)."""
    with _setup(tmp_path, fmt="%(filename)s:%(funcName)s %(message)s") as run:
        run.warning("here")
    assert run.log_file is not None
    assert "test_root.py:test_file_log_line_points_at_the_caller here" in run.log_file.read_text()


def test_second_setup_closes_the_first_no_duplicate_lines(tmp_path: Path) -> None:
    """A second setup replaces the first: each line is written once, to the new file."""
    first = _setup(tmp_path, "a")
    second = _setup(tmp_path, "b")
    logging.getLogger("x").warning("once")
    tblog.close()
    assert first.log_file is not None
    assert second.log_file is not None
    assert "once" not in first.log_file.read_text()
    assert 1 == second.log_file.read_text().count("once")
    tblog.close()  # idempotent


def test_console_is_not_duplicated(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """console=True adds no second stderr printer when the root logger already has one."""
    root = logging.getLogger()
    existing = logging.StreamHandler(sys.stderr)
    root.addHandler(existing)
    try:
        with tblog.setup("c", log_root=tmp_path / "l", runs_root=tmp_path / "r"):
            logging.getLogger("y").warning("printed once")
        assert 1 == capsys.readouterr().err.count("printed once")
    finally:
        root.removeHandler(existing)


def test_helpers_before_setup_are_silent_no_ops(capsys: pytest.CaptureFixture[str]) -> None:
    """get_root_logger() before setup: helpers do nothing, logging still works."""
    facade = tblog.get_root_logger()
    assert not facade.active
    facade.scalar("x", 1.0)
    facade.scalars({"a": 1})
    facade.text("t", "x")
    with facade.timer("t"):
        pass
    facade.hparams({"lr": 1})
    tblog.flush()
    tblog.close()
    assert "" == capsys.readouterr().err
    assert facade.writer is None


def test_helpers_given_bad_values_never_raise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad tags, steps, values: one stderr line each, nothing raised, the rest written."""
    with _setup(tmp_path) as run:
        run.scalar("", 1.0)
        run.scalar("x", "not a number")
        run.scalar("x", 1.0, step=-5)
        run.scalars({"ok": 1.0, "bad": object()}, step=2)
        run.scalars("nope")  # type: ignore[arg-type]
        run.histogram("h", object())
        run.table("t", ["a", "b"], [[1]])
        run.image("img", np.zeros(3))
        run.hparams({"lr": 0.1}, {"hparam/x": 1.0})
        run.hparams({"lr": 0.2})
        run.scalar("x", 2.0, step=3)
    err = capsys.readouterr().err.splitlines()
    assert 9 == len(err), err
    assert all(line.startswith("tblog: ") for line in err)
    assert any("hparams were already written" in line for line in err)
    assert any("row 0 has 1 cells, the table has 2 columns" in line for line in err)
    # The image's shape is checked at the call, as the peers check it.
    assert any("image()" in line and "does not fit an image" in line for line in err)
    assert run.run_path is not None
    data = read_run(run.run_path)
    assert {"ok": [(2, 1.0)], "x": [(3, 2.0)], "hparam/x": [(0, 1.0)]} == data.scalars


def test_table_text_histogram_and_images(tmp_path: Path) -> None:
    """table() is a Markdown table; histogram and images land in the same run."""
    with _setup(tmp_path) as run:
        run.table("results", ["model", "acc"], [["a|b", 0.9], ["c", 0.8]], step=4)
        run.text("notes", "*hi*", step=1)
        run.histogram("w", np.arange(100.0), step=2)
        run.image("one", np.zeros((3, 6, 5), dtype=np.uint8), step=0)
        run.images("grid", np.zeros((4, 3, 6, 5)), step=0)
    assert run.run_path is not None
    data = read_run(run.run_path)
    assert [(4, "| model | acc |\n|---|---|\n| a\\|b | 0.9 |\n| c | 0.8 |")] == data.texts[
        "results"
    ]
    assert [(1, "*hi*")] == data.texts["notes"]
    assert [(2, 100.0)] == data.histograms["w"]
    assert {"one", "grid"} == set(data.images)


def test_figure_needs_matplotlib_and_renders(tmp_path: Path) -> None:
    """figure() renders a matplotlib figure as an image of the run."""
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(2, 1), dpi=50)
    plt.plot([0, 1], [1, 0])
    with _setup(tmp_path) as run:
        run.figure("curve", fig, step=3)
    assert run.run_path is not None
    assert [(3, 100, 50)] == read_run(run.run_path).images["curve"]


def test_missing_optional_dependency_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A helper whose optional package is missing says which extra installs it."""
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with _setup(tmp_path) as run, pytest.raises(ModuleNotFoundError, match=r"tblog\[figure\]"):
        run.figure("f", object())
    # torch and every graph module that holds it (tensorboardX's, torch's own) count as missing,
    # so the check holds after other tests have imported them with torch present.
    for name in [n for n in sys.modules if n == "torch" or n.startswith("torch.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "tensorboardX.pytorch_graph", raising=False)
    writer = tblog.get_writer(tmp_path / "g")
    with pytest.raises(ModuleNotFoundError, match=r"tblog\[graph\]"):
        writer.add_graph(object())
    writer.close()


def test_writer_offers_every_summarywriter_method_on_the_same_file(tmp_path: Path) -> None:
    """RootLogger.writer: tensorboardX's add_* methods write into the run's one event file."""
    with _setup(tmp_path) as run:
        writer = run.writer
        assert writer is not None
        writer.add_pr_curve("pr", np.array([0, 1, 1, 0]), np.array([0.1, 0.9, 0.8, 0.3]), 1)
        writer.add_custom_scalars({"c": {"loss": ["Multiline", ["loss/a", "loss/b"]]}})
        writer.add_mesh("mesh", np.random.default_rng(0).random((1, 4, 3)), global_step=2)
        writer.add_scalar("s", 1.0, 0)
    assert run.run_path is not None
    assert 1 == len(event_files(run.run_path))
    plugins = read_run(run.run_path).plugins
    assert {"pr_curves", "custom_scalars", "mesh", "scalars"} <= set(plugins)
    assert ["pr"] == plugins["pr_curves"]


def test_time_series_scalars_use_microseconds_since_setup(tmp_path: Path) -> None:
    """scalar_ts/duration_ts: the step is the time since setup in microseconds."""
    with _setup(tmp_path) as run:
        start = time.monotonic_ns()
        time.sleep(0.02)
        run.scalar_ts("queue", 5)
        run.duration_ts("load", start)
    assert run.run_path is not None
    data = read_run(run.run_path)
    (step, value) = data.scalars["queue"][0]
    assert 20_000 <= step < 5_000_000
    assert 5.0 == value
    (load_step, seconds) = data.scalars["load"][0]
    assert load_step < step
    assert 0.02 <= seconds < 5


def test_timer_as_decorator(tmp_path: Path) -> None:
    """timer() decorates a function; each call logs its seconds at the next step."""
    with _setup(tmp_path) as run:

        @run.timer("time/call")
        def work(x: int) -> int:
            return x * 2

        assert [2, 4] == [work(1), work(2)]
    assert run.run_path is not None
    assert [0, 1] == read_run(run.run_path).steps("time/call")


def test_restore_appends_and_purges_stale_points(tmp_path: Path) -> None:
    """restore(purge_step=): the file log is appended; no old point at or after it is shown."""
    with _setup(tmp_path) as run:
        for step in range(10):
            run.scalar("loss", float(step), step)
            run.scalar("acc", float(step), step)
        run.info("first life")
    log_file, run_path = run.log_file, run.run_path
    assert log_file is not None
    assert run_path is not None

    with tblog.restore(log_file=log_file, run_path=run_path, purge_step=5, console=False) as again:
        for step in range(5, 8):
            again.scalar("loss", 100.0 + step, step)
        again.info("second life")
    data = read_run(run_path)
    assert [(s, float(s)) for s in range(5)] + [(s, 100.0 + s) for s in range(5, 8)] == (
        data.scalars["loss"]
    )
    assert [(s, float(s)) for s in range(5)] == data.scalars["acc"]  # not logged again: purged
    # A tag whose last step is below purge_step continues after it: no old line is shadowed.
    assert [0, 1] == data.steps("logs/INFO")
    text = log_file.read_text()
    assert text.index("first life") < text.index("second life")
    files = event_files(run_path)
    assert 2 == len(files)
    assert files == sorted(files)


def test_restore_without_purge_continues_every_tags_steps(tmp_path: Path) -> None:
    """restore() without purge_step: counted steps (and log lines) continue after the old ones."""
    with _setup(tmp_path) as run:
        run.info("a")
        run.info("b")
        run.scalar("x", 1.0)
    assert run.log_file is not None
    assert run.run_path is not None
    with tblog.restore(log_file=run.log_file, run_path=run.run_path, console=False) as again:
        again.info("c")
        again.scalar("x", 2.0)
    data = read_run(run.run_path)
    assert [0, 1, 2] == data.steps("logs/INFO")
    assert [(0, 1.0), (1, 2.0)] == data.scalars["x"]


def test_unusable_roots_fail_at_setup_naming_the_path(tmp_path: Path) -> None:
    """A root under a regular file fails at setup with SetupError naming the path."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(tblog.SetupError, match="log_root") as info:
        tblog.setup("x", log_root=blocker / "logs", runs_root=tmp_path / "runs", console=False)
    assert str(blocker / "logs") in str(info.value)
    with pytest.raises(tblog.SetupError, match="runs_root") as info:
        tblog.setup("x", log_root=tmp_path / "logs", runs_root=blocker / "runs", console=False)
    assert str(blocker / "runs") in str(info.value)
    assert not tblog.is_active()


def test_unwritable_root_fails_at_setup(tmp_path: Path) -> None:
    """A log_root without write permission fails at setup (as root too: without overrides)."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    script = textwrap.dedent(
        f"""
        import tblog
        try:
            tblog.setup("x", log_root={str(locked)!r}, runs_root="runs", console=False)
        except tblog.SetupError as exc:
            print(exc)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, check=False, preexec_fn=drop_permission_overrides,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr
    assert "not writable" in result.stdout
    assert str(locked) in result.stdout
    assert [] == os.listdir(locked)


def _rank_script(tmp_path: Path, per_rank: bool) -> str:
    return textwrap.dedent(
        f"""
        import logging, tblog
        run = tblog.setup("ddp", log_root="logs", runs_root="runs", log_name="job",
                          console=False, per_rank={per_rank})
        logging.getLogger("w").info("rank %d", run.rank)
        run.scalar("loss", float(run.rank), 0)
        print(run.rank, run.run_path)
        tblog.close()
        """
    )


@pytest.mark.parametrize("variable", ["RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK"])
def test_only_rank_zero_writes_events_by_default(tmp_path: Path, variable: str) -> None:
    """Ranks from the environment: rank 0 writes the run, others only their file log."""
    script = tmp_path / "rank.py"
    script.write_text(_rank_script(tmp_path, per_rank=False))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "SLURM_PROCID")}
    for rank in (0, 1, 2):
        out = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env={**env, variable: str(rank)},
            capture_output=True,
            text=True,
            check=True,
        )
        assert out.stdout.startswith(f"{rank} ")
    assert ["job.log", "job.rank1.log", "job.rank2.log"] == sorted(os.listdir(tmp_path / "logs"))
    assert [str(tmp_path / "runs/job")] == [
        os.path.dirname(f) for f in event_files(tmp_path / "runs", recursive=True)
    ]
    assert {"loss": [(0, 0.0)]} == read_run(tmp_path / "runs/job").scalars
    assert "rank 2" in (tmp_path / "logs/job.rank2.log").read_text()


def test_per_rank_gives_each_rank_a_sub_run(tmp_path: Path) -> None:
    """per_rank=True: rank r writes runs/<name>/rank_<r>."""
    script = tmp_path / "rank.py"
    script.write_text(_rank_script(tmp_path, per_rank=True))
    for rank in (0, 1):
        subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            env={**os.environ, "RANK": str(rank)},
            check=True,
            capture_output=True,
        )
    for rank in (0, 1):
        assert {"loss": [(0, float(rank))]} == read_run(tmp_path / f"runs/job/rank_{rank}").scalars


def test_restore_purges_once_even_if_the_file_is_replaced(tmp_path: Path) -> None:
    """A fault that replaces the event file after a restore does not purge the new points."""
    with _setup(tmp_path) as run:
        for step in range(10):
            run.scalar("loss", float(step), step)
    assert run.log_file is not None
    assert run.run_path is not None
    again = tblog.restore(log_file=run.log_file, run_path=run.run_path, purge_step=5,
                          console=False)  # fmt: skip
    for step in range(5, 8):
        again.scalar("loss", -float(step), step)
    again.flush()
    writer = again.writer
    assert writer is not None
    writer._live()._sink._close_file()  # type: ignore[attr-defined]  # as after a deleted file
    again.scalar("loss", -8.0, 8)
    again.close()
    assert [(s, float(s)) for s in range(5)] + [(s, -float(s)) for s in range(5, 9)] == (
        read_run(run.run_path).scalars["loss"]
    )


def test_restore_into_a_run_already_open_in_this_process(tmp_path: Path) -> None:
    """restore() while this process has the run open (no file yet): the purge still applies."""
    with tblog.get_writer(tmp_path / "runs" / "job") as first_life:
        for step in range(10):
            first_life.add_scalar("loss", float(step), step)
    writer = tblog.get_writer(tmp_path / "runs" / "job")  # open again, nothing written yet
    with tblog.restore(log_file=tmp_path / "job.log", run_path=tmp_path / "runs" / "job",
                       purge_step=4, console=False) as again:  # fmt: skip
        again.scalar("loss", -4.0, 4)
    writer.close()
    assert [(s, float(s)) for s in range(4)] + [(4, -4.0)] == (
        read_run(tmp_path / "runs" / "job").scalars["loss"]
    )


def test_a_restores_purge_events_are_not_counted_as_points(tmp_path: Path) -> None:
    """stats.written after a restore that relogs an old step counts only the points shown."""
    with _setup(tmp_path) as run:
        for step in range(10):
            run.scalar("loss", float(step), step)
    assert run.log_file is not None
    assert run.run_path is not None
    with tblog.restore(log_file=run.log_file, run_path=run.run_path, purge_step=5,
                       console=False) as again:  # fmt: skip
        for step in range(3, 7):  # a loop restarting below the purge step: a START at 3
            again.scalar("loss", -float(step), step)
        again.flush()
        writer = again.writer
        assert writer is not None
        stats = writer.stats
    assert (4, 0, 0) == (stats.written, stats.dropped, stats.queued)
    assert [(s, float(s)) for s in range(3)] + [(s, -float(s)) for s in range(3, 7)] == (
        read_run(run.run_path).scalars["loss"]
    )


def test_a_restore_into_an_open_run_counts_only_points(tmp_path: Path) -> None:
    """The purge events queued into a run already open are not counted as written points."""
    run_path = tmp_path / "runs" / "job"
    with tblog.get_writer(run_path) as first_life:
        for step in range(10):
            first_life.add_scalar("loss", float(step), step)
    writer = tblog.get_writer(run_path)  # open again, nothing written yet
    with tblog.restore(log_file=tmp_path / "job.log", run_path=run_path, purge_step=4,
                       console=False) as again:  # fmt: skip
        again.scalar("loss", -4.0, 4)
        again.flush()
        stats = writer.stats
    writer.close()
    assert (1, 0) == (stats.written, stats.queued)
    assert [(s, float(s)) for s in range(4)] + [(4, -4.0)] == read_run(run_path).scalars["loss"]


def test_a_root_logger_taken_before_setup_acts_on_the_active_run(tmp_path: Path) -> None:
    """get_root_logger() kept from import time writes into whichever run is active later."""
    early = tblog.get_root_logger()
    early.scalar("ignored", 1.0, 0)  # no run yet: a silent no-op
    for name in ("one", "two"):
        with tblog.setup(name, runs_root=tmp_path / "runs", log_root=tmp_path, console=False):
            early.scalar("loss", 0.5, 3)
            early.hparams({"lr": 0.1}, {"hparam/loss": 0.5})
            assert early.run_path == tblog.get_root_logger().run_path
        assert early.run_path is None
    runs = sorted((tmp_path / "runs").iterdir())
    assert 2 == len(runs)
    for run in runs:
        data = read_run(run)
        assert [(3, 0.5)] == data.scalars["loss"]
        assert "hparams" in data.plugins


def test_a_taken_name_gets_the_next_number_and_leaves_nothing_behind(tmp_path: Path) -> None:
    """A run directory or a file log already there makes setup take ``_2``, ``_3``, ...

    The claim that fails leaves no file log or run directory of its own. (Tried again when
    the clock's second turns between naming and setup, which changes the name.)
    """
    for attempt in range(3):
        root = tmp_path / str(attempt)
        (root / "logs").mkdir(parents=True)
        (root / "runs").mkdir()
        name = tblog.get_default_log_name("x")
        (root / "runs" / name).mkdir()  # the run directory is taken
        (root / "logs" / f"{name}_2.log").write_text("someone else's\n")  # and the next log
        before = set(os.listdir(root / "logs")) | set(os.listdir(root / "runs"))
        run = _setup(root, "x")
        run.scalar("loss", 1.5, 3)
        tblog.close()
        if tblog.get_default_log_name("x") == name:
            break
    assert run.run_path is not None
    assert run.log_file is not None
    assert f"{name}_3" == run.run_path.name
    assert f"{name}_3.log" == run.log_file.name
    after = set(os.listdir(root / "logs")) | set(os.listdir(root / "runs"))
    assert {f"{name}_3", f"{name}_3.log"} == after - before
    assert [(3, 1.5)] == read_run(run.run_path).scalars["loss"]
