"""Event file names stay bounded, and sort after what is there, whatever names a run holds."""

from __future__ import annotations

import importlib.util
import os
import time
import types
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
from tblog import _sink
from tblog._encode import ProtoEncoder

_REMOTE = all(importlib.util.find_spec(m) for m in ("fsspec", "moto", "s3fs", "boto3"))
# Names no clock of ours produces: no stamp, a stamp past 2286 (11 digits), bytes above "z".
FOREIGN = [
    f"{_sink.EVENT_PREFIX}zzz",
    f"{_sink.EVENT_PREFIX}99999999999.host.1.1",
    f"{_sink.EVENT_PREFIX}~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~",
    f"{_sink.EVENT_PREFIX}zzz.9999999999.host.1.1",
]
LONGEST = len(_sink.EVENT_PREFIX) + 96  # far below any file system's 255


@pytest.mark.parametrize("foreign", FOREIGN)
def test_local_names_stay_bounded_after_a_foreign_name(tmp_path: Path, foreign: str) -> None:
    """Many small files after a foreign name: all bounded, none lost, read in write order."""
    run = tmp_path / "run"
    run.mkdir()
    (run / foreign).write_bytes(ProtoEncoder().file_version())
    with tblog.RunWriter(run, max_bytes=1024) as writer:
        for step in range(600):
            writer.add_scalar("x", float(step), step)
        run_state = writer._run
    assert run_state is not None
    assert (600, 0) == (run_state.written, run_state.dropped)
    names = [os.path.basename(p) for p in event_files(run)]
    assert len(names) > 20
    assert max(len(n) for n in names) <= LONGEST
    assert foreign == min(names)
    assert list(range(600)) == read_run(run).steps("x")


def test_local_names_stay_bounded_on_an_11_digit_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clock past 2286 (or stepped there): names keep their length from file to file."""
    monkeypatch.setattr(_sink, "time", types.SimpleNamespace(time=lambda: time.time() + 2e10))
    with tblog.RunWriter(tmp_path / "run", max_bytes=1024) as writer:
        for step in range(300):
            writer.add_scalar("x", float(step), step)
    names = [os.path.basename(p) for p in event_files(tmp_path / "run")]
    assert max(len(n) for n in names) <= LONGEST
    assert list(range(300)) == read_run(tmp_path / "run").steps("x")


@pytest.mark.skipif(not _REMOTE, reason="needs fsspec, moto[server], s3fs and boto3")
def test_segment_names_stay_bounded_after_a_foreign_name(
    s3: S3Bucket, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store holds ``events.out.tfevents.zzz``: every segment is bounded and read after it."""
    import boto3

    monkeypatch.setenv("TBLOG_SPOOL", str(tmp_path / "spool"))
    foreign = f"{_sink.EVENT_PREFIX}zzz"
    client = boto3.client("s3", endpoint_url=s3.server_url)
    client.put_object(
        Bucket=s3.bucket, Key=f"runs/foreign/{foreign}", Body=ProtoEncoder().file_version()
    )
    url = s3.url("runs/foreign")
    with tblog.RunWriter(url, timeout_secs=10) as writer:
        for k in range(25):
            for step in range(10 * k, 10 * k + 10):
                writer.add_scalar("x", float(step), step)
            assert writer.flush()
    names = sorted(s3.objects("runs/foreign"))
    assert 26 == len(names)
    assert max(len(os.path.basename(n)) for n in names) <= LONGEST
    assert list(range(250)) == read_s3_run(url, s3.env).steps("x")
