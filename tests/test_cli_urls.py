"""The tblog command with URLs, as a new user meets them: every problem is one line, exit 1."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from s3fixtures import (
    S3Bucket,
    child_env,
    free_port,
    read_s3_run,
    s3_env,
    s3_fixture,  # noqa: F401 - the fixture "s3"
    s3_server_fixture,  # noqa: F401 - the fixture "s3_server"
)

ROOT = Path(__file__).resolve().parent.parent
HAS_S3 = all(importlib.util.find_spec(m) for m in ("fsspec", "s3fs", "moto", "boto3"))
needs_s3 = pytest.mark.skipif(not HAS_S3, reason="needs fsspec, s3fs, moto[server] and boto3")

#: Each command with the URL put where it takes one ({log}: a JSON-lines log to replay).
COMMANDS = {
    "summary": ["summary", "{url}"],
    "export": ["export", "{url}"],
    "watch": ["watch", "{url}", "--once"],
    "replay": ["replay", "{log}", "--logdir", "{url}"],
    "runs": ["runs", "{url}"],
}


def _cli(
    args: list[str], env: dict[str, str], tmp_path: Path, stubs: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m tblog ARGS`` with ``env`` (and modules in ``stubs`` shadowing real ones).

    A remote run's spool goes below ``tmp_path``.
    """
    paths = [str(stubs)] if stubs is not None else []
    paths += [str(ROOT), os.environ.get("PYTHONPATH", "")]
    full = {
        **env,
        "PYTHONPATH": os.pathsep.join(p for p in paths if p),
        "TBLOG_SPOOL": str(tmp_path / "spool"),
    }
    return subprocess.run(
        [sys.executable, "-m", "tblog", *args],
        capture_output=True, text=True, timeout=120, check=False, env=full, cwd=tmp_path,
    )  # fmt: skip


def _args(command: str, url: str, tmp_path: Path) -> list[str]:
    return [a.format(url=url, log=_log(tmp_path)) for a in COMMANDS[command]]


def _one_line(result: subprocess.CompletedProcess[str], command: str, *words: str) -> str:
    """Exit 1 and one ``tblog <command>: ...`` line on stderr holding ``words``; return it."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert 1 == len(lines), result.stderr
    assert lines[0].startswith(f"tblog {command}: "), lines[0]
    for word in words:
        assert word in lines[0]
    assert 1 == result.returncode
    return lines[0]


def _log(tmp_path: Path) -> str:
    log = tmp_path / "log.jsonl"
    log.write_text(
        "".join(json.dumps({"tag": "x", "value": n, "step": n}) + "\n" for n in range(3))
    )
    return str(log)


def _stub(tmp_path: Path, module: str) -> Path:
    """A directory whose ``module`` fails to import, as when its package is not installed."""
    stubs = tmp_path / "stubs"
    stubs.mkdir(exist_ok=True)
    (stubs / f"{module}.py").write_text(
        f"raise ModuleNotFoundError({f'No module named {module!r}'!r}, name={module!r})\n"
    )
    return stubs


def _no_store_env() -> dict[str, str]:
    """S3 credentials and an endpoint on a loopback port where nothing listens."""
    return child_env(s3_env(f"http://127.0.0.1:{free_port()}"))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unknown_scheme_is_one_line(tmp_path: Path, command: str) -> None:
    """nosuch://: fsspec knows no such store; the line names the URL."""
    pytest.importorskip("fsspec")
    result = _cli(_args(command, "nosuch://bucket/run", tmp_path), child_env({}), tmp_path)
    _one_line(result, command, "nosuch://bucket/run", "no filesystem")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_a_missing_store_package_is_one_line(tmp_path: Path, command: str) -> None:
    """gs:// without gcsfs: the line says which package to install."""
    pytest.importorskip("fsspec")
    stubs = _stub(tmp_path, "gcsfs")
    result = _cli(_args(command, "gs://bucket/run", tmp_path), child_env({}), tmp_path, stubs)
    _one_line(result, command, "gs://bucket/run", "gcsfs")


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_remote_extra_missing_is_one_line(tmp_path: Path, command: str) -> None:
    """s3:// without fsspec: the line names the extra to install."""
    stubs = _stub(tmp_path, "fsspec")
    result = _cli(_args(command, "s3://bucket/run", tmp_path), _no_store_env(), tmp_path, stubs)
    _one_line(result, command, "s3://bucket/run", 'pip install "tblog[remote]"')


@needs_s3
@pytest.mark.parametrize("command", list(COMMANDS))
def test_no_credentials_is_one_line(tmp_path: Path, command: str) -> None:
    """No AWS credentials anywhere: one line that says so, not a botocore traceback."""
    env = _no_store_env()
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key)
    result = _cli(_args(command, "s3://bucket/run", tmp_path), env, tmp_path)
    _one_line(result, command, "s3://bucket/run", "credentials")


@needs_s3
@pytest.mark.parametrize("command", list(COMMANDS))
def test_an_unreachable_endpoint_is_one_line_and_quick(tmp_path: Path, command: str) -> None:
    """An endpoint nobody answers: one line naming the URL, within a few seconds (not ~21 s)."""
    started = time.monotonic()
    result = _cli(_args(command, "s3://bucket/run", tmp_path), _no_store_env(), tmp_path)
    elapsed = time.monotonic() - started
    line = _one_line(result, command, "s3://bucket/run")
    assert "connect" in line.lower() or "tblog upload" in line
    assert elapsed < 8, f"{elapsed:.1f}s"


@needs_s3
def test_replay_to_a_bucket_reads_back_and_leaves_no_local_directory(
    tmp_path: Path, s3: S3Bucket
) -> None:
    """Replay --logdir s3://...: TensorBoard reads the points there; nothing named s3: is made."""
    url = s3.url("replayed")
    result = _cli(["replay", _log(tmp_path), "--logdir", url], child_env(s3.env), tmp_path)
    assert 0 == result.returncode, result.stderr
    assert [(0, 0.0), (1, 1.0), (2, 2.0)] == read_s3_run(url, s3.env).scalars["x"]
    assert not (tmp_path / "s3:").exists()


@needs_s3
@pytest.mark.parametrize("command", ["replay", "watch"])
def test_a_missing_bucket_is_one_line(tmp_path: Path, s3: S3Bucket, command: str) -> None:
    """A run still to be written is fine, a bucket that does not exist is not: exit 1 at once."""
    url = f"s3://{s3.bucket}-missing/run"
    result = _cli(_args(command, url, tmp_path), child_env(s3.env), tmp_path)
    _one_line(result, command, url, "no such bucket")


@needs_s3
def test_replay_whose_points_stay_in_the_spool_fails_and_names_upload(
    tmp_path: Path, s3: S3Bucket
) -> None:
    """Uploads refused after the check (a bucket removed): the wait ends; exit 1, `tblog upload`."""
    url = f"s3://{s3.bucket}-missing/run"
    skip_check = (
        "import sys, tblog.cli as cli, tblog._cli.replay as replay; "
        "replay.check_url = lambda *a, **k: None; "
        "replay.UPLOAD_PATIENCE = 2.0; sys.exit(cli.main(sys.argv[1:]))"
    )
    env = {
        **child_env(s3.env),
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
        "TBLOG_SPOOL": str(tmp_path / "spool"),
    }
    result = subprocess.run(
        [sys.executable, "-c", skip_check, "replay", _log(tmp_path), "--logdir", url],
        capture_output=True, text=True, timeout=60, check=False, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert 1 == result.returncode, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert last.startswith("tblog replay: ")
    assert url in last
    assert "tblog upload" in last
    assert os.listdir(tmp_path / "spool")  # the points wait there for `tblog upload`


def test_replay_of_a_file_that_is_not_json_at_all_fails(tmp_path: Path) -> None:
    """No line of the input is JSON: nothing to write is no success; exit 1, one line."""
    log = tmp_path / "events.bin"
    log.write_bytes(b"\x00\x01binary\n\xff\xfe\nnot json either\n")
    result = _cli(["replay", str(log), "--logdir", str(tmp_path / "run")], child_env({}), tmp_path)
    line = _one_line(result, "replay", str(log), "no line is a JSON object")
    assert "nothing was written" in line
    assert "3 lines, 0 points written" in result.stdout
