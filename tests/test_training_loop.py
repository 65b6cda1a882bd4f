"""Training loops: checkpoint-resumable runs and the NaN/Inf sentinel."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import math
import os
import pickle
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from s3fixtures import (
    S3Bucket,
    read_s3_run,
    s3_fixture,  # noqa: F401 - the fixture "s3"
    s3_server_fixture,  # noqa: F401 - the fixture "s3_server"
)
from tbread import read_run

import tblog

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Recorder(logging.Handler):
    """Keep the records a logger receives (from any thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the record."""
        self.records.append(record)

    def messages(self) -> list[str]:
        """The messages kept so far, formatted."""
        return [record.getMessage() for record in self.records]


@pytest.fixture
def nan_log() -> Iterator[Recorder]:
    """The records of the ``tblog.nan`` logger during the test."""
    recorder = Recorder()
    logger = logging.getLogger("tblog.nan")
    logger.addHandler(recorder)
    try:
        yield recorder
    finally:
        logger.removeHandler(recorder)


def _setup(tmp_path: Path, **options: Any) -> tblog.RootLogger:
    return tblog.setup(
        "loop", log_root=tmp_path / "logs", runs_root=tmp_path / "runs", log_name="loop",
        console=False, **options,
    )  # fmt: skip


# ---- checkpoint-resumable runs ---------------------------------------------------------------


def _first_life(tmp_path: Path, *, until: int = 25, checkpoint: int = 19) -> dict[str, Any]:
    """Log loss (explicit steps) and lr (counted) up to ``until``; checkpoint after ``checkpoint``.

    Returns the state, as a checkpoint saved with JSON would give it back.
    """
    state: dict[str, Any] = {}
    with _setup(tmp_path) as run:
        run.hparams({"lr": 0.1}, {"hparam/loss": 1.0})
        for step in range(until + 1):
            run.scalar("loss", float(step), step)
            run.scalar("lr", float(step))  # counted: 0, 1, 2, ...
            if step == checkpoint:
                run.info("checkpoint")
                state = run.state_dict(step=step)
        run.info("first life ends")
    return json.loads(json.dumps(state))  # type: ignore[no-any-return]


def test_state_dict_is_a_small_plain_dict(tmp_path: Path) -> None:
    """state_dict: the run's files, name, counters, hparams flag and step; JSON and pickle safe."""
    state = _first_life(tmp_path)
    assert {
        "version": 1,
        "run_name": "loop",
        "log_name": "loop",
        "log_file": str(tmp_path / "logs" / "loop.log"),
        "run_path": str(tmp_path / "runs" / "loop"),
        "log_root": str(tmp_path / "logs"),
        "runs_root": str(tmp_path / "runs"),
        "per_rank": False,
        "rank": 0,
        "step": 19,
        "hparams_written": True,
    } == {k: v for k, v in state.items() if k != "counters"}
    assert {"loss": 20, "lr": 20} == {k: state["counters"][k] for k in ("loss", "lr")}
    assert state == pickle.loads(pickle.dumps(state))


def test_restore_from_a_state_purges_every_point_after_its_step(tmp_path: Path) -> None:
    """A state taken at step 19: TensorBoard shows 0..19 from before, 20.. from the restore."""
    state = _first_life(tmp_path)
    with tblog.restore(state=state, console=False) as run:
        for step in range(20, 30):
            run.scalar("loss", -float(step), step)
            run.scalar("lr", -float(step))  # counted: continues from the checkpoint's 20
        run.info("second life")
    data = read_run(tmp_path / "runs" / "loop")
    expected = [(s, float(s)) for s in range(20)] + [(s, -float(s)) for s in range(20, 30)]
    assert expected == data.scalars["loss"]
    assert expected == data.scalars["lr"]
    log = (tmp_path / "logs" / "loop.log").read_text()
    assert ["checkpoint", "first life ends", "second life"] == [
        line.split(": ", 1)[1] for line in log.splitlines()
    ]


def test_restore_from_a_state_keeps_its_hparams_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A state says hparams were written: a second hparams() after restore is refused."""
    state = _first_life(tmp_path)
    capsys.readouterr()
    with tblog.restore(state=state, console=False) as run:
        run.hparams({"lr": 0.2}, {"hparam/loss": 1.0})
    assert "hparams were already written" in capsys.readouterr().err


def test_purge_step_overrides_the_states_step(tmp_path: Path) -> None:
    """restore(state=..., purge_step=10) purges from step 10 instead of the state's 20."""
    state = _first_life(tmp_path)
    with tblog.restore(state=state, purge_step=10, console=False) as run:
        for step in range(10, 12):
            run.scalar("loss", -float(step), step)
    expected = [(s, float(s)) for s in range(10)] + [(10, -10.0), (11, -11.0)]
    assert expected == read_run(tmp_path / "runs" / "loop").scalars["loss"]


def test_the_states_counters_fill_in_what_the_disk_lost(tmp_path: Path) -> None:
    """A counted tag whose points never reached the disk continues from the state's counter."""
    state = _first_life(tmp_path)
    state["counters"]["never/flushed"] = 7
    with tblog.restore(state=state, console=False) as run:
        run.scalar("never/flushed", 1.0)
    assert [7] == read_run(tmp_path / "runs" / "loop").steps("never/flushed")


def test_one_ranks_state_restores_another_ranks_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rank 0's state (per_rank) restores rank 1's own file log and sub-run on rank 1."""
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        with _setup(tmp_path, per_rank=True) as run:
            for step in range(6):
                run.scalar("loss", float(step), step)
            if rank == 0:
                state = run.state_dict(step=3)
    monkeypatch.setenv("RANK", "1")
    with tblog.restore(state=state, console=False) as run:
        assert tmp_path / "logs" / "loop.rank1.log" == run.log_file
        assert tmp_path / "runs" / "loop" / "rank_1" == run.run_path
        run.scalar("loss", -4.0, 4)
    expected = [(0, 0.0), (1, 1.0), (2, 2.0), (3, 3.0), (4, -4.0)]
    assert expected == read_run(tmp_path / "runs" / "loop" / "rank_1").scalars["loss"]
    assert list(range(6)) == read_run(tmp_path / "runs" / "loop" / "rank_0").steps("loss")


def test_rank_zeros_state_gives_other_ranks_their_file_log_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without per_rank, rank 1 restored from rank 0's state appends to its log, writes no run."""
    with _setup(tmp_path) as run:
        state = run.state_dict(step=0)
    monkeypatch.setenv("RANK", "1")
    with tblog.restore(state=state, console=False) as again:
        again.info("rank 1 is back")
        assert (tmp_path / "logs" / "loop.rank1.log", None) == (again.log_file, again.run_path)
    assert "rank 1 is back" in (tmp_path / "logs" / "loop.rank1.log").read_text()


def test_a_state_without_naming_refuses_another_rank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state of a run continued by restore(log_file=...) names no layout: rank 1 is refused."""
    with tblog.restore(log_file=tmp_path / "a.log", run_path=tmp_path / "a", console=False) as run:
        state = run.state_dict(step=0)
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(ValueError, match="comes from rank 0, this is rank 1"):
        tblog.restore(state=state)
    assert not tblog.is_active()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"state": {"version": 2}}, ValueError, "state must be a RootLogger.state_dict"),
        ({"state": {"version": 1, "step": "3"}}, ValueError, r"state\['step'\] must be a int"),
        ({"state": {}, "log_file": "x.log"}, TypeError, "not both"),
        ({"log_file": "x.log"}, TypeError, "needs log_file= and run_path="),
    ],
)
def test_restore_checks_its_state_first(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    """A bad state, or state= with log_file=, raises naming the problem and installs nothing."""
    with pytest.raises(error, match=match):
        tblog.restore(**kwargs)
    assert not tblog.is_active()


def test_state_dict_needs_a_run_and_a_step(tmp_path: Path) -> None:
    """Before setup: RuntimeError; a bad step: ValueError."""
    with pytest.raises(RuntimeError, match="needs a run"):
        tblog.get_root_logger().state_dict(step=1)
    with _setup(tmp_path) as run, pytest.raises(ValueError, match="step must be an int"):
        run.state_dict(step=-1)


def test_state_dict_refuses_a_step_that_cannot_be_continued(tmp_path: Path) -> None:
    """state_dict(step=2**63 - 1): no later step exists, so the state is refused up front."""
    with _setup(tmp_path) as run:
        with pytest.raises(ValueError, match=r"2\*\*63 - 1.*cannot be continued"):
            run.state_dict(step=2**63 - 1)
        assert 2**63 - 2 == run.state_dict(step=2**63 - 2)["step"]


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("step", 2**63 - 1, r"state\['step'\] must be < 2\*\*63 - 1"),
        ("step", 2**64, r"state\['step'\] must be < 2\*\*63 - 1"),
        ("counters", {"lr": 2**63 + 1}, r"state\['counters'\] must hold ints from 0 to 2\*\*63"),
    ],
)
def test_restore_refuses_a_state_past_the_last_step(
    tmp_path: Path, key: str, value: Any, match: str
) -> None:
    """A state whose step or counter passes 2**63 - 1 is refused; nothing is installed."""
    state = _first_life(tmp_path)
    state[key] = value
    with pytest.raises(ValueError, match=match):
        tblog.restore(state=state, console=False)
    assert not tblog.is_active()


def test_a_tag_at_the_last_step_keeps_the_writer_alive(tmp_path: Path) -> None:
    """A tag at 2**63 - 1, restored: its next counted point is dropped, the writer lives on."""
    with _setup(tmp_path) as run:
        run.scalar("full", 1.0, 2**63 - 1)
        run.scalar("loss", 0.0, 0)
        state = run.state_dict(step=0)
    with tblog.restore(
        log_file=state["log_file"], run_path=state["run_path"], console=False
    ) as again:
        again.scalar("full", 2.0)  # counted: would be 2**63
        again.scalar("loss", 1.0, 1)
        again.flush()
        stats = again.writer.stats
        assert (1, 1, 0) == (stats.written, stats.dropped, stats.errors)
    data = read_run(tmp_path / "runs" / "loop")
    assert [0, 1] == data.steps("loss")
    assert [2**63 - 1] == data.steps("full")


def _second_life(state: dict[str, Any], restart: int) -> list[tuple[int, float]]:
    """Resume from ``state`` and log loss and lr from ``restart`` to 29 (negated values).

    Returns the curve TensorBoard should show: the first life up to ``restart``, then these.
    """
    with tblog.restore(state=state, console=False) as run:
        for step in range(restart, 30):
            run.scalar("loss", -float(step), step)
            run.scalar("lr", -float(step), step)
    return [(s, float(s)) for s in range(restart)] + [(s, -float(s)) for s in range(restart, 30)]


@pytest.mark.parametrize("restart", [19, 20], ids=["restart-at-K", "restart-at-K+1"])
def test_a_loop_that_logs_the_checkpoint_step_again_gives_one_curve(
    tmp_path: Path, restart: int
) -> None:
    """Checkpoint at K=19, a loop restarting at K (Lightning) or K + 1: one curve, no step twice."""
    state = _first_life(tmp_path)
    expected = _second_life(state, restart)
    data = read_run(tmp_path / "runs" / "loop")
    assert expected == data.scalars["loss"]
    assert expected == data.scalars["lr"]


@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="needs tensorboard")
@pytest.mark.parametrize("load_fast", [False, True], ids=["python-loader", "rust-loader"])
@pytest.mark.parametrize("restart", [19, 20], ids=["restart-at-K", "restart-at-K+1"])
def test_a_resumed_loop_as_each_loader_shows_it(
    tmp_path: Path, load_fast: bool, restart: int
) -> None:
    """The real server, both loaders: restarting at K or K + 1 gives one curve, no duplicate."""
    from test_tensorboard_e2e import _scalars, tensorboard

    if load_fast and importlib.util.find_spec("tensorboard_data_server") is None:
        pytest.skip("needs tensorboard-data-server")
    expected = _second_life(_first_life(tmp_path), restart)
    with tensorboard(tmp_path / "runs", load_fast=load_fast) as url:
        assert expected == _scalars(url, "loop", "loss", 30)
        assert expected == _scalars(url, "loop", "lr", 30)


@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="needs tensorboard")
@pytest.mark.parametrize("load_fast", [False, True], ids=["python-loader", "rust-loader"])
def test_restore_from_a_state_as_each_loader_shows_it(tmp_path: Path, load_fast: bool) -> None:
    """The real server, both loaders: 0..19 from the first life, 20..29 from the second."""
    from test_tensorboard_e2e import _scalars, tensorboard

    if load_fast and importlib.util.find_spec("tensorboard_data_server") is None:
        pytest.skip("needs tensorboard-data-server")
    state = _first_life(tmp_path)
    with tblog.restore(state=state, console=False) as run:
        for step in range(20, 30):
            run.scalar("loss", -float(step), step)
            run.scalar("lr", -float(step))
    expected = [(s, float(s)) for s in range(20)] + [(s, -float(s)) for s in range(20, 30)]
    with tensorboard(tmp_path / "runs", load_fast=load_fast) as url:
        assert expected == _scalars(url, "loop", "loss", 30)
        assert expected == _scalars(url, "loop", "lr", 30)


@pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("fsspec", "moto", "s3fs", "boto3")),
    reason="needs fsspec, moto[server], s3fs and boto3",
)
def test_restore_a_remote_run_from_its_state(tmp_path: Path, s3: S3Bucket) -> None:
    """A run in S3 (local server): the state's counters continue it, TensorBoard shows one curve."""
    with tblog.setup("remote", runs_root=s3.url("runs"), log_root=tmp_path, console=False) as run:
        for step in range(26):
            run.scalar("loss", float(step), step)
            run.scalar("lr", float(step))
            if step == 19:
                state = json.loads(json.dumps(run.state_dict(step=step)))
    assert state["run_path"].startswith("s3://")
    with tblog.restore(state=state, console=False) as again:
        for step in range(20, 30):
            again.scalar("loss", -float(step), step)
            again.scalar("lr", -float(step))
    data = read_s3_run(state["run_path"], s3.env)
    expected = [(s, float(s)) for s in range(20)] + [(s, -float(s)) for s in range(20, 30)]
    assert expected == data.scalars["loss"]
    assert expected == data.scalars["lr"]


def _descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (children, their children, ...), read from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:  # ended meanwhile
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def _until_gone(pids: list[int], timeout: float = 30) -> None:
    """Wait until every process of ``pids`` has ended (gone, or a zombie); fail otherwise."""
    deadline = time.monotonic() + timeout
    for pid in pids:
        while True:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                break
            if state == "Z":
                break
            assert time.monotonic() < deadline, f"process {pid} still runs"
            time.sleep(0.05)


@pytest.mark.slow
def test_resume_under_torchrun_after_kill_9(tmp_path: Path) -> None:
    """torchrun, 2 ranks, per-rank runs: killed at step 25, resumed from rank 0's checkpoint."""
    pytest.importorskip("torch", reason="torch is optional")
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        str(EXAMPLES / "resume.py"), "--workdir", "exp", "--per-rank",
    ]  # fmt: skip
    first = subprocess.Popen(
        [*command, "--hang-at", "25"], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    workers: list[int] = []
    try:
        assert first.stdout is not None
        hanging = [first.stdout.readline() for _ in range(2)]
        assert ["hanging at step 25"] * 2 == [line.split(" ", 2)[2].strip() for line in hanging]
        workers = _descendants(first.pid)  # torchrun starts them in sessions of their own
        assert 2 <= len(workers)
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        for pid in workers or _descendants(first.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        first.wait(30)
    _until_gone(workers)
    second = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert 0 == second.returncode, second.stderr[-3000:]
    (name,) = os.listdir(tmp_path / "exp" / "runs")
    for rank in (0, 1):
        data = read_run(tmp_path / "exp" / "runs" / name / f"rank_{rank}")
        assert list(range(30)) == data.steps("loss")  # one curve, no step twice
        log = tmp_path / "exp" / "logs" / (f"{name}.log" if rank == 0 else f"{name}.rank1.log")
        text = log.read_text()
        for line in ("started", "resumed from the checkpoint of step 19", "done at step 29"):
            assert line in text
        assert 2 == text.count("step 25 loss")  # the file log keeps both lives


# ---- the NaN/Inf sentinel -------------------------------------------------------------------


def test_nan_sentinel_warns_once_per_transition(
    logdir: Path, nan_log: Recorder, logger: logging.Logger
) -> None:
    """NaN, NaN, inf warn once; finite again warns once; NaN again warns again; points kept."""
    handler = tblog.TensorBoardHandler(logdir)
    log = logger
    log.addHandler(handler)
    values = [1.0, math.nan, math.nan, math.inf, 2.0, 3.0, -math.inf, 4.0]
    for step, value in enumerate(values):
        log.info("", extra={"tag": "loss", "value": value, "step": step})
        if step % 3 == 0:
            handler.flush()  # transitions across writer batches too
    log.info("", extra={"tag": "acc", "value": 0.5, "step": 0})
    handler.close()
    kept = "(its points are written as they are)"
    assert [
        f"{handler.logdir}: tag 'loss' got the non-finite value nan at step 1 {kept}",
        f"{handler.logdir}: tag 'loss' is finite again at step 4 (value 2.0)",
        f"{handler.logdir}: tag 'loss' got the non-finite value -inf at step 6 {kept}",
        f"{handler.logdir}: tag 'loss' is finite again at step 7 (value 4.0)",
    ] == nan_log.messages()
    assert [logging.WARNING] * 4 == [record.levelno for record in nan_log.records]
    shown = read_run(logdir).values("loss")
    assert [1.0, "nan", "nan", math.inf, 2.0, 3.0, -math.inf, 4.0] == [
        "nan" if math.isnan(v) else v for v in shown
    ]


def test_nan_sentinel_once_across_threads_and_big_batches(logdir: Path, nan_log: Recorder) -> None:
    """4 threads x 500 NaN points of one tag: one warning; then finite from all: one more."""
    writer = tblog.RunWriter(logdir)

    def log_values(first: int, value: float) -> None:
        for step in range(first, first + 500):
            writer.add_scalar("loss", value, step)

    for value, base in ((math.nan, 0), (0.5, 10_000)):
        threads = [
            threading.Thread(target=log_values, args=(base + n * 1000, value)) for n in range(4)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert writer.flush()
    writer.close()
    assert 2 == len(nan_log.records)
    assert "got the non-finite value nan" in nan_log.messages()[0]
    assert "is finite again" in nan_log.messages()[1]
    assert 4000 == len(read_run(logdir).steps("loss"))


def test_nan_warning_false_turns_the_sentinel_off(
    tmp_path: Path, nan_log: Recorder, logger: logging.Logger
) -> None:
    """nan_warning=False on a handler, on setup and on the processor: no warning at all."""
    handler = tblog.TensorBoardHandler(tmp_path / "h", nan_warning=False)
    logger.addHandler(handler)
    logger.info("", extra={"tag": "loss", "value": math.nan, "step": 0})
    handler.close()
    with _setup(tmp_path, nan_warning=False) as run:
        run.scalar("loss", math.inf, 0)
    if importlib.util.find_spec("structlog") is not None:
        processor = tblog.TensorBoardProcessor(str(tmp_path / "p"), nan_warning=False)
        processor(None, "info", {"event": "e", "tag": "loss", "value": math.nan, "step": 0})
        processor.flush()
        processor.close()
    assert [] == nan_log.records
    assert [0] == read_run(tmp_path / "h").steps("loss")  # the point itself is written


def test_nan_warning_reaches_the_file_log_not_the_run(tmp_path: Path) -> None:
    """With setup: the warning is a line of the file log, never text in the run it is about."""
    with _setup(tmp_path) as run:
        run.info("before")
        run.scalar("loss", math.nan, 3)  # checked by the writer while close() runs
    log = (tmp_path / "logs" / "loop.log").read_text()
    assert "WARNING  tblog.nan: " in log
    assert "tag 'loss' got the non-finite value nan at step 3" in log
    assert {"logs/INFO": [0]} == {t: read_run(run.run_path or "").steps(t) for t in ["logs/INFO"]}
    assert "logs/WARNING" not in read_run(run.run_path or "").texts


def test_nan_warning_must_be_a_bool(tmp_path: Path) -> None:
    """nan_warning="no" is refused at construction, naming the option."""
    with pytest.raises(TypeError, match="nan_warning must be True or False"):
        tblog.TensorBoardHandler(tmp_path, nan_warning="no")  # type: ignore[arg-type]


# ---- counted tags (log lines) across a resume -----------------------------------------------

_LINES_DEAD = """
import json, os, sys, tblog
root, lines = sys.argv[1], int(sys.argv[2])
run = tblog.setup("loop", log_root=f"{root}/logs", runs_root=f"{root}/runs", log_name="loop",
                  console=False)
for step in range(25):
    for i in range(lines):
        run.info("step %d line %d", step, i)
    run.scalar("loss", float(step), step)
    if step == 19:
        with open(f"{root}/state.json", "w") as file:
            json.dump(run.state_dict(step=19), file)
run.flush()
os._exit(1)
"""


def _lines_across_a_crash(tmp_path: Path, lines: int) -> list[tuple[int, str]]:
    """A job logs ``lines`` lines per step, checkpoints at 19, dies at 24; the restore logs more.

    Returns the (counted step, line) TensorBoard should show for ``logs/INFO``.
    """
    subprocess.run(
        [sys.executable, "-c", _LINES_DEAD, str(tmp_path), str(lines)], check=False, timeout=60
    )
    state = json.loads((tmp_path / "state.json").read_text())
    with tblog.restore(state=state, console=False) as run:
        for step in range(20, 22):
            run.info("resumed step %d", step)
            run.scalar("loss", -float(step), step)
    before = [f"step {s} line {i}" for s in range(20) for i in range(lines)]
    expected = [*before, "resumed step 20", "resumed step 21"]
    return list(enumerate(expected))


def _plugin_texts(path: Path, tag: str) -> list[tuple[int, str]]:
    """What TensorBoard's plugin (Python) loader shows of a text tag, every entry kept."""
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    acc = pea.EventAccumulator(str(path), size_guidance={"tensors": 0})
    acc.Reload()
    shown = []
    for event in acc.Tensors(tag):
        array = tensor_util.make_ndarray(event.tensor_proto)
        shown.append((event.step, array.reshape(-1)[0].decode()))
    return shown


def _line(text: str) -> str:
    """The log line of a text entry: without its code block (markdown, or the server's HTML)."""
    return re.sub(r"<[^>]+>|```", "", text).strip()


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="needs tensorboard")
def test_a_restore_keeps_the_lines_logged_before_the_checkpoint(tmp_path: Path) -> None:
    """Python loader: 100 lines before the checkpoint stay, the dead job's later lines go."""
    expected = _lines_across_a_crash(tmp_path, 5)
    shown = _plugin_texts(tmp_path / "runs" / "loop", "logs/INFO")
    assert expected == [(step, _line(text)) for step, text in shown]


@pytest.mark.e2e
@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="needs tensorboard")
@pytest.mark.skipif(
    importlib.util.find_spec("tensorboard_data_server") is None,
    reason="needs tensorboard-data-server",
)
def test_a_restore_keeps_the_lines_logged_before_the_checkpoint_rust_loader(
    tmp_path: Path,
) -> None:
    """The real server's Rust loader (100 entries per text tag): same lines, no dead-job line."""
    from test_tensorboard_e2e import _wait_for, tensorboard

    expected = _lines_across_a_crash(tmp_path, 4)  # 82 entries: under the loader's 100
    with tensorboard(tmp_path / "runs", load_fast=True) as url:
        answer = _wait_for(
            url, "/data/plugin/text/text", lambda a: len(a) >= len(expected),
            run="loop", tag="logs/INFO",
        )  # fmt: skip
        assert expected == [(entry["step"], _line(entry["text"])) for entry in answer]


def test_a_restore_keeps_a_counted_scalars_points_before_the_checkpoint(tmp_path: Path) -> None:
    """A counted scalar logged 3 times a step: its 60 points before the checkpoint stay."""
    with _setup(tmp_path) as run:
        for step in range(25):
            for _ in range(3):
                run.scalar("tokens", float(step))  # counted: runs ahead of the step
            if step == 19:
                state = json.loads(json.dumps(run.state_dict(step=step)))
    with tblog.restore(state=state, console=False) as again:
        again.scalar("tokens", -1.0)
    expected = [(n, float(n // 3)) for n in range(60)] + [(60, -1.0)]
    assert expected == read_run(tmp_path / "runs" / "loop").scalars["tokens"]
