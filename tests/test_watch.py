"""tblog watch: a live view of runs that refreshes as they grow, in a terminal or a pipe."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

import tblog
from tblog._cli.watch import Watch
from tblog.cli import main


def _frame_lines(frame: list[str], prefix: str) -> list[list[str]]:
    return [line.split() for line in frame if line.strip().startswith(prefix)]


def test_refresh_picks_up_new_records_files_and_runs(tmp_path: Path) -> None:
    """Each refresh shows what was added since: new points, a new event file, a new run."""
    with tblog.get_writer(tmp_path / "a") as writer:
        for step in range(5):
            writer.add_scalar("loss", float(step), step)
        writer.add_text("log", "```\nepoch 1 done\n```", 0)
    watch = Watch([str(tmp_path)], lines=3)
    frame = watch.refresh()
    assert f"run {tmp_path / 'a'}" in frame
    assert ["loss", "5", "0..4", "4", "0", "4"] == _frame_lines(frame, "loss ")[0][:6]
    assert any(line.endswith("log@0: epoch 1 done") for line in frame)
    with tblog.get_writer(tmp_path / "a") as writer:  # a second event file in run a
        for step in range(5, 8):
            writer.add_scalar("loss", -1.0, step)
    with tblog.get_writer(tmp_path / "b") as writer:  # a new run
        writer.add_scalar("acc", 0.5, 0)
    frame = watch.refresh()
    assert ["loss", "8", "0..7", "-1", "-1", "4"] == _frame_lines(frame, "loss ")[0][:6]
    assert f"run {tmp_path / 'b'}" in frame
    assert ["acc", "1", "0..0", "0.5"] == _frame_lines(frame, "acc ")[0][:4]


def _tblog(*args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tblog", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )


def test_plain_text_frames_when_stdout_is_not_a_terminal(tmp_path: Path) -> None:
    """Piped: one plain frame per refresh, no cursor control, exit 0 after --max-refreshes."""
    with tblog.get_writer(tmp_path / "run") as writer:
        writer.add_scalar("loss", 0.5, 0)
    result = _tblog("watch", str(tmp_path), "--max-refreshes", "2", "--interval", "0.05")
    assert (0, "") == (result.returncode, result.stderr)
    assert "\x1b" not in result.stdout
    frames = [f for f in result.stdout.split("\n\n") if f.strip()]
    assert 2 == len(frames)
    for frame in frames:
        lines = frame.splitlines()
        assert lines[0].startswith("tblog watch: ")
        assert f"run {tmp_path / 'run'}" in lines
        assert any(line.split()[:2] == ["loss", "1"] for line in lines)


def test_once_on_a_missing_path_says_it_waits_and_exits_1(tmp_path: Path) -> None:
    """--once on a path that does not exist yet: the frame says so, exit status 1."""
    result = _tblog("watch", str(tmp_path / "later"), "--once")
    assert 1 == result.returncode
    assert f"{tmp_path / 'later'}: waiting (" in result.stdout
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args", [["--interval", "0"], ["--interval", "nan"], ["--lines", "-1"]])
def test_bad_options_are_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    """--interval must be a number > 0, --lines >= 0: argparse's usage error, exit 2."""
    with pytest.raises(SystemExit) as info:
        main(["watch", "runs", *args])
    assert 2 == info.value.code
    assert "argument --" in capsys.readouterr().err


def test_ctrl_c_ends_a_piped_watch_cleanly(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) while watching: exit status 0, no traceback."""
    with tblog.get_writer(tmp_path / "run") as writer:
        writer.add_scalar("loss", 0.5, 0)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tblog", "watch", str(tmp_path), "--interval", "0.05"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("tblog watch: ")  # it is running
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert 0 == proc.returncode
    assert "Traceback" not in err


WRITER = """
import sys, time
import tblog
root = sys.argv[1]
with tblog.setup("job", log_root=root + "/logs", runs_root=root + "/runs", console=False) as run:
    for step in range(2000):
        run.scalar("train/loss", 1.0 / (step + 1), step)
        if step % 10 == 0:
            run.info(f"reached step {step}")
        if step == 40:
            second = tblog.get_writer(root + "/runs/second")
        if step >= 40:
            second.add_scalar("val/acc", step / 2000, step)
        tblog.flush()
        time.sleep(0.02)
"""


def _pane(session: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", session],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout


def _wait_for(session: str, predicate: object, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _pane(session)
        if predicate(screen):  # type: ignore[operator]
            return screen
        time.sleep(0.1)
    pytest.fail(f"the screen never showed what was expected:\n{screen}")


def _points(screen: str, tag: str) -> int:
    rows = [line.split() for line in screen.splitlines() if line.strip().startswith(tag + " ")]
    return int(rows[0][1]) if rows else 0


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_watch_in_a_terminal_follows_a_run_another_process_writes(tmp_path: Path) -> None:
    """In tmux: the screen redraws as a second process writes; new runs appear; Ctrl-C exits 0."""
    script = tmp_path / "writer.py"
    script.write_text(textwrap.dedent(WRITER))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    writer = subprocess.Popen([sys.executable, str(script), str(tmp_path)], env=env)
    session = f"tblog-watch-{uuid.uuid4().hex[:8]}"
    command = (
        f"{sys.executable} -m tblog watch {tmp_path / 'runs'} --interval 0.2 --lines 2; "
        "echo EXIT=$?"
    )
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50"],
        check=True,
        env=env,
        timeout=30,
    )
    try:
        subprocess.run(["tmux", "send-keys", "-t", session, command, "Enter"], check=True)
        screen = _wait_for(session, lambda s: _points(s, "train/loss") > 0)
        first = _points(screen, "train/loss")
        screen = _wait_for(session, lambda s: _points(s, "train/loss") > first + 20)
        assert "(Ctrl-C to quit)" in screen
        screen = _wait_for(session, lambda s: "val/acc" in s and "reached step" in s)
        assert f"run {tmp_path / 'runs' / 'second'}" in screen
        assert screen.count("tblog watch: ") == 1  # redrawn in place, not scrolled
        subprocess.run(["tmux", "send-keys", "-t", session, "C-c"], check=True)
        screen = _wait_for(session, lambda s: "EXIT=" in s)
        assert "EXIT=0" in screen
        assert "Traceback" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False, timeout=30)
        writer.kill()
        writer.wait(timeout=30)
