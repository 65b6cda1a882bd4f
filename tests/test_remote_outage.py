"""Remote runs under stress: outages, live spools, clock jumps, refused listings, full disks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path
from typing import Any

import pytest
from s3fixtures import (
    S3Bucket,
    child_env,
    needs_remote,
    read_s3_run,
    s3_fixture,  # noqa: F401 - the fixture "s3"
    s3_server_fixture,  # noqa: F401 - the fixture "s3_server"
    spool_fixture,  # noqa: F401 - the fixture "spool"
)
from tbread import event_files, read_run
from waiting import until

import tblog
from tblog import _location, _remote, _sink, _spool, _upload, cli

pytestmark = needs_remote


@pytest.fixture(autouse=True)
def _own_spool(spool: Path) -> Path:
    """Every test spools into its own directory."""
    return spool


def _close(writer: tblog.RunWriter) -> tuple[int, int]:
    """Close ``writer``; return its run's (written, dropped) after the close."""
    run = writer._run
    writer.close()
    assert run is not None
    return run.written, run.dropped


def _released(root: Path) -> bool:
    """Whether no process holds the lock of a spool below ``root`` (its uploads are over)."""
    lock_spool = getattr(_spool, "lock_spool", None)
    for spool in root.iterdir() if lock_spool is not None else ():
        fd = lock_spool(str(spool))
        if fd is None:
            return False
        os.close(fd)
    return True


def _fast_clock(monkeypatch: pytest.MonkeyPatch, offset: float) -> None:
    """Shift the clock that names event files by ``offset`` seconds."""
    monkeypatch.setattr(_location, "time", types.SimpleNamespace(time=lambda: time.time() + offset))


# ---- 1: a live process's spool ----------------------------------------------------------------


def test_tblog_upload_leaves_the_spool_of_a_live_run_alone(s3: S3Bucket, spool: Path) -> None:
    """`tblog upload` while a run writes: its open segment stays; the run ends with every point."""
    url = s3.url("runs/live")
    writer = tblog.RunWriter(url, upload_secs=3600)
    for step in range(200):
        writer.add_scalar("x", float(step), step)
    assert writer.flush()
    for step in range(200, 400):
        writer.add_scalar("x", float(step), step)
    until(lambda: writer.stats.written == 400, "the writer", timeout=30)
    assert 0 == cli.main(["upload"])  # the open segment is the live run's: left alone
    for step in range(400, 600):
        writer.add_scalar("x", float(step), step)
    assert (600, 0) == _close(writer)
    assert list(range(600)) == read_s3_run(url, s3.env).steps("x")


# ---- 2, 3: a flush during an outage ---------------------------------------------------------


@pytest.mark.parametrize("timeout", [0.1, None], ids=["caller-timeout", "default-timeout"])
def test_a_timed_out_flush_does_not_make_close_give_up(
    s3: S3Bucket, spool: Path, timeout: float | None
) -> None:
    """Store down: a flush times out, close() still puts every point whole into the spool."""
    assert s3.proxy is not None
    url = s3.url("runs/flush-timeout")
    s3.proxy.cut()
    writer = tblog.RunWriter(url, timeout_secs=1.0)
    for step in range(100):
        writer.add_scalar("x", float(step), step)
    assert writer.flush(timeout=timeout) is False
    for step in range(100, 1100):
        writer.add_scalar("x", float(step), step)
    assert (1100, 0) == _close(writer)
    until(lambda: _released(spool), "the writer's last upload attempt", timeout=30)
    s3.proxy.restore()
    assert 0 == cli.main(["upload", str(spool)])
    assert list(range(1100)) == read_s3_run(url, s3.env).steps("x")


def test_an_outage_never_parks_the_writer(s3: S3Bucket, spool: Path) -> None:
    """Store down: after a flush, the writer keeps spooling; a small queue drops nothing."""
    assert s3.proxy is not None
    url = s3.url("runs/parked")
    s3.proxy.cut()
    writer = tblog.RunWriter(url, timeout_secs=5.0, max_queue=1000, block_secs=0.5)
    writer.add_scalar("x", 0.0, 0)
    assert writer.flush(timeout=0.1) is False
    for step in range(1, 20_000):
        writer.add_scalar("x", float(step), step)
    until(lambda: writer.stats.written + writer.stats.dropped >= 20_000, "the writer", timeout=10)
    assert 0 == writer.stats.dropped
    s3.proxy.restore()
    assert writer.flush(timeout=30)
    writer.close()
    assert list(range(20_000)) == read_s3_run(url, s3.env).steps("x")


# ---- 4: a store that never answers, at exit -------------------------------------------------

_EXIT = """
import time, tblog
writer = tblog.RunWriter({url!r}, timeout_secs=1.0)
for step in range(50):
    writer.add_scalar("x", float(step), step)
print(time.time(), flush=True)
"""


def test_exit_waits_timeout_secs_for_a_store_that_never_answers(
    s3: S3Bucket, tmp_path: Path, spool: Path
) -> None:
    """A store that accepts connections and never answers: exit takes timeout_secs, not +20 s."""
    url = s3.url("runs/silent")
    script = tmp_path / "exit.py"
    script.write_text(textwrap.dedent(_EXIT.format(url=url)))
    with socket.create_server(("127.0.0.1", 0)) as silent:  # never accepts: never answers
        env = {
            **child_env(s3.env),
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
            "TBLOG_SPOOL": str(spool),
        }
        done = subprocess.run(
            [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        exit_secs = time.time() - float(done.stdout.strip())
    assert 0 == done.returncode, done.stderr
    assert "tblog upload" in done.stderr
    assert exit_secs < 1.0 + 5.0  # timeout_secs, and slack for a loaded machine (was 21 s)
    assert 0 == cli.main(["upload", str(spool)])
    assert list(range(50)) == read_s3_run(url, s3.env).steps("x")


# ---- 5: a clock that steps back ---------------------------------------------------------------


def test_local_file_names_stay_bounded_when_the_clock_steps_back(
    logdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The clock 5000 s back after the first file: 40 more files, names bounded and in order."""
    writer = tblog.RunWriter(logdir, max_bytes=1024)
    for step in range(25):
        writer.add_scalar("x", float(step), step)
    assert writer.flush()
    _fast_clock(monkeypatch, -5000)
    for step in range(25, 1000):
        writer.add_scalar("x", float(step), step)
        if step % 25 == 24:
            assert writer.flush()
    assert 0 == _close(writer)[1]
    names = [os.path.basename(f) for f in event_files(logdir)]
    assert len(names) >= 40
    assert max(map(len, names)) <= len(names[0]) + 4
    assert list(range(1000)) == read_run(logdir).steps("x")


def test_segment_names_stay_bounded_when_the_clock_steps_back(
    s3: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same on S3: every key short, every point read back in order."""
    url = s3.url("runs/clock")
    writer = tblog.RunWriter(url)
    for step in range(25):
        writer.add_scalar("x", float(step), step)
    assert writer.flush()
    _fast_clock(monkeypatch, -5000)
    for step in range(25, 500):
        writer.add_scalar("x", float(step), step)
        if step % 25 == 24:
            assert writer.flush()
    assert 0 == _close(writer)[1]
    keys = list(s3.objects("runs/clock"))
    assert len(keys) >= 20
    assert max(map(len, keys)) <= min(map(len, keys)) + 4
    assert list(range(500)) == read_s3_run(url, s3.env).steps("x")


# ---- 6: a later name in the store, then a kill ------------------------------------------------

_KILLED = """
import os, signal, tblog
writer = tblog.get_writer({url!r})
for step in range(200, 300):
    writer.add_scalar("x", float(step), step)
print(writer.flush(timeout=0.5), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _fast_host_file(tmp_path: Path) -> tuple[str, bytes]:
    """An event file of steps 0..199 named by a host whose clock runs a day ahead."""
    with tblog.RunWriter(tmp_path / "fast") as writer:
        for step in range(200):
            writer.add_scalar("x", float(step), step)
    (path,) = event_files(tmp_path / "fast")
    name = f"{_location.EVENT_PREFIX}{int(time.time()) + 86_400}.fasthost.1.1"
    return name, Path(path).read_bytes()


def test_a_killed_run_uploaded_later_sorts_after_a_fast_clock_host(
    s3: S3Bucket, tmp_path: Path, spool: Path
) -> None:
    """The store holds a later-sorting name; a killed run, uploaded later, still reads after it."""
    assert s3.proxy is not None
    import boto3

    url = s3.url("runs/fast")
    name, data = _fast_host_file(tmp_path)
    client = boto3.client("s3", endpoint_url=s3.server_url)
    client.put_object(Bucket=s3.bucket, Key=f"runs/fast/{name}", Body=data)
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(_KILLED.format(url=url)))
    env = {**child_env(s3.env), "TBLOG_SPOOL": str(spool), "AWS_MAX_ATTEMPTS": "1"}
    s3.proxy.cut()
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    assert -signal.SIGKILL == done.returncode, done.stderr
    s3.proxy.restore()
    assert 0 == cli.main(["upload", str(spool)])
    assert list(range(300)) == read_s3_run(url, s3.env).steps("x")


def test_a_running_writer_sorts_after_a_fast_clock_host(s3: S3Bucket, tmp_path: Path) -> None:
    """The same without a kill: the writer's own uploads read after the later name."""
    import boto3

    url = s3.url("runs/fast-live")
    name, data = _fast_host_file(tmp_path)
    client = boto3.client("s3", endpoint_url=s3.server_url)
    client.put_object(Bucket=s3.bucket, Key=f"runs/fast-live/{name}", Body=data)
    with tblog.RunWriter(url) as writer:
        for step in range(200, 300):
            writer.add_scalar("x", float(step), step)
            if step % 50 == 49:
                assert writer.flush()
    assert list(range(300)) == read_s3_run(url, s3.env).steps("x")
    assert 3 == len(s3.objects("runs/fast-live"))


# ---- 7: credentials that may write but not list -------------------------------------------------


def test_uploads_need_no_list_permission(s3: S3Bucket, spool: Path) -> None:
    """ListObjects refused (403): the writer and `tblog upload` still upload every segment."""
    assert s3.proxy is not None
    s3.proxy.refuse_listing()
    url = s3.url("runs/nolist")
    with tblog.RunWriter(url, timeout_secs=5) as writer:
        for step in range(100):
            writer.add_scalar("x", float(step), step)
        assert writer.flush()
    s3.proxy.cut()
    with tblog.RunWriter(url, timeout_secs=0.5) as writer:
        for step in range(100, 200):
            writer.add_scalar("x", float(step), step)
    until(lambda: _released(spool), "the writer's last upload attempt", timeout=30)
    s3.proxy.restore()
    assert 0 == cli.main(["upload", str(spool)])
    refused = [r for r in s3.proxy.snapshot() if r.status == 403]
    assert refused
    assert list(range(200)) == read_s3_run(url, s3.direct().env).steps("x")


# ---- 8: two uploads of one spool at once ------------------------------------------------------


def test_two_uploads_of_one_spool_at_once_both_succeed(
    s3: S3Bucket, spool: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second `tblog upload` runs while the first uploads: both exit 0, every point arrives."""
    assert s3.proxy is not None
    url = s3.url("runs/twice")
    s3.proxy.cut()
    with tblog.RunWriter(url, timeout_secs=0.5) as writer:
        for step in range(300):
            writer.add_scalar("x", float(step), step)
            if step % 100 == 99:
                writer.flush(timeout=0.1)
    until(lambda: _released(spool), "the writer's last upload attempt", timeout=30)
    s3.proxy.restore()
    open_store = _upload.open_store
    inner: list[int] = []

    class Racing:
        def __init__(self, fs: Any) -> None:
            self._fs = fs

        def __getattr__(self, name: str) -> Any:
            return getattr(self._fs, name)

        def pipe_file(self, *args: Any, **kwargs: Any) -> Any:
            if not inner:  # the second upload runs in the middle of the first one's first PUT
                inner.append(-1)
                inner[0] = cli.main(["upload", str(spool)])
            return self._fs.pipe_file(*args, **kwargs)

    def racing_store(*args: Any, **kwargs: Any) -> tuple[Any, str]:
        fs, path = open_store(*args, **kwargs)
        return Racing(fs), path

    monkeypatch.setattr(_upload, "open_store", racing_store)
    assert 0 == cli.main(["upload", str(spool)])
    assert [0] == inner
    assert list(range(300)) == read_s3_run(url, s3.env).steps("x")


# ---- 9: counters when a batch spans files and the next cannot be created ------------------------


def _fail_after_first_file(monkeypatch: pytest.MonkeyPatch, module: Any) -> None:
    create = module.create_event_file
    made: list[str] = []

    def failing(path: str, header: bytes) -> int:
        if made:
            raise OSError(28, "No space left on device")
        made.append(path)
        return create(path, header)

    monkeypatch.setattr(module, "create_event_file", failing)


def test_counters_match_what_tensorboard_reads_when_a_local_file_cannot_be_made(
    logdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One batch over several files, the second cannot be created: written = what is readable."""
    _fail_after_first_file(monkeypatch, _sink)
    writer = tblog.RunWriter(logdir, max_bytes=4096, flush_secs=3600)
    for step in range(400):
        writer.add_scalar("x", float(step), step)
    writer.flush()
    counted = _close(writer)
    readable = len(read_run(logdir).steps("x"))
    assert 0 < readable < 400
    assert (readable, 400 - readable) == counted


def test_counters_match_what_tensorboard_reads_when_a_segment_cannot_be_made(
    s3: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same for segments of a remote run, read back from S3."""
    _fail_after_first_file(monkeypatch, _remote)
    url = s3.url("runs/counted")
    writer = tblog.RunWriter(url, max_bytes=4096, flush_secs=3600)
    for step in range(400):
        writer.add_scalar("x", float(step), step)
    writer.flush()
    counted = _close(writer)
    readable = len(read_s3_run(url, s3.env).steps("x"))
    assert 0 < readable < 400
    assert (readable, 400 - readable) == counted
