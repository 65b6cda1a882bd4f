"""``filename_suffix`` is checked where a writer is made: no name a file system or store mangles."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from s3fixtures import (
    S3Bucket,
    read_s3_run,
    s3_fixture,  # noqa: F401 - the fixture "s3"
    s3_server_fixture,  # noqa: F401 - the fixture "s3_server"
)
from tbread import event_files, read_run

import tblog

_REMOTE = all(importlib.util.find_spec(m) for m in ("fsspec", "moto", "s3fs", "boto3"))
HOSTILE = ["\x00", "\n", "a\rb", "\x85", "\u2028", "\t", "?versionId=1", "#frag", "a/b", "a\\b"]


@pytest.mark.parametrize("suffix", HOSTILE)
def test_a_hostile_suffix_is_refused_naming_the_option(suffix: str, tmp_path: Path) -> None:
    """SummaryWriter and RunWriter refuse it at once, locally and remotely, saying why."""
    for make in (
        lambda: tblog.SummaryWriter(str(tmp_path / "run"), filename_suffix=suffix),
        lambda: tblog.SummaryWriter("s3://bucket/run", filename_suffix=suffix),
    ):
        with pytest.raises(ValueError, match="filename_suffix"):
            make()
    assert not (tmp_path / "run").exists() or not event_files(tmp_path / "run")


def test_an_ordinary_suffix_still_works_locally(tmp_path: Path) -> None:
    """Dots, dashes, spaces and non-ASCII letters stay allowed."""
    with tblog.SummaryWriter(str(tmp_path / "run"), filename_suffix=".v1-é x") as writer:
        writer.add_scalar("x", 1.0, 0)
    (path,) = event_files(tmp_path / "run")
    assert path.endswith(".v1-é x")
    assert [0] == read_run(tmp_path / "run").steps("x")


@pytest.mark.skipif(not _REMOTE, reason="needs fsspec, moto[server], s3fs and boto3")
def test_an_ordinary_suffix_reads_back_from_the_store(
    s3: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote run with a suffix: every segment ends in it and TensorBoard reads every point."""
    monkeypatch.setenv("TBLOG_SPOOL", str(tmp_path / "spool"))
    url = s3.url("runs/suffix")
    with tblog.SummaryWriter(url, filename_suffix=".v1") as writer:
        for step in range(10):
            writer.add_scalar("x", float(step), step)
    assert all(key.endswith(".v1") for key in s3.objects("runs/suffix"))
    assert list(range(10)) == read_s3_run(url, s3.env).steps("x")
