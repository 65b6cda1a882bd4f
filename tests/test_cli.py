"""The tblog command: demo, summary, export, replay; its reader agrees with TensorBoard's."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from privileges import drop_permission_overrides
from tbread import event_files, read_run

import tblog
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
    """``tblog --help`` names the five commands with a one-line description each."""
    result = _run_cli("--help")
    assert 0 == result.returncode
    for command in ("demo", "summary", "export", "watch", "replay"):
        assert command in result.stdout
    assert "usage: tblog" in result.stdout


def test_every_command_module_registers_its_parser_in_order() -> None:
    """Each command's own module adds its sub-parser; ``--help`` lists all seven in order."""
    import tblog.cli

    text = tblog.cli.build_parser().format_help()
    listed = re.findall(r"^ {4}(\w+) ", text, re.MULTILINE)
    assert ["demo", "summary", "export", "watch", "replay", "upload", "runs"] == listed
    for name in ("CommandError", "SPARKS", "main", "sparkline", "cmd_export", "cmd_runs"):
        assert name in tblog.cli.__all__
        assert hasattr(tblog.cli, name)


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
            for r in csv.DictReader(output.read_text().splitlines())
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
    assert "  line 5: step must be an int >= 0 and < 2**63, got -1" in result.stdout
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


def test_export_and_summary_agree_with_tensorboard_across_a_restore_with_purge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Export and summary show what TensorBoard's loader shows, purged points left out."""
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
    theirs = read_run(run.run_path)
    status, out, _ = _cli(capsys, "export", str(run.run_path), "--format", "jsonl")
    assert 0 == status
    rows = [json.loads(line) for line in out.splitlines()]
    assert theirs.scalars["loss"] == [(r["step"], r["value"]) for r in rows if r["tag"] == "loss"]
    status, out, _ = _cli(capsys, "summary", str(run.run_path))
    assert 0 == status
    loss = next(line.split() for line in out.splitlines() if line.strip().startswith("loss "))
    assert ["loss", "15", "0..14", "-14"] == loss[:4]
    (text_tag,) = theirs.texts
    assert f"  text {text_tag}: entries {len(theirs.texts[text_tag])}" in out.splitlines()


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
    proc.stderr.close()
    assert 141 == proc.wait(timeout=60)
    assert "Traceback" not in err


# ---- errors a user can cause: one line naming the path and the problem, never a traceback ----


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run ``tblog ARGS`` in this process; return (exit status, stdout, stderr)."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def _one_error_line(err: str, command: str, *words: str) -> str:
    lines = err.splitlines()
    assert 1 == len(lines), err
    assert lines[0].startswith(f"tblog {command}: "), err
    for word in words:
        assert word in lines[0]
    return lines[0]


def _full_device(tmp_path: Path) -> Path:
    """A private device node that behaves like /dev/full (every write: ENOSPC); root only."""
    import stat

    if os.geteuid() != 0:
        pytest.skip("making a device node needs root")
    node = tmp_path / "full"
    os.mknod(node, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
    try:
        with open(node, "wb") as probe:
            probe.write(b"x")
            probe.flush()
    except OSError:
        return node  # writes fail, as on a full disk
    pytest.skip("a device node made here does not behave like /dev/full")


@pytest.mark.parametrize("target", ["missing/dir/x.csv", "a-directory", "full-device"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_output_that_cannot_be_written_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str, fmt: str
) -> None:
    """Export -o into a missing directory, a directory, a full disk: one line, exit 1, path kept."""
    if fmt == "parquet":
        pytest.importorskip("pyarrow.parquet")
    _make_runs(tmp_path / "runs")
    (tmp_path / "a-directory").mkdir()
    output = str(_full_device(tmp_path) if target == "full-device" else tmp_path / target)
    before = sorted(os.listdir(tmp_path))
    kind = os.stat(output).st_mode if os.path.exists(output) else None
    status, out, err = _cli(capsys, "export", str(tmp_path / "runs"), "--format", fmt, "-o", output)
    assert 1 == status
    assert "" == out
    _one_error_line(err, "export", output)
    assert before == sorted(os.listdir(tmp_path))  # nothing removed, no temporary file left
    assert kind == (os.stat(output).st_mode if os.path.exists(output) else None)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_export_that_fails_keeps_the_old_output_whole(tmp_path: Path, fmt: str) -> None:
    """A write that fails (here: a file size limit of 0) leaves the existing output as it was."""
    if fmt == "parquet":
        pytest.importorskip("pyarrow.parquet")
    _make_runs(tmp_path / "runs")
    output = tmp_path / f"out.{fmt}"
    output.write_bytes(b"the previous export")
    result = subprocess.run(
        [sys.executable, "-m", "tblog", "export", str(tmp_path / "runs"), "--format", fmt,
         "-o", str(output)],
        capture_output=True, text=True, timeout=120, check=False, preexec_fn=_no_file_growth,
    )  # fmt: skip
    assert 1 == result.returncode
    _one_error_line(result.stderr, "export", str(output))
    assert b"the previous export" == output.read_bytes()
    assert ["out." + fmt, "runs"] == sorted(os.listdir(tmp_path))


def test_export_replaces_the_old_output_and_keeps_its_mode(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A successful export replaces the file it names, whose permission bits stay."""
    _make_runs(tmp_path / "runs")
    output = tmp_path / "out.csv"
    output.write_text("old\n")
    output.chmod(0o640)
    status, _, _ = _cli(capsys, "export", str(tmp_path / "runs"), "-o", str(output))
    assert 0 == status
    assert output.read_text().startswith("run,tag,step,wall_time,value")
    assert 0o640 == output.stat().st_mode & 0o777


def test_watch_refuses_a_file_that_is_no_event_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Watch refuses a file that is no event file, as summary and export do: one line, exit 1."""
    notes = tmp_path / "notes.txt"
    notes.write_text("not a run\n")
    for command in (["summary"], ["export"], ["watch", "--once"]):
        status, out, err = _cli(capsys, command[0], str(notes), *command[1:])
        assert (1, "") == (status, out)
        _one_error_line(err, command[0], str(notes), "not a run directory or event file")


def test_demo_under_a_regular_file_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Demo --logdir below a regular file: one line naming the path, exit 1, nothing written."""
    (tmp_path / "f").write_text("")
    logdir = str(tmp_path / "f" / "sub")
    status, _, err = _cli(capsys, "demo", "--logdir", logdir, "--epochs", "2")
    assert 1 == status
    _one_error_line(err, "demo", logdir, "Not a directory")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["demo", "--epochs", "-5"], "argument --epochs: must be >= 1, got -5"),
        (["demo", "--epochs", "0"], "argument --epochs: must be >= 1, got 0"),
        (["replay", "x.jsonl", "--logdir", "r", "--show-bad", "-1"], "must be >= 0, got -1"),
        (["replay", "x.jsonl", "--logdir", "r", "--show-bad", "many"], "invalid int value"),
    ],
)
def test_counts_out_of_range_are_usage_errors(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    """--epochs below 1 or --show-bad below 0: argparse's usage error (exit 2), nothing run."""
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert 2 == exit_info.value.code
    assert message in capsys.readouterr().err


def test_export_of_a_directory_without_event_files_fails_like_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Export and summary of a directory without event files: the same one line, exit 1."""
    output = tmp_path / "out.csv"
    status, _, err = _cli(capsys, "export", str(tmp_path), "-o", str(output))
    assert 1 == status
    assert f"tblog export: no event files found under {tmp_path}\n" == err
    assert not output.exists()  # nothing opened before the input was known good
    status, _, err = _cli(capsys, "summary", str(tmp_path))
    assert 1 == status
    assert f"tblog summary: no event files found under {tmp_path}\n" == err


def test_summary_and_export_accept_an_event_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An event file given as RUN_DIR is read as one run, as TensorBoard users point at files."""
    _make_runs(tmp_path)
    (event_file,) = event_files(tmp_path / "a")
    status, out, err = _cli(capsys, "summary", event_file)
    assert (0, "") == (status, err)
    lines = out.splitlines()
    assert f"run {event_file}" == lines[0]
    assert ["loss", "50", "0..49"] == next(row.split() for row in lines if " loss " in row)[:3]
    status, out, err = _cli(capsys, "export", event_file, "--format", "jsonl")
    assert (0, "") == (status, err)
    rows = [json.loads(line) for line in out.splitlines()]
    expected = read_run(tmp_path / "a").scalars["loss"]
    assert expected == [(r["step"], r["value"]) for r in rows if r["tag"] == "loss"]
    assert {"."} == {r["run"] for r in rows}


@pytest.mark.parametrize("command", ["summary", "export"])
def test_a_path_that_is_no_run_is_named_precisely(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """A plain file or a missing path as RUN_DIR: one line saying which, exit 1."""
    plain = tmp_path / "notes.txt"
    plain.write_text("hello")
    status, _, err = _cli(capsys, command, str(plain))
    assert 1 == status
    assert f"tblog {command}: {plain}: a file, not a run directory or event file\n" == err
    status, _, err = _cli(capsys, command, str(tmp_path / "nope"))
    assert 1 == status
    assert f"tblog {command}: {tmp_path / 'nope'}: no such file or directory\n" == err


def test_summary_of_an_event_file_with_a_record_that_is_no_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A CRC-valid record that does not parse as an Event: one line naming the file, exit 1."""
    from tblog._record import masked_crc

    data = b"\xff\xff\xff\xff"
    length = struct.pack("<Q", len(data))
    record = length + struct.pack("<I", masked_crc(length)) + data
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(record + struct.pack("<I", masked_crc(data)))
    status, _, err = _cli(capsys, "summary", str(tmp_path))
    assert 1 == status
    _one_error_line(err, "summary", str(path), "not a valid event file")


def _write_lines(path: Path, lines: list[object]) -> Path:
    text = "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines)
    path.write_text(text + "\n")
    return path


def test_replay_counts_hostile_lines_as_bad_and_goes_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deep nesting, a 5000-digit int, a year-1 or unparseable timestamp: bad lines, not aborts."""
    log = _write_lines(
        tmp_path / "log.jsonl",
        [
            "[" * 100_000,
            '{"tag": "x", "value": ' + "1" * 5000 + ', "step": 0}',
            {"tag": "x", "value": 1.0, "step": 1, "timestamp": "0001-01-01T00:00:00"},
            {"tag": "x", "value": 2.0, "step": 2, "timestamp": "yesterday"},
            {"tag": "x", "value": 3.0, "step": 3, "created": True},
            {"tag": "x", "value": 4.0, "step": 4, "walltime": "2026-01-01T00:00:00Z"},
            {"tag": "x", "value": 5.0, "step": 5, "time": None},
        ],
    )
    status, out, _ = _cli(capsys, "replay", str(log), "--logdir", str(tmp_path / "run"))
    assert 0 == status
    assert "7 lines, 2 points written" in out
    assert "5 bad lines" in out
    assert "  line 1: not JSON (too deeply nested)" in out
    assert "  line 2: not JSON (Exceeds the limit (4300 digits)" in out
    assert "  line 3: timestamp '0001-01-01T00:00:00' in key 'timestamp' is out of range" in out
    assert "  line 4: unparseable timestamp 'yesterday' in key 'timestamp'" in out
    assert "  line 5: unparseable timestamp True in key 'created'" in out
    data = read_run(tmp_path / "run")
    assert {"x": [(4, 4.0), (5, 5.0)]} == data.scalars
    assert 1767225600.0 == data.wall_times[0]  # an ISO walltime is read, not refused


def test_replay_reads_numbers_written_as_strings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Numbers in strings ("0.25", "nan", "inf") in value or metrics become scalars."""
    log = _write_lines(
        tmp_path / "log.jsonl",
        [
            {"tag": "loss", "value": "0.25", "step": 0},
            {"tag": "loss", "value": "nan", "step": 1},
            {"tag": "loss", "value": "-inf", "step": 2},
            {"metrics": {"acc": "0.5", "f1": 0.75}, "step": 0},
            {"tag": "note", "value": "hello", "step": 0},
        ],
    )
    status, out, _ = _cli(capsys, "replay", str(log), "--logdir", str(tmp_path / "run"))
    assert 0 == status
    assert "5 lines, 6 points written" in out
    data = read_run(tmp_path / "run")
    assert [0.25, -math.inf] == [v for v in data.values("loss") if not math.isnan(v)]
    assert math.isnan(data.values("loss")[1])
    assert [(0, 0.5)] == data.scalars["acc"]
    assert [(0, 0.75)] == data.scalars["f1"]
    assert [(0, "hello")] == data.texts["note"]


def test_replay_into_a_path_under_a_regular_file_fails_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replay --logdir below a regular file: one line naming it, exit 1, no "points written"."""
    log = _write_lines(tmp_path / "log.jsonl", [{"tag": "x", "value": 1.0}])
    (tmp_path / "f").write_text("")
    logdir = str(tmp_path / "f" / "run")
    status, out, err = _cli(capsys, "replay", str(log), "--logdir", logdir)
    assert 1 == status
    assert "" == out
    _one_error_line(err, "replay", logdir, "Not a directory")


def test_replay_into_a_read_only_directory_fails_before_reading(tmp_path: Path) -> None:
    """Replay --logdir into a directory it may not write: one line naming it, exit 1.

    As root (CI), the command runs without root's permission overrides.
    """
    log = _write_lines(tmp_path / "log.jsonl", [{"tag": "x", "value": 1.0}])
    logdir = tmp_path / "ro"
    logdir.mkdir(mode=0o500)
    result = subprocess.run(
        [sys.executable, "-m", "tblog", "replay", str(log), "--logdir", str(logdir)],
        capture_output=True, text=True, timeout=120, check=False,
        preexec_fn=drop_permission_overrides,
    )  # fmt: skip
    assert 1 == result.returncode
    assert "" == result.stdout
    _one_error_line(result.stderr, "replay", str(logdir), "not writable")


def _no_file_growth() -> None:
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() fails with EFBIG instead
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))


def test_replay_says_when_points_could_not_be_written(tmp_path: Path) -> None:
    """Writes that fail (here: a file size limit of 0) are counted dropped and exit 1."""
    log = _write_lines(
        tmp_path / "log.jsonl", [{"tag": "x", "value": float(n), "step": n} for n in range(3)]
    )
    result = subprocess.run(
        [sys.executable, "-m", "tblog", "replay", str(log), "--logdir", str(tmp_path / "run")],
        capture_output=True, text=True, timeout=120, check=False, preexec_fn=_no_file_growth,
    )  # fmt: skip
    assert 1 == result.returncode
    assert "3 lines, 0 points written" in result.stdout
    assert "3 points dropped" in result.stdout
    assert f"tblog replay: 3 points could not be written to {tmp_path / 'run'}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("kind", ["directory", "binary"])
def test_replay_of_a_directory_or_binary_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    """A directory as LOG is one error line; a binary file's lines are bad lines, not a crash."""
    log = tmp_path / "log"
    if kind == "directory":
        log.mkdir()
    else:
        log.write_bytes(b"\xff\xfe\x00garbage\n\x80\x81\n" + json.dumps({"tag": "x"}).encode())
    status, out, err = _cli(capsys, "replay", str(log), "--logdir", str(tmp_path / "run"))
    if kind == "directory":
        assert 1 == status
        _one_error_line(err, "replay", str(log), "Is a directory")
    else:
        assert 0 == status
        assert "3 lines, 0 points written" in out
        assert "2 bad lines" in out


def test_export_parquet_matches_tensorboards_loader(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--format parquet: the same rows as csv, typed (step int64, values float64)."""
    pq = pytest.importorskip("pyarrow.parquet")
    _make_runs(tmp_path / "runs")
    output = tmp_path / "out.parquet"
    status, _, err = _cli(
        capsys, "export", str(tmp_path / "runs"), "--format", "parquet", "-o", str(output)
    )
    assert 0 == status
    table = pq.read_table(output)
    assert f"wrote {table.num_rows} rows to {output}\n" == err
    assert ["run", "tag", "step", "wall_time", "value"] == table.column_names
    assert "int64" == str(table.schema.field("step").type)
    rows = list(
        zip(*(table.column(c).to_pylist() for c in ("run", "tag", "step", "value")), strict=True)
    )
    expected = []
    for run_name in ("a", "nested/b"):
        data = read_run(tmp_path / "runs" / run_name)
        for tag in sorted(data.scalars):
            expected += [(run_name, tag, step, value) for step, value in data.scalars[tag]]
    assert len(expected) == len(rows)
    for (r1, t1, s1, v1), (r2, t2, s2, v2) in zip(expected, rows, strict=True):
        assert (r1, t1, s1) == (r2, t2, s2)
        assert v1 == v2 or (math.isnan(v1) and math.isnan(v2))


def test_export_parquet_without_pyarrow_or_output_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parquet needs pyarrow (the extra is named) and -o: one line each, exit 1, no file."""
    pytest.importorskip("pandas")  # without pandas the reader names that extra first
    _make_runs(tmp_path / "runs")
    status, out, err = _cli(capsys, "export", str(tmp_path / "runs"), "--format", "parquet")
    assert (1, "") == (status, out)
    _one_error_line(err, "export", "-o FILE")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    output = tmp_path / "out.parquet"
    status, _, err = _cli(
        capsys, "export", str(tmp_path / "runs"), "--format", "parquet", "-o", str(output)
    )
    assert 1 == status
    _one_error_line(err, "export", 'pip install "tblog[parquet]"')
    assert not output.exists()


def test_summary_and_export_read_an_fsspec_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A memory:// URL is read through fsspec like a local directory."""
    fsspec = pytest.importorskip("fsspec")
    _make_runs(tmp_path / "runs")
    fs = fsspec.filesystem("memory")
    for path in (tmp_path / "runs").rglob("*tfevents*"):
        fs.pipe(f"/cli/{path.relative_to(tmp_path / 'runs').as_posix()}", path.read_bytes())
    try:
        status, remote, _ = _cli(capsys, "export", "memory://cli", "--format", "jsonl")
        assert 0 == status
        status, local, _ = _cli(capsys, "export", str(tmp_path / "runs"), "--format", "jsonl")
        assert remote == local
        status, out, _ = _cli(capsys, "summary", "memory://cli")
        assert 0 == status
        assert "run memory://cli/nested/b" in out.splitlines()
    finally:
        fs.rm("/cli", recursive=True)


@pytest.mark.parametrize("inside", [False, True], ids=["the-run", "its-parent"])
@pytest.mark.parametrize("command", ["summary", "export", "watch", "runs"])
def test_an_unreadable_run_directory_is_permission_denied(
    tmp_path: Path, command: str, inside: bool
) -> None:
    """Mode 000: one line saying Permission denied, exit 1, not "no event files" or a wait."""
    root = tmp_path / "runs"
    locked = root / "a"
    with tblog.get_writer(locked) as writer:
        writer.add_scalar("loss", 1.0, 0)
    locked.chmod(0)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "tblog", command, str(root if inside else locked)],
            capture_output=True, text=True, timeout=60, check=False,
            preexec_fn=drop_permission_overrides,
        )  # fmt: skip
    finally:
        locked.chmod(0o755)
    assert 1 == result.returncode, result.stderr
    _one_error_line(result.stderr, command, str(locked), "Permission denied")


@pytest.mark.parametrize("command", ["export", "runs"])
def test_output_through_a_symlink_writes_its_target(tmp_path: Path, command: str) -> None:
    """-o link.csv: the link stays a link, its target gets the rows."""
    runs = tmp_path / "runs"
    with tblog.get_writer(runs / "a") as writer:
        writer.add_scalar("loss", 0.5, 3)
    target = tmp_path / "real" / "out.csv"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    result = _run_cli(command, str(runs), "-o", str(link))
    assert 0 == result.returncode, result.stderr
    assert link.is_symlink()
    assert os.readlink(link) == str(target)
    text = target.read_text()
    assert "old" not in text
    assert "loss" in text
    assert [] == [p.name for p in target.parent.iterdir() if p.name != "out.csv"]


def test_replay_dash_reads_standard_input(tmp_path: Path) -> None:
    """`tblog replay -` reads the log from stdin; TensorBoard reads the points back."""
    lines = "".join(json.dumps({"tag": "x", "value": float(n), "step": n}) + "\n" for n in range(3))
    result = subprocess.run(
        [sys.executable, "-m", "tblog", "replay", "-", "--logdir", str(tmp_path / "run")],
        input=lines, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr
    assert [(0, 0.0), (1, 1.0), (2, 2.0)] == read_run(tmp_path / "run").scalars["x"]


def test_replay_of_an_empty_input_fails(tmp_path: Path) -> None:
    """/dev/null has no JSON line: nothing to write is no success (exit 1, one line)."""
    result = _run_cli("replay", os.devnull, "--logdir", str(tmp_path / "run"))
    assert 1 == result.returncode, result.stdout
    _one_error_line(result.stderr, "replay", os.devnull, "no line is a JSON object")


def test_summary_steps_column_is_min_to_max(tmp_path: Path) -> None:
    """Steps written 0, 1, 2, 2**63 - 1, 0: the column says 0..9223372036854775807."""
    with tblog.get_writer(tmp_path / "run") as writer:
        for step in (0, 1, 2, 2**63 - 1, 0):
            writer.add_scalar("x", 1.0, step)
    assert {0, 1, 2, 2**63 - 1} <= {s for s, _ in read_run(tmp_path / "run").scalars["x"]}
    result = _run_cli("summary", str(tmp_path / "run"))
    assert 0 == result.returncode, result.stderr
    (row,) = [line for line in result.stdout.splitlines() if line.split()[:1] == ["x"]]
    assert f"0..{2**63 - 1}" in row


def test_runs_metric_that_is_not_there_is_one_line(tmp_path: Path) -> None:
    """--metric nope: exit 1 and one line naming it, not a column of '-'."""
    with tblog.SummaryWriter(tmp_path / "sweep" / "a") as writer:
        writer.add_hparams({"lr": 0.1}, {"acc": 0.5})
    assert "acc" in read_run(tmp_path / "sweep" / "a").scalars
    result = _run_cli("runs", str(tmp_path / "sweep"), "--metric", "nope")
    assert 1 == result.returncode, result.stdout
    _one_error_line(result.stderr, "runs", "--metric nope", "acc")
