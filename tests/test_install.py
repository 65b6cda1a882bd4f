"""Installing the test extra as a new user does: a fresh venv, its own pip, README's command."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Packages whose releases must match each other: s3fs pins fsspec and aiobotocore, aiobotocore
#: pins a narrow botocore range, and every boto3 release needs the botocore of its own day.
S3_SET = ("s3fs", "fsspec", "aiobotocore", "botocore", "boto3")


def _test_extra() -> dict[str, str]:
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    found = {}
    for requirement in extras["test"]:
        name = re.match(r"[A-Za-z0-9_.-]+", requirement)
        assert name is not None
        found[name.group(0).lower()] = requirement[name.end() :]
    return found


def _readme_test_command() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    intro = text.index("Install the test extra in a fresh virtual environment")
    block = text[text.index("```bash\n", intro) + len("```bash\n") :]
    return block[: block.index("```")].strip().splitlines()


def test_the_s3_packages_of_the_test_extra_are_bounded() -> None:
    """Each package of the S3 set has an upper bound, so pip never backtracks past the set."""
    extra = _test_extra()
    for name in S3_SET:
        assert name in extra, f"{name} is not pinned in the test extra"
        spec = extra[name]
        assert "==" in spec or "<" in spec, f"{name}{spec} has no upper bound"


def test_the_installed_s3_set_is_the_pinned_one() -> None:
    """What this environment has satisfies the test extra's pins (they are a working set)."""
    from importlib.metadata import PackageNotFoundError, version

    requirements = pytest.importorskip("packaging.requirements")
    extra = _test_extra()
    for name in S3_SET:
        try:
            installed = version(name)
        except PackageNotFoundError:
            pytest.skip(f"{name} is not installed")
        requirement = requirements.Requirement(name + extra[name].split("#")[0].strip())
        assert requirement.specifier.contains(installed), f"{name} {installed} vs {requirement}"


def test_ci_runs_readmes_test_command_in_a_fresh_venv() -> None:
    """README's test command makes a fresh venv; .ci/run runs each of its lines, in order."""
    command = _readme_test_command()
    assert command[0].startswith("python3 -m venv .venv")
    assert 'pip install -e ".[test]" && python -m pytest' == command[-1]
    ci = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    where = [ci.index(line) for line in command]
    assert sorted(where) == where
    assert "rm -rf .venv" in ci[: where[0]]
    assert ci[-1] == command[-1]


def test_the_wheel_holds_every_module_of_the_package(tmp_path: Path) -> None:
    """A wheel built from a clean copy has every module of tblog (the CLI's subpackage too)."""
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "tblog", source / "tblog", ignore=shutil.ignore_patterns("__pycache__"))
    # Built as pip builds it for a user: in isolation, with the build-system's own requirements.
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path)]
    built = subprocess.run(
        [*command, str(source)], capture_output=True, text=True, check=False, timeout=300
    )
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("tblog-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {p.relative_to(source).as_posix() for p in (source / "tblog").rglob("*.py")}
    assert modules - names == set()
