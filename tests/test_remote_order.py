"""Remote runs beside a fast-clock host: failed puts, kills and `tblog upload` keep write order."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from s3fixtures import (
    S3Bucket,
    needs_remote,
    read_s3_run,
    s3_fixture,  # noqa: F401 - the fixture "s3"
    s3_server_fixture,  # noqa: F401 - the fixture "s3_server"
    spool_fixture,  # noqa: F401 - the fixture "spool"
)
from waiting import until

import tblog
from tblog import _location, _spool, _upload, cli

pytestmark = needs_remote


@pytest.fixture(autouse=True)
def _own_spool(spool: Path) -> Path:
    """Every test spools into its own directory."""
    return spool


def _put_fast_host_file(s3: S3Bucket, run: str) -> str:
    """Put a file-version-only event file named by a host whose clock runs 1000 s ahead."""
    import boto3

    from tblog._encode import ProtoEncoder

    name = f"{_location.EVENT_PREFIX}{int(time.time()) + 1000}.fasthost"
    client = boto3.client("s3", endpoint_url=s3.server_url)
    client.put_object(Bucket=s3.bucket, Key=f"{run}/{name}", Body=ProtoEncoder().file_version())
    return name


def _spool_of_two_segments(s3: S3Bucket, url: str) -> None:
    """Steps 0..99 then 100..199 in two segments left in the spool (the store was down)."""
    assert s3.proxy is not None
    s3.proxy.cut()
    writer = tblog.RunWriter(url, timeout_secs=0.5)
    for step in range(100):
        writer.add_scalar("x", float(step), step)
    assert writer.flush(timeout=0.1) is False
    for step in range(100, 200):
        writer.add_scalar("x", float(step), step)
    writer.close()
    spool = Path(_spool.default_spool_root())
    until(
        lambda: all(_released(d) for d in spool.iterdir()), "the writer's last attempt", timeout=30
    )
    s3.proxy.restore()


def _released(directory: Path) -> bool:
    fd = _spool.lock_spool(str(directory))
    if fd is None:
        return False
    import os

    os.close(fd)
    return True


class _FailingPuts:
    """A filesystem whose first ``failures`` puts fail; everything else goes to ``fs``."""

    def __init__(self, fs: Any, failures: int) -> None:
        self._fs = fs
        self.failures = failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fs, name)

    def pipe_file(self, *args: Any, **kwargs: Any) -> Any:
        if self.failures:
            self.failures -= 1
            raise OSError("the store is down")
        return self._fs.pipe_file(*args, **kwargs)


def _fail_puts(monkeypatch: pytest.MonkeyPatch, failures: int) -> None:
    real = _upload.open_store

    def open_store(url: str, storage_options: Any = None) -> tuple[Any, str]:
        fs, path = real(url, storage_options)
        return _FailingPuts(fs, failures), path

    monkeypatch.setattr(_upload, "open_store", open_store)


def test_uploads_resume_after_an_outage_beside_a_fast_clock_host(s3: S3Bucket) -> None:
    """A put after the store's listing fails; once the store is back, every point goes up."""
    assert s3.proxy is not None
    _put_fast_host_file(s3, "runs/resume")
    url = s3.url("runs/resume")
    writer = tblog.RunWriter(url, timeout_secs=5)
    for step in range(100):
        writer.add_scalar("x", float(step), step)
    run = writer._run
    assert run is not None
    until(lambda: getattr(run._sink, "_uploader", None) is not None, "the uploader", timeout=30)
    uploader = run._sink._uploader  # type: ignore[attr-defined]
    until(lambda: uploader.names.last is not None, "the run's listing", timeout=30)
    s3.proxy.cut()
    assert writer.flush(timeout=0.5) is False
    until(lambda: uploader.errors > 0, "a failed put", timeout=30)
    s3.proxy.restore()
    assert writer.flush(timeout=30) is True
    writer.close()
    assert list(range(100)) == read_s3_run(url, s3.env).steps("x")


def test_tblog_upload_keeps_write_order_after_a_failed_put(
    s3: S3Bucket, spool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`tblog upload` whose first put fails, then again: TensorBoard reads 0..199 in order."""
    url = s3.url("runs/order")
    _spool_of_two_segments(s3, url)
    _put_fast_host_file(s3, "runs/order")
    _fail_puts(monkeypatch, 1)
    assert 0 != cli.main(["upload", str(spool)])
    monkeypatch.undo()
    monkeypatch.setenv("TBLOG_SPOOL", str(spool))
    assert 0 == cli.main(["upload", str(spool)])
    assert list(range(200)) == read_s3_run(url, s3.env).steps("x")
    assert not spool.exists() or not list(spool.iterdir())


def test_a_segment_put_before_a_kill_is_not_put_twice(s3: S3Bucket, spool: Path) -> None:
    """Killed after a put, before the spool file went: `tblog upload` does not duplicate it."""
    url = s3.url("runs/twice")
    _spool_of_two_segments(s3, url)
    (directory,) = spool.iterdir()
    first = min(p for p in directory.iterdir() if p.name.startswith(_location.EVENT_PREFIX))
    import boto3

    client = boto3.client("s3", endpoint_url=s3.server_url)
    client.put_object(Bucket=s3.bucket, Key=f"runs/twice/{first.name}", Body=first.read_bytes())
    assert 0 == cli.main(["upload", str(spool)])
    assert list(range(200)) == read_s3_run(url, s3.env).steps("x")
    assert 2 == len(s3.objects("runs/twice"))


def test_a_segment_put_before_a_kill_is_not_put_twice_without_listing(
    s3: S3Bucket, spool: Path
) -> None:
    """The same where listing is refused: one HEAD finds it."""
    assert s3.proxy is not None
    url = s3.url("runs/twice-nolist")
    _spool_of_two_segments(s3, url)
    (directory,) = spool.iterdir()
    first = min(p for p in directory.iterdir() if p.name.startswith(_location.EVENT_PREFIX))
    import boto3

    client = boto3.client("s3", endpoint_url=s3.server_url)
    key = f"runs/twice-nolist/{first.name}"
    client.put_object(Bucket=s3.bucket, Key=key, Body=first.read_bytes())
    s3.proxy.refuse_listing()
    s3.proxy.reset()
    assert 0 == cli.main(["upload", str(spool)])
    assert list(range(200)) == read_s3_run(url, s3.direct().env).steps("x")
    assert 2 == len(s3.objects("runs/twice-nolist"))


_CLEAN_EXIT = """
import time
import tblog
from tblog import _upload

uploads = _upload.Uploader._uploads


def slow_to_return(self):  # a loaded machine: the thread is scheduled again only after exit
    uploads(self)
    time.sleep(5)


_upload.Uploader._uploads = slow_to_return
writer = tblog.RunWriter({url!r}, timeout_secs=10)
for step in range(50):
    writer.add_scalar("x", float(step), step)
{end}
"""


@pytest.mark.parametrize("end", ["writer.close()", "assert writer.flush()", "pass"])
def test_a_clean_exit_leaves_no_empty_spool(
    s3: S3Bucket, spool: Path, tmp_path: Path, end: str
) -> None:
    """Everything uploaded by exit: the spool directory (lock and target only) is gone too."""
    import subprocess
    import sys

    from s3fixtures import child_env

    url = s3.url(f"runs/clean-{len(end)}")
    script = tmp_path / "clean.py"
    script.write_text(_CLEAN_EXIT.format(url=url, end=end))
    env = {**child_env(s3.env), "TBLOG_SPOOL": str(spool)}
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert 0 == done.returncode, done.stderr
    assert list(range(50)) == read_s3_run(url, s3.env).steps("x")
    assert [] == (list(spool.iterdir()) if spool.exists() else [])
