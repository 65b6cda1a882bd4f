"""Every example runs as documented and writes the run it promises."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from tbread import event_files, read_run

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
pytestmark = pytest.mark.slow


def _example(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr[-3000:]
    return result


@pytest.mark.parametrize(
    ("script", "args", "expected"),
    [
        ("train_numpy.py", ["--epochs", "2"], {"loss/train", "val/accuracy", "val/loss"}),
        ("dictconfig_run.py", [], {"loss", "acc", "f1"}),
        ("structlog_native.py", [], {"train/loss", "train/acc", "acc", "f1", "lr"}),
        ("structlog_stdlib.py", [], {"loss", "acc"}),
        ("structlog_stdlib.py", ["--bridge", "formatter"], {"loss", "acc"}),
    ],
)
def test_single_run_examples(
    tmp_path: Path, script: str, args: list[str], expected: set[str]
) -> None:
    """The handler, dictConfig and structlog examples write the tags they promise."""
    if "structlog" in script:
        pytest.importorskip("structlog")
    _example(tmp_path, script, "--logdir", "run", *args)
    assert expected <= set(read_run(tmp_path / "run").scalars)


def test_facade_example_and_its_resume(tmp_path: Path) -> None:
    """examples/facade.py: a run, then --resume continues it from step 5 (old 5..9 purged)."""
    first = _example(tmp_path, "facade.py", "--logdir", "runs")
    run_dir = tmp_path / first.stdout.split("run:")[1].strip()
    assert list(range(10)) == read_run(run_dir).steps("loss")
    _example(tmp_path, "facade.py", "--logdir", "runs", "--resume")
    data = read_run(run_dir)
    assert list(range(15)) == data.steps("loss")
    assert list(range(15)) == data.steps("train/accuracy")
    assert {"hparams", "text", "histograms"} <= set(data.plugins)
    log_file = tmp_path / first.stdout.split("file log:")[1].split("\n")[0].strip()
    assert 2 == log_file.read_text().count("done after")


def test_resume_example_after_kill_9(tmp_path: Path) -> None:
    """examples/resume.py killed at step 25, restarted: the uninterrupted run's curve, once."""
    hung = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "resume.py"), "--workdir", "exp", "--hang-at", "25"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert hung.stdout is not None
        assert "rank 0 hanging at step 25\n" == hung.stdout.readline()
    finally:
        hung.send_signal(signal.SIGKILL)
        hung.wait(30)
    _example(tmp_path, "resume.py", "--workdir", "exp")
    _example(tmp_path, "resume.py", "--workdir", "uninterrupted")
    (name,) = os.listdir(tmp_path / "exp" / "runs")
    data = read_run(tmp_path / "exp" / "runs" / name)
    (other,) = os.listdir(tmp_path / "uninterrupted" / "runs")
    expected = read_run(tmp_path / "uninterrupted" / "runs" / other)
    assert list(range(30)) == data.steps("loss")  # no step twice: the stale 20..25 are purged
    assert expected.scalars["loss"] == data.scalars["loss"]
    assert expected.scalars["params/w"] == data.scalars["params/w"]
    log = (tmp_path / "exp" / "logs" / f"{name}.log").read_text()
    lines = [line.split(": ", 1)[1] for line in log.splitlines()]
    resumed = lines.index("resumed from the checkpoint of step 19")
    assert ["started", "step 25", "step 20", "done at step 29"] == [
        lines[0], lines[resumed - 1][:7], lines[resumed + 1][:7], lines[-1]
    ]  # the first life up to its hang at 25, then the second from 20 on  # fmt: skip


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocess_example(tmp_path: Path, method: str) -> None:
    """examples/multiprocess.py: every worker's points in the parent's one run."""
    import multiprocessing

    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} here")
    result = _example(
        tmp_path, "multiprocess.py", "--logdir", "runs", "--workers", "2", "--batches", "20",
        "--start-method", method,
    )  # fmt: skip
    run_dir = tmp_path / result.stdout.split("run:")[1].strip()
    data = read_run(run_dir)
    assert list(range(20)) == data.steps("loss/worker0") == data.steps("loss/worker1")
    assert list(range(40)) == data.steps("batches")
    assert 1 == len(event_files(tmp_path / "runs", recursive=True))
