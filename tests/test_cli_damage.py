"""The CLI names a damaged event file, as TensorBoard's loader does, and shows the rest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from test_read import _tb_scalars

import tblog


def _damaged_run(tmp_path: Path) -> tuple[Path, Path]:
    """A run of five points whose last record has a bad data CRC."""
    run_dir = tmp_path / "run"
    with tblog.get_writer(run_dir) as writer:
        for step in range(5):
            writer.add_scalar("a", float(step), step)
    (path,) = run_dir.glob("events.out.tfevents.*")
    data = bytearray(path.read_bytes())
    data[-3] ^= 1
    path.write_bytes(bytes(data))
    return run_dir, path


def _tblog(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "tblog", *args],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_summary_and_export_name_a_damaged_file_and_show_what_tensorboard_shows(
    tmp_path: Path,
) -> None:
    """Summary, export, runs: a stderr line names the file; the points before the bad one show."""
    run_dir, path = _damaged_run(tmp_path)
    shown = [step for step, _, _ in _tb_scalars(run_dir)["a"]]
    assert [0, 1, 2, 3] == shown  # TensorBoard's loader stops at the bad record
    for command in ("summary", "export", "runs"):
        proc = _tblog(command, str(run_dir))
        lines = proc.stderr.splitlines()
        assert 0 == proc.returncode, proc.stderr
        assert 1 == len(lines), proc.stderr
        assert lines[0].startswith(f"tblog {command}: {path}")
    export = _tblog("export", str(run_dir), "--format", "csv").stdout.splitlines()
    assert 1 + len(shown) == len(export)  # a header, then one line per point TensorBoard shows
    runs = _tblog("runs", str(run_dir), "--format", "csv").stdout.splitlines()
    assert ["run,a", ".,3.0"] == runs  # the last value TensorBoard shows (the run: ".")


def test_watch_shows_a_damaged_file_in_its_frame(tmp_path: Path) -> None:
    """A ``watch --once`` frame names the damaged file under its run, then the run's tags."""
    run_dir, path = _damaged_run(tmp_path)
    proc = _tblog("watch", "--once", str(run_dir))
    assert 0 == proc.returncode, proc.stderr
    assert f"  damaged: {path}" in proc.stdout
    assert "a" in proc.stdout.split("damaged:")[1]  # the tag still shows below it
