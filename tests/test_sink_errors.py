"""An unexpected error in a sink (not an OSError) costs the points it hit, never the writer."""

from __future__ import annotations

import importlib.util
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
from tblog import _remote, _sink

_REMOTE = all(importlib.util.find_spec(m) for m in ("fsspec", "moto", "s3fs", "boto3"))


def _fails_once(module: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the module's next create_event_file raise ValueError (as os.open does on a NUL)."""
    real = module.create_event_file
    calls = []

    def create_event_file(path: str, header: bytes) -> int:
        calls.append(path)
        if len(calls) == 1:
            raise ValueError("embedded null byte")
        return real(path, header)

    monkeypatch.setattr(module, "create_event_file", create_event_file)


def _log(writer: tblog.RunWriter) -> tuple[int, int]:
    for step in range(10):
        writer.add_scalar("x", float(step), step)
    writer.flush(timeout=10)
    for step in range(10, 20):
        writer.add_scalar("x", float(step), step)
    assert writer.flush(timeout=30)
    run = writer._run
    writer.close()
    assert run is not None
    return run.written, run.dropped


def test_a_local_file_error_costs_its_points_not_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _fails_once(_sink, monkeypatch)
    written, dropped = _log(tblog.RunWriter(tmp_path / "run"))
    assert (10, 10) == (written, dropped)
    assert list(range(10, 20)) == read_run(tmp_path / "run").steps("x")
    assert 1 == capsys.readouterr().err.count("embedded null byte")


@pytest.mark.skipif(not _REMOTE, reason="needs fsspec, moto[server], s3fs and boto3")
def test_a_segment_error_costs_its_points_not_the_writer(
    s3: S3Bucket,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TBLOG_SPOOL", str(tmp_path / "spool"))
    _fails_once(_remote, monkeypatch)
    url = s3.url("runs/sink-error")
    written, dropped = _log(tblog.RunWriter(url))
    assert (10, 10) == (written, dropped)
    assert list(range(10, 20)) == read_s3_run(url, s3.env).steps("x")
    assert 1 == capsys.readouterr().err.count("embedded null byte")


def test_a_full_disk_is_reported_with_the_file_it_hit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message names the event file even when cutting back the torn record fails too."""
    import errno
    import os

    writer = tblog.RunWriter(tmp_path / "run")
    writer.add_scalar("x", 1.0, 1)
    assert writer.flush(timeout=10)
    path = writer.file_path
    assert path is not None
    real_write = os.write

    def full(fd: int, data: Any) -> int:
        if os.path.exists(path) and os.path.samestat(os.fstat(fd), os.stat(path)):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    def cannot_truncate(fd: int, length: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(_sink.os, "write", full)
    monkeypatch.setattr(_sink.os, "ftruncate", cannot_truncate)
    writer.add_scalar("x", 2.0, 2)
    writer.flush(timeout=10)
    monkeypatch.undo()
    writer.close()
    err = capsys.readouterr().err
    assert f"cannot write to {path}: {os.strerror(errno.ENOSPC)}" in err
    assert [1] == read_run(tmp_path / "run").steps("x")
