"""tblog.read_*: damaged files, odd tensors, symlinked runs, tag names and stores that change."""

from __future__ import annotations

import struct
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from s3fixtures import S3Bucket, s3_fixture, s3_server_fixture  # noqa: F401
from test_read import _assert_like_tensorboard, _ours, _tb_runs, _tb_scalars

import tblog
from tblog import _read
from tblog._record import frame, masked_crc

pd = pytest.importorskip("pandas")


def _events(records: list[Any]) -> bytes:
    return b"".join(frame(r.SerializeToString()) for r in records)


def _scalar_events(tag: str, steps: range, wall: float = 100.0) -> list[Any]:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    events = [event_pb2.Event(wall_time=wall, file_version="brain.Event:2")]
    for step in steps:
        value = summary_pb2.Summary.Value(tag=tag, simple_value=float(step))
        summary = summary_pb2.Summary(value=[value])
        events.append(event_pb2.Event(wall_time=wall + step, step=step, summary=summary))
    return events


def read_scalars_traced(path: Path) -> tuple[Any, int]:
    """``tblog.read_scalars(path)`` and the peak of memory it allocated on the way (bytes)."""
    tracemalloc.start()
    try:
        df = tblog.read_scalars(path)
        return df, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _tb_raises(run_dir: Path) -> type[BaseException] | None:
    """The exception TensorBoard's Python loader raises reading ``run_dir``, if any."""
    try:
        _tb_shown(run_dir)
    except Exception as exc:
        return type(exc)
    return None


def _tb_shown(run_dir: Path) -> dict[str, list[tuple[int, float, Any]]]:
    """The scalars TensorBoard's Python loader shows; none when no tag has the scalars plugin."""
    try:
        return _tb_scalars(run_dir)
    except KeyError:  # "Plugin 'scalars' could not be found": the run has no scalar tags
        return {}


# ---- 10: a record protobuf rejects, among many of its length ------------------------------------


def test_an_invalid_record_among_equal_length_ones_raises_value_error_naming_the_file(
    tmp_path: Path,
) -> None:
    """A CRC-valid record protobuf rejects, in a long run of its length: ValueError, file named."""
    events = _scalar_events("aaaa", range(200, 400))
    good = events[50].SerializeToString()
    bad = good.replace(b"aaaa", b"a\xffaa")  # same length, a tag that is no UTF-8
    assert len(bad) == len(good)
    path = tmp_path / "events.out.tfevents.1.host"
    for at in range(1, 40):  # wherever the framer's runs of equal lengths begin
        records = [e.SerializeToString() for e in events]
        records[at] = bad
        path.write_bytes(b"".join(frame(r) for r in records))
        if at == 1:
            assert _tb_raises(tmp_path) is not None  # TensorBoard's loader raises there too
        with pytest.raises(ValueError, match="not a valid event file") as info:
            tblog.read_scalars(tmp_path)
        assert str(path) in str(info.value)
        assert not isinstance(info.value, _decode_error())


def _decode_error() -> type[BaseException]:
    from google.protobuf.message import DecodeError

    return DecodeError


def test_an_invalid_record_in_an_old_style_run_raises_value_error(tmp_path: Path) -> None:
    """The older-purge-rule path (no file_version 2) also raises ValueError naming the file."""
    events = _scalar_events("x", range(5, 0, -1))[1:]  # steps go back, no file_version
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(_events(events) + frame(b"\xff\xff\xff\xff"))
    with pytest.raises(ValueError, match="not a valid event file") as info:
        tblog.read_scalars(tmp_path)
    assert str(path) in str(info.value)
    assert not isinstance(info.value, _decode_error())


# ---- 11: a length that claims more than the file holds ------------------------------------------


@pytest.mark.parametrize("claim", [3 << 30, 1 << 62])
def test_a_huge_length_claim_allocates_nothing_and_ends_the_file(
    tmp_path: Path, claim: int
) -> None:
    """A header claiming GiBs early in a 3 MB file: the points before it, no large allocation."""
    events = _scalar_events("loss", range(20_000))
    head = struct.pack("<Q", claim)
    tail = head + struct.pack("<I", masked_crc(head)) + b"\0" * (5 << 19)
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(_events(events) + tail)
    assert path.stat().st_size > 3 << 20
    df, peak = read_scalars_traced(tmp_path)
    assert peak < 64 << 20
    assert list(range(20_000)) == list(df["step"])
    if claim < 1 << 40:  # TensorBoard's loader allocates the claim (a MemoryError beyond RAM)
        assert _tb_scalars(tmp_path) == _ours(df)


def test_iter_records_never_reads_past_the_file(tmp_path: Path) -> None:
    """The record iterator stops at a length the file cannot hold, without allocating it."""
    head = struct.pack("<Q", 1 << 62)
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(frame(b"ok") + head + struct.pack("<I", masked_crc(head)) + b"x" * 10)
    assert [b"ok"] == list(_read.iter_records(path))


# ---- 12: runs reached through directory symlinks ------------------------------------------------


def _write_run(run_dir: Path, tag: str = "x") -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "events.out.tfevents.1.host"
    path.write_bytes(_events(_scalar_events(tag, range(5))))


def test_runs_through_directory_symlinks_are_found_as_tensorboard_finds_them(
    tmp_path: Path,
) -> None:
    """A symlinked run and a symlinked root of runs are read, named by the link's path."""
    _write_run(tmp_path / "elsewhere" / "a")
    _write_run(tmp_path / "elsewhere" / "nested" / "b")
    logdir = tmp_path / "logdir"
    _write_run(logdir / "local")
    (logdir / "linked_run").symlink_to(tmp_path / "elsewhere" / "a")
    (logdir / "linked_root").symlink_to(tmp_path / "elsewhere")
    df = _assert_like_tensorboard(logdir)
    expected = ["linked_root/a", "linked_root/nested/b", "linked_run", "local"]
    assert expected == sorted(set(df["run"]))


def test_a_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    """A link back to an ancestor is not followed again: the walk ends, each run once."""
    _write_run(tmp_path / "logdir" / "a")
    (tmp_path / "logdir" / "a" / "up").symlink_to(tmp_path / "logdir")
    (tmp_path / "logdir" / "self").symlink_to(".")
    df = tblog.read_scalars(tmp_path / "logdir")
    assert ["a"] == sorted(set(df["run"]))
    assert 5 == len(df)


# ---- 13: exact tag names with glob characters ---------------------------------------------------


def test_exact_tag_names_match_even_with_glob_characters(tmp_path: Path) -> None:
    """tags=["acc[0]"] keeps the tag named acc[0]; globs still work."""
    with tblog.get_writer(tmp_path) as writer:
        for step in range(3):
            writer.add_scalar("acc[0]", 0.5, step)
            writer.add_scalar("acc[1]", 0.25, step)
            writer.add_scalar("loss*", 1.0, step)
            writer.add_text("note?", "hi", step)
    tblog.close()
    assert {"acc[0]"} == set(tblog.read_scalars(tmp_path, tags=["acc[0]"])["tag"])
    assert {"loss*"} == set(tblog.read_scalars(tmp_path, tags="loss*")["tag"])
    assert {"acc[0]", "acc[1]"} == set(tblog.read_scalars(tmp_path, tags="acc*")["tag"])
    assert {"note?"} == set(tblog.read_text(tmp_path, tags=["note?"])["tag"])


# ---- 14: scalar tensors of every dtype TensorBoard shows ----------------------------------------

# dtype enum, numpy type of tensor_content, the repeated field and what it holds (None: none)
_DTYPES: list[tuple[int, str, str | None]] = [
    (1, "<f4", "float_val"),
    (2, "<f8", "double_val"),
    (3, "<i4", "int_val"),
    (4, "<u1", "int_val"),
    (5, "<i2", "int_val"),
    (6, "<i1", "int_val"),
    (9, "<i8", "int64_val"),
    (10, "?", "bool_val"),
    (17, "<u2", "int_val"),
    (19, "<f2", "half_val"),
    (22, "<u4", None),
    (23, "<u8", None),
]


def _tensor_run(run_dir: Path, kinds: list[tuple[str, int, str | None, Any]]) -> None:
    """One scalars-plugin tag per (tag, dtype, field or "content", value), five steps each."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    events = [event_pb2.Event(wall_time=1.0, file_version="brain.Event:2")]
    for step in range(5):
        for tag, dtype, field, number in kinds:
            tensor = tensor_pb2.TensorProto(
                dtype=dtype, tensor_shape=tensor_shape_pb2.TensorShapeProto()
            )
            if field is None:
                tensor.tensor_content = np.array([number + step]).astype(number.dtype).tobytes()
            elif field == "half_val":
                bits = np.array([number + step], dtype=np.float16).view(np.uint16)
                tensor.half_val.append(int(bits[0]))
            else:
                getattr(tensor, field).append(number.item() + step * (field != "bool_val"))
            value = summary_pb2.Summary.Value(tag=tag, tensor=tensor, metadata=meta)
            summary = summary_pb2.Summary(value=[value])
            events.append(event_pb2.Event(wall_time=10.0 + step, step=step, summary=summary))
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "events.out.tfevents.1.host").write_bytes(_events(events))


def test_scalar_tensors_of_every_dtype_tensorboard_shows(tmp_path: Path) -> None:
    """float16 (packed and half_val), uint8-64, int8-64, bool: what TensorBoard's loader shows."""
    kinds: list[tuple[str, int, str | None, Any]] = []
    for dtype, content, field in _DTYPES:
        number = np.array(1 if content == "?" else 3, dtype=content)
        kinds.append((f"content/{dtype}", dtype, None, number))
        if field is not None:
            kinds.append((f"field/{dtype}", dtype, field, number))
    _tensor_run(tmp_path, kinds)
    df = tblog.read_scalars(tmp_path)
    tb = _tb_scalars(tmp_path)
    assert {k[0] for k in kinds} == set(tb)
    assert tb == _ours(df)


def test_scalar_tensors_tensorboard_cannot_show_are_left_out(tmp_path: Path) -> None:
    """uint32/uint64 in their value fields: TensorBoard's loader shows none; neither does tblog."""
    kinds: list[tuple[str, int, str | None, Any]] = [
        ("u32", 22, "uint32_val", np.array(3, dtype="<u4")),
        ("u64", 23, "uint64_val", np.array(3, dtype="<u8")),
    ]
    for tag, dtype, field, number in kinds:
        _tensor_run(tmp_path / tag, [(tag, dtype, field, number)])
        assert _tb_raises(tmp_path / tag) is TypeError  # "Unsupported tensor type"
    assert 0 == len(tblog.read_scalars(tmp_path))


# ---- 15: a store that changes between reads in one process --------------------------------------


def _put(s3: S3Bucket, key: str, data: bytes) -> None:
    from s3fixtures import boto3_client

    boto3_client(s3.server_url).put_object(Bucket=s3.bucket, Key=key, Body=data)


def test_a_second_read_of_an_s3_run_sees_new_objects(s3: S3Bucket) -> None:
    """Segments and runs added after a first read_scalars show in the second (fresh listings)."""
    pytest.importorskip("s3fs")
    segment = 0

    def put(run: str, steps: range) -> None:
        nonlocal segment
        segment += 1
        data = _events(_scalar_events("x", steps))
        _put(s3, f"runs/{run}/events.out.tfevents.{1_000_000_000 + segment}.host", data)

    put("a", range(10))
    assert 10 == len(tblog.read_scalars(s3.url("runs")))
    assert 10 == len(tblog.read_scalars(s3.url("runs/a")))
    for start in range(10, 50, 10):
        put("a", range(start, start + 10))
    put("b", range(3))
    df = tblog.read_scalars(s3.url("runs"))
    assert 50 == (df["run"] == "a").sum()
    assert 3 == (df["run"] == "b").sum()
    assert 50 == len(tblog.read_scalars(s3.url("runs/a")))


def test_a_run_reader_lists_an_s3_run_afresh_on_every_update(s3: S3Bucket) -> None:
    """What the watch command keeps between refreshes: RunReader.update sees new segments."""
    pytest.importorskip("s3fs")
    key = "w/events.out.tfevents.{}.host"
    _put(s3, key.format(1_000_000_001), _events(_scalar_events("x", range(10))))
    ((name, reader),) = _read.open_runs(s3.url("w"), [_read.SCALARS])[1]
    reader.update()
    assert 10 == len(reader.scalars().step)
    _put(s3, key.format(1_000_000_002), _events(_scalar_events("x", range(10, 20))))
    reader.update()
    assert 20 == len(reader.scalars().step)
    assert "." == name


# ---- 16: a corrupt file is named ----------------------------------------------------------------


def test_a_corrupt_event_file_is_named_in_a_warning(tmp_path: Path) -> None:
    """A file that is no event file: a DamagedEventFileWarning naming it; the others are read."""
    _write_run(tmp_path / "good")
    bad = tmp_path / "bad" / "events.out.tfevents.1.host"
    bad.parent.mkdir()
    bad.write_bytes(b"this is not an event file at all, just some text\n" * 10)
    assert {} == _tb_shown(tmp_path / "bad")  # TensorBoard shows nothing there
    with pytest.warns(tblog.read.DamagedEventFileWarning, match=str(bad)) as caught:
        df = tblog.read_scalars(tmp_path)
    assert [__file__] == [w.filename for w in caught]  # points at the caller
    assert ["good"] == sorted(set(df["run"]))
    with pytest.warns(tblog.read.DamagedEventFileWarning) as caught:
        tblog.read_text(tmp_path)
    assert [__file__] == [w.filename for w in caught]
    with pytest.warns(tblog.read.DamagedEventFileWarning, match=str(bad)) as caught:
        tblog.read_hparams(tmp_path)
    assert [__file__] == [w.filename for w in caught]
    assert _tb_runs(tmp_path) == ["bad", "good"]


def test_a_bad_crc_mid_file_is_named(tmp_path: Path) -> None:
    """A bad data CRC: the points before it, a warning naming the file and where it stopped."""
    data = bytearray(_events(_scalar_events("x", range(100))))
    data[-30] ^= 0xFF
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(bytes(data))
    with pytest.warns(tblog.read.DamagedEventFileWarning, match=str(path)):
        df = tblog.read_scalars(tmp_path)
    assert _tb_scalars(tmp_path) == _ours(df)
    with pytest.warns(tblog.read.DamagedEventFileWarning, match="CRC"):
        tblog.read_text(tmp_path)


def test_a_torn_tail_is_no_damage(tmp_path: Path) -> None:
    """A run still being written ends in a torn record: no warning (it is read once whole)."""
    data = _events(_scalar_events("x", range(100)))
    (tmp_path / "events.out.tfevents.1.host").write_bytes(data[:-7])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert 99 == len(tblog.read_scalars(tmp_path))


def test_a_run_reader_lists_damaged_files(tmp_path: Path) -> None:
    """RunReader.damaged maps each damaged file to the reason (what the CLI prints)."""
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(b"\x00" * 64)
    ((_, reader),) = _read.open_runs(tmp_path, [_read.SCALARS])[1]
    reader.update()
    assert [str(path)] == list(reader.damaged)
    assert "length CRC" in reader.damaged[str(path)]


def test_a_rewritten_s3_event_file_is_read_to_its_new_end(s3: S3Bucket) -> None:
    """An event file given as the path, rewritten longer (TensorBoard's boto3 writer does)."""
    pytest.importorskip("s3fs")
    key = "f/events.out.tfevents.1000000001.host"
    _put(s3, key, _events(_scalar_events("x", range(10))))
    tblog.read_scalars(s3.url("f"))  # a listing of the run that holds it, now cached
    ((_, reader),) = _read.open_runs(s3.url(key), [_read.SCALARS])[1]
    reader.update()
    assert 10 == len(reader.scalars().step)
    _put(s3, key, _events(_scalar_events("x", range(20))))
    reader.update()
    assert 20 == len(reader.scalars().step)
