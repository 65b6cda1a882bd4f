"""Where the bytes go: ``LocalFile`` on its own, and remote segments as a bucket shows them.

``LocalFile`` is driven directly (no writer thread) with framed records; every run it writes is
read back with TensorBoard's own loader. Remote runs go through the public API to the loopback
S3 server, and what lands in the bucket is read with TensorBoard's loader too.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
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
from tbread import event_files, read_run

import tblog
from tblog import _sink
from tblog._encode import ProtoEncoder, ScalarEncoder
from tblog._kinds import TEXT
from tblog._record import split_records, whole_records
from tblog._sink import LocalFile

_SCALARS = ScalarEncoder()
_PROTOS = ProtoEncoder()


def _records(steps: range, tag: str = "x") -> bytes:
    """Framed scalar records of ``steps`` (value = step)."""
    return b"".join(_SCALARS.encode(tag, float(s), s, 1_000_000.0 + s) for s in steps)


def _local(
    logdir: Path, max_bytes: int | None = None, firsts: list[bool] | None = None
) -> LocalFile:
    """A LocalFile whose files start with file_version; ``firsts`` gets each header call's flag."""

    def header(first: bool) -> bytes:
        if firsts is not None:
            firsts.append(first)
        return _PROTOS.file_version()

    return LocalFile(str(logdir), header, max_bytes)


def _events(data: bytes) -> list[Any]:
    from tensorboard.compat.proto import event_pb2

    assert whole_records(data) == len(data), "a torn record"
    return [event_pb2.Event.FromString(r) for r in split_records(data)]


def _steps_in(data: bytes) -> list[int]:
    """The steps of the summary events of one event file's bytes."""
    return [int(e.step) for e in _events(data) if e.HasField("summary")]


def _is_event_file(data: bytes) -> bool:
    """Whole records, starting with the file_version record every event file starts with."""
    events = _events(data)
    return bool(events) and events[0].file_version == "brain.Event:2"


def _tblog_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("tblog:")]


class _Os:
    """``os`` as ``tblog._sink`` sees it, with some calls replaced (a disk with faults)."""

    def __init__(self, **replaced: Callable[..., Any]) -> None:
        self.__dict__.update(replaced)

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


# ---- LocalFile: rotation ---------------------------------------------------------------------


def test_rotation_starts_a_new_file_at_max_bytes_on_record_boundaries(tmp_path: Path) -> None:
    """No file passes max_bytes, each is a whole event file, and they read back in order."""
    logdir = tmp_path / "run"
    firsts: list[bool] = []
    sink = _local(logdir, max_bytes=1024, firsts=firsts)
    for batch in range(10):
        data = _records(range(batch * 25, batch * 25 + 25))
        assert len(data) == sink.write(data)
    sink.close(0.0)
    files = event_files(logdir)
    assert len(files) > 3
    contents = [Path(f).read_bytes() for f in files]
    assert all(len(c) <= 1024 for c in contents)
    assert all(_is_event_file(c) for c in contents)
    assert list(range(250)) == [s for c in contents for s in _steps_in(c)]  # name order
    assert list(range(250)) == read_run(logdir).steps("x")
    assert [True] + [False] * (len(files) - 1) == firsts  # a resume's purge goes first only
    assert 0 == sink.errors


def test_a_record_larger_than_max_bytes_goes_alone_into_a_file(tmp_path: Path) -> None:
    """Records are never split: one bigger than the cap gets a file of its own."""
    logdir = tmp_path / "run"
    sink = _local(logdir, max_bytes=1024)
    big = _PROTOS.event(TEXT, "notes", "a" * 3000, 5, 1_000_000.0)
    data = _records(range(5)) + big + _records(range(6, 10))
    assert len(data) == sink.write(data)
    sink.close(0.0)
    contents = [Path(f).read_bytes() for f in event_files(logdir)]
    assert [[0, 1, 2, 3, 4], [5], [6, 7, 8, 9]] == [_steps_in(c) for c in contents]
    shown = read_run(logdir)
    assert [(5, "a" * 3000)] == shown.texts["notes"]
    assert [0, 1, 2, 3, 4, 6, 7, 8, 9] == shown.steps("x")


def test_every_file_carries_the_suffix_and_sorts_after_the_ones_before(tmp_path: Path) -> None:
    """Names end with the suffix; a second sink in the same directory sorts after the first."""
    logdir = tmp_path / "run"
    first = LocalFile(str(logdir), lambda _: _PROTOS.file_version(), None, ".opts")
    assert first.write(_records(range(5)))
    first.close(0.0)
    second = LocalFile(str(logdir), lambda _: _PROTOS.file_version(), None, ".opts")
    assert second.write(_records(range(5, 10)))
    second.close(0.0)
    files = event_files(logdir)
    assert [first.path, second.path] == [None, None]  # closed: no file being written
    assert 2 == len(files)
    assert all(f.endswith(".opts") for f in files)
    assert list(range(10)) == read_run(logdir).steps("x")


def test_a_forked_childs_copy_starts_afresh_in_its_own_directory(tmp_path: Path) -> None:
    """reset_in_child: the parent's file is left alone; the child's first file has no purge."""
    logdir = tmp_path / "run"
    firsts: list[bool] = []
    sink = _local(logdir, firsts=firsts)
    assert sink.write(_records(range(5)))
    parent_file = sink.path
    assert parent_file is not None
    size = os.path.getsize(parent_file)
    sink.reset_in_child(str(logdir / "child_1"))
    assert sink.path is None
    assert sink.write(_records(range(5, 8)))
    sink.close(0.0)
    assert size == os.path.getsize(parent_file)
    assert [True, False] == firsts  # a resume's purge belongs to the parent's file only
    assert list(range(5)) == read_run(logdir).steps("x")
    assert [5, 6, 7] == read_run(logdir / "child_1").steps("x")


# ---- LocalFile: a deleted file ---------------------------------------------------------------


@pytest.mark.parametrize("noticed_by", ["check", "write"])
def test_a_deleted_file_is_noticed_and_a_new_one_started(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], noticed_by: str
) -> None:
    """Writes into a removed run directory would vanish: one line, and a new file takes them."""
    logdir = tmp_path / "run"
    sink = _local(logdir)
    assert sink.write(_records(range(10)))
    old = sink.path
    assert old is not None
    os.remove(old)
    os.rmdir(logdir)
    if noticed_by == "check":
        sink.check()  # idle: the periodic pass notices it
        assert sink.path is None
    data = _records(range(10, 20))
    assert len(data) == sink.write(data)  # written again into the new file
    sink.close(0.0)
    assert list(range(10, 20)) == read_run(logdir).steps("x")
    lines = _tblog_lines(capsys.readouterr().err)
    assert 1 == len(lines), lines
    assert f"the event file {old} was deleted" in lines[0]


# ---- LocalFile: a file that cannot be created ------------------------------------------------


def _block_with_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A run directory below a regular file: it cannot be created until the file goes."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    return blocker / "run", os.strerror(errno.ENOTDIR)


def _null_byte_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """os.open raising ValueError (as it does for a NUL in a name) the first two times."""
    calls: list[str] = []

    def open_(path: str, *args: Any) -> int:
        calls.append(path)
        if len(calls) <= 2:
            msg = "embedded null byte"
            raise ValueError(msg)
        return os.open(path, *args)

    monkeypatch.setattr(_sink, "os", _Os(open=open_))
    return tmp_path / "run", "ValueError: embedded null byte"


@pytest.mark.parametrize("fault", [_block_with_a_file, _null_byte_once])
def test_a_failed_create_is_reported_once_and_recovers(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fault: Callable[[Path, pytest.MonkeyPatch], tuple[Path, str]],
) -> None:
    """Each write drops its records while creating fails; one line; the next file works."""
    logdir, why = fault(tmp_path, monkeypatch)
    sink = _local(logdir)
    assert 0 == sink.write(_records(range(10)))
    assert 0 == sink.write(_records(range(10, 20)))
    assert 2 == sink.errors
    if (tmp_path / "blocker").exists():
        (tmp_path / "blocker").unlink()
    data = _records(range(20, 30))
    assert len(data) == sink.write(data)
    sink.close(0.0)
    monkeypatch.undo()
    assert list(range(20, 30)) == read_run(logdir).steps("x")
    lines = _tblog_lines(capsys.readouterr().err)
    assert 2 == len(lines), lines
    assert f"cannot create an event file in {logdir}: {why}" in lines[0]
    assert "works again" in lines[1]


# ---- LocalFile: a full disk ------------------------------------------------------------------


class _Disk:
    """A disk that fills up: writes go half-way, then ENOSPC, until it is freed."""

    def __init__(self) -> None:
        self.full = False
        self.truncate_fails = False
        self._half_done = False

    def write(self, fd: int, data: Any) -> int:
        if not self.full:
            return os.write(fd, data)
        if not self._half_done and len(data) > 1:  # a torn record, as a real full disk leaves
            self._half_done = True
            return os.write(fd, bytes(data[: len(data) // 2 + 7]))  # mid-record
        self._half_done = False
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def ftruncate(self, fd: int, length: int) -> None:
        if self.truncate_fails:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        os.ftruncate(fd, length)


def test_a_full_disk_drops_only_the_failed_records_and_names_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """ENOSPC part way: cut back to whole records, one line naming the file, then it resumes."""
    logdir = tmp_path / "run"
    disk = _Disk()
    monkeypatch.setattr(_sink, "os", _Os(write=disk.write, ftruncate=disk.ftruncate))
    sink = _local(logdir)
    assert sink.write(_records(range(10)))
    path = sink.path
    assert path is not None
    size = os.path.getsize(path)
    disk.full = True
    assert 0 == sink.write(_records(range(10, 20)))
    assert size == os.path.getsize(path)  # the torn half record was cut away
    assert 0 == sink.write(_records(range(20, 30)))
    disk.full = False
    data = _records(range(30, 40))
    assert len(data) == sink.write(data)
    sink.close(0.0)
    monkeypatch.undo()
    assert [path] == event_files(logdir)
    assert list(range(10)) + list(range(30, 40)) == read_run(logdir).steps("x")
    assert 2 == sink.errors
    lines = _tblog_lines(capsys.readouterr().err)
    assert 2 == len(lines), lines
    assert f"cannot write to {path}: {os.strerror(errno.ENOSPC)}" in lines[0]
    assert f"writing to {path} works again" in lines[1]


def test_a_full_disk_is_named_even_when_cutting_back_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message names the event file although the failed cut-back let the file go."""
    logdir = tmp_path / "run"
    disk = _Disk()
    monkeypatch.setattr(_sink, "os", _Os(write=disk.write, ftruncate=disk.ftruncate))
    sink = _local(logdir)
    assert sink.write(_records(range(10)))
    path = sink.path
    disk.full = disk.truncate_fails = True
    assert 0 == sink.write(_records(range(10, 20)))
    assert sink.path is None  # a file it could not repair is not written again
    disk.full = disk.truncate_fails = False
    data = _records(range(20, 30))
    assert len(data) == sink.write(data)
    sink.close(0.0)
    monkeypatch.undo()
    err = capsys.readouterr().err
    assert f"cannot write to {path}: {os.strerror(errno.ENOSPC)}" in err
    files = event_files(logdir)
    assert [path] == files[:1]
    assert 2 == len(files)
    assert list(range(20, 30)) == _steps_in(Path(files[1]).read_bytes())
    shown = read_run(logdir).steps("x")  # the old file ends in a torn record it could not cut
    assert (list(range(10)), list(range(20, 30))) == (shown[:10], shown[-10:])


# ---- remote segments -------------------------------------------------------------------------


def _objects(s3: S3Bucket, run: str) -> list[bytes]:
    """The objects of a run in the bucket, in name order (TensorBoard's reading order)."""
    return [s3.get(key) for key in sorted(s3.objects(run + "/"))]


@needs_remote
def test_each_flush_leaves_one_complete_segment_in_the_bucket(s3: S3Bucket, spool: Path) -> None:
    """A segment per flush, each a whole event file, named in write order; TensorBoard reads all."""
    url = s3.url("runs/segments")
    writer = tblog.RunWriter(url, upload_secs=600.0)
    for batch in range(3):
        for step in range(batch * 50, batch * 50 + 50):
            writer.add_scalar("x", float(step), step)
        assert writer.flush(timeout=30)
    writer.close()
    objects = _objects(s3, "runs/segments")
    assert 3 == len(objects)
    assert all(_is_event_file(o) for o in objects)
    assert [list(range(b * 50, b * 50 + 50)) for b in range(3)] == [_steps_in(o) for o in objects]
    assert list(range(150)) == read_s3_run(url, s3.env).steps("x")


@needs_remote
def test_max_bytes_cuts_segments_on_record_boundaries(s3: S3Bucket, spool: Path) -> None:
    """With max_bytes, no object passes it and every one is a whole event file."""
    url = s3.url("runs/small")
    writer = tblog.RunWriter(url, upload_secs=600.0, max_bytes=1024)
    for step in range(200):
        writer.add_scalar("x", float(step), step)
    writer.close()
    objects = _objects(s3, "runs/small")
    assert len(objects) > 3
    assert all(len(o) <= 1024 and _is_event_file(o) for o in objects)
    assert list(range(200)) == [s for o in objects for s in _steps_in(o)]
    assert list(range(200)) == read_s3_run(url, s3.env).steps("x")


@needs_remote
def test_a_spool_that_cannot_be_made_costs_its_points_and_recovers(
    s3: S3Bucket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spool directory blocked by a file: those points are dropped, one line; then it works."""
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    url = s3.url("runs/blocked")
    writer = tblog.RunWriter(url, upload_secs=600.0, spool_dir=blocker)
    for step in range(10):
        writer.add_scalar("x", float(step), step)
    assert writer.flush(timeout=30) is False
    blocker.unlink()
    for step in range(10, 20):
        writer.add_scalar("x", float(step), step)
    assert writer.flush(timeout=30)
    stats = writer.stats
    writer.close()
    assert (10, 10) == (stats.written, stats.dropped)
    assert list(range(10, 20)) == read_s3_run(url, s3.env).steps("x")
    lines = [line for line in _tblog_lines(capsys.readouterr().err) if "spool" in line]
    assert 2 == len(lines), lines
    assert f"cannot write the spool of {url}" in lines[0]
    assert f"the spool of {url} works again" in lines[1]


@needs_remote
def test_a_spool_error_that_is_no_oserror_costs_its_points_not_the_writer(
    s3: S3Bucket, capsys: pytest.CaptureFixture[str]
) -> None:
    """A spool path os refuses with ValueError: points dropped and counted, one line, no hang."""
    writer = tblog.RunWriter(s3.url("runs/nul"), upload_secs=600.0, spool_dir="spool\0here")
    for step in range(10):
        writer.add_scalar("x", float(step), step)
    assert writer.flush(timeout=30) is False
    for step in range(10, 20):
        writer.add_scalar("x", float(step), step)
    assert writer.flush(timeout=30) is False
    stats = writer.stats
    writer.close()
    assert (0, 20) == (stats.written, stats.dropped)
    assert {} == s3.objects("runs/nul/")
    lines = _tblog_lines(capsys.readouterr().err)
    assert 1 == len(lines), lines
    assert "ValueError: embedded null byte" in lines[0]
