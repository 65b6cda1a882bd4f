"""Run a test's Python script in a fresh interpreter, in the test's own directory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def write_script(tmp_path: Path, body: str) -> Path:
    """Write ``body`` (dedented) to ``tmp_path/script.py`` and return its path."""
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(body))
    return path


def run_script(tmp_path: Path, body: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``body`` to its end in ``tmp_path``; return what it printed and its exit code."""
    return subprocess.run(
        [sys.executable, str(write_script(tmp_path, body))],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def popen_script(tmp_path: Path, body: str) -> subprocess.Popen[str]:
    """Start ``body`` in ``tmp_path`` with its output piped, for a test that signals or waits."""
    return subprocess.Popen(
        [sys.executable, str(write_script(tmp_path, body))],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
