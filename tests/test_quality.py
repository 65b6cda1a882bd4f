"""The house rules hold: ruff (lint and format) and strict mypy are clean."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.mark.skipif(importlib.util.find_spec("ruff") is None, reason="ruff is not installed")
def test_ruff_check_and_format() -> None:
    """``ruff check`` and ``ruff format --check`` pass on the whole tree."""
    lint = _run("ruff", "check", ".")
    assert 0 == lint.returncode, lint.stdout + lint.stderr
    fmt = _run("ruff", "format", "--check", ".")
    assert 0 == fmt.returncode, fmt.stdout + fmt.stderr


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy is not installed")
def test_mypy_strict() -> None:
    """``mypy`` (strict, configured in pyproject.toml) finds no issue in the package."""
    result = _run("mypy")
    assert 0 == result.returncode, result.stdout + result.stderr
