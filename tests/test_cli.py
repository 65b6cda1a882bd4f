"""The tblog command: demo, summary, export, replay; its reader agrees with TensorBoard's."""

from __future__ import annotations

import csv
import io
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from tbread import read_run

import tblog
from tblog import _reader
from tblog.cli import main, sparkline


def _run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tblog", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _make_runs(root: Path) -> None:
    with tblog.get_writer(root / "a") as writer:
        for step in range(50):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.add_scalar("odd", math.nan, 0)
        writer.add_scalar("odd", 2.0, 1)
        writer.add_text("notes", "x", 0)
        writer.add_text("notes", "y", 1)
    with tblog.get_writer(root / "nested" / "b") as writer:
        writer.add_scalars("acc", {"train": 0.5, "val": 0.25}, 3)


def test_help_lists_every_command() -> None:
    """``tblog --help`` names the four commands with a one-line description each."""
    result = _run_cli("--help")
    assert 0 == result.returncode
    for command in ("demo", "summary", "export", "replay"):
        assert command in result.stdout
    assert "usage: tblog" in result.stdout


def test_demo_writes_a_run_and_says_how_to_view_it(tmp_path: Path) -> None:
    """``tblog demo`` trains, writes scalars/histograms/hparams/text, prints where they are."""
    result = _run_cli("demo", "--logdir", "runs", "--epochs", "30", cwd=tmp_path)
    assert 0 == result.returncode, result.stderr
    assert "tensorboard --logdir runs" in result.stdout
    (run_dir,) = (tmp_path / "runs").glob("demo_*")
    data = read_run(run_dir)
    assert list(range(30)) == data.steps("train/loss")
    assert {"train/loss", "train/accuracy", "time/epoch", "hparam/accuracy"} <= set(data.scalars)
    assert "weights/hidden" in data.histograms
    assert "hparams" in data.plugins
    assert f"run:      runs/{run_dir.name}" in result.stdout


def test_summary_per_run_and_tag(tmp_path: Path) -> None:
    """summary: points, step range, last/min/max (NaN left out), sparkline, text, nested runs."""
    _make_runs(tmp_path)
    out = io.StringIO()
    sys_stdout, sys.stdout = sys.stdout, out
    try:
        assert 0 == main(["summary", str(tmp_path)])
    finally:
        sys.stdout = sys_stdout
    text = out.getvalue()
    lines = text.splitlines()
    assert f"run {tmp_path / 'a'}" in lines
    assert f"run {tmp_path / 'nested' / 'b'}" in lines
    loss = next(line.split() for line in lines if line.strip().startswith("loss "))
    assert ["loss", "50", "0..49", "0.02", "0.02", "1"] == loss[:6]
    assert loss[6][0] == "█"
    assert loss[6][-1] == "▁"
    odd = next(line.split() for line in lines if line.strip().startswith("odd "))
    assert ["odd", "2", "0..1", "2", "2", "2"] == odd[:6]
    assert "  text notes: entries 2" in lines
    assert any(line.strip().startswith("acc/val ") for line in lines)


def test_summary_of_nothing_fails_clearly(tmp_path: Path) -> None:
    """No event files: exit status 1 and a message, no traceback."""
    result = _run_cli("summary", str(tmp_path))
    assert 1 == result.returncode
    assert "no event files found" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_rows_match_tensorboards_loader(tmp_path: Path, fmt: str) -> None:
    """export: one row per scalar point with run, tag, step, wall_time, value."""
    _make_runs(tmp_path / "runs")
    output = tmp_path / f"out.{fmt}"
    result = _run_cli("export", str(tmp_path / "runs"), "--format", fmt, "-o", str(output))
    assert 0 == result.returncode, result.stderr
    if fmt == "csv":
        rows = [
            (r["run"], r["tag"], int(r["step"]), float(r["value"]))
            for r in csv.DictReader(output.open())
        ]
    else:
        rows = [
            (r["run"], r["tag"], r["step"], r["value"])
            for r in map(json.loads, output.read_text().splitlines())
        ]
    expected = []
    for run_name in ("a", "nested/b"):
        data = read_run(tmp_path / "runs" / run_name)
        for tag in sorted(data.scalars):
            expected += [(run_name, tag, step, value) for step, value in data.scalars[tag]]
    assert len(expected) == len(rows)
    for (r1, t1, s1, v1), (r2, t2, s2, v2) in zip(expected, rows, strict=True):
        assert (r1, t1, s1) == (r2, t2, s2)
        assert v1 == v2 or (math.isnan(v1) and math.isnan(v2))


def test_replay_turns_json_lines_into_a_run(tmp_path: Path) -> None:
    """replay: structlog and python-json-logger lines become points; bad lines are reported."""
    lines = [
        {
            "event": "train",
            "tag": "loss",
            "value": 0.5,
            "step": 1,
            "timestamp": "2026-01-01T00:00:00Z",
        },
        {"message": "eval", "metrics": {"acc": 0.9}, "step": 1, "created": 1767225600.5},
        {"event": "just a message"},
        "not json at all",
        {"event": "bad", "tag": "loss", "value": "NaN?", "step": -1},
        {"event": "train", "tag": "loss", "value": 0.25, "step": 2},
        [1, 2],
    ]
    log = tmp_path / "log.jsonl"
    log.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    result = _run_cli("replay", str(log), "--logdir", str(tmp_path / "run"), "--progress")
    assert 0 == result.returncode, result.stderr
    assert "7 lines, 3 points written" in result.stdout
    assert "1 lines without points, 3 bad lines" in result.stdout
    assert "  line 4: not JSON" in result.stdout
    assert "  line 5: step must be an int >= 0, got -1" in result.stdout
    assert "  line 7: not a JSON object" in result.stdout
    assert "100%" in result.stderr  # the progress bar ran to the end
    data = read_run(tmp_path / "run")
    assert {"loss": [(1, 0.5), (2, 0.25)], "acc": [(1, pytest.approx(0.9))]} == data.scalars
    assert 1767225600.0 in data.wall_times  # the line's own timestamp


def test_replay_of_a_missing_file_fails_clearly(tmp_path: Path) -> None:
    """A missing log: exit status 1, one line naming it."""
    result = _run_cli("replay", str(tmp_path / "nope.jsonl"), "--logdir", str(tmp_path / "r"))
    assert 1 == result.returncode
    assert "nope.jsonl" in result.stderr
    assert "Traceback" not in result.stderr


def test_reader_agrees_with_tensorboard_across_a_restore_with_purge(tmp_path: Path) -> None:
    """The small reader of tblog shows what TensorBoard's loader shows, purges included."""
    with tblog.setup("r", log_root=tmp_path / "l", runs_root=tmp_path / "r", console=False) as run:
        for step in range(20):
            run.scalar("loss", float(step), step)
        run.info("before")
    assert run.run_path is not None
    assert run.log_file is not None
    with tblog.restore(
        log_file=run.log_file, run_path=run.run_path, purge_step=10, console=False
    ) as again:
        for step in range(10, 15):
            again.scalar("loss", -float(step), step)
    ours = _reader.read_run(run.run_path)
    theirs = read_run(run.run_path)
    assert theirs.scalars["loss"] == [(s, v) for s, _, v in ours.scalars["loss"]]
    assert {tag: [s for s, _ in points] for tag, points in theirs.texts.items()} == ours.texts


def test_sparkline_scales_and_skips_non_finite() -> None:
    """The sparkline spans low to high, averages long series, ignores NaN and inf."""
    assert "▁▂▃▄▅▆▇█" == sparkline([0, 1, 2, 3, 4, 5, 6, 7])
    assert "▁█" == sparkline([0, math.nan, 1, math.inf])
    assert 24 == len(sparkline(list(range(1000))))
    assert "" == sparkline([math.nan])


def test_output_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """``tblog summary runs | head -1``: no traceback when the reader closes the pipe early."""
    with tblog.get_writer(tmp_path / "run") as writer:
        for n in range(3000):  # far more output than a pipe buffer holds
            writer.add_scalar(f"tag/{n:05d}", float(n), 0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tblog", "summary", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    assert proc.stdout.readline().startswith(b"run ")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert 141 == proc.wait(timeout=60)
    assert "Traceback" not in err
