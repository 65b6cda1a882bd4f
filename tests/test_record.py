"""tblog._record: the TFRecord framing every writer, uploader and reader of tblog shares."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from tbread import read_run

from tblog import _record


def _scalar_events(tag: str, steps: range) -> list[Any]:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    events = [event_pb2.Event(wall_time=100.0, file_version="brain.Event:2")]
    for step in steps:
        value = summary_pb2.Summary.Value(tag=tag, simple_value=step / 2)
        summary = summary_pb2.Summary(value=[value])
        events.append(event_pb2.Event(wall_time=100.0 + step, step=step, summary=summary))
    return events


def _framed(steps: range, tag: str = "loss") -> bytes:
    return b"".join(_record.frame(e.SerializeToString()) for e in _scalar_events(tag, steps))


def test_framed_records_are_read_back_by_tensorboard(tmp_path: Path) -> None:
    """Events framed here are what TensorBoard's loader shows: every step and value."""
    (tmp_path / "events.out.tfevents.1.host").write_bytes(_framed(range(5)))
    assert [(s, s / 2) for s in range(5)] == read_run(tmp_path).scalars["loss"]


def test_framing_matches_tensorboards_record_writer() -> None:
    """The bytes of a framed record equal those TensorBoard's own RecordWriter writes."""
    from tensorboard.summary.writer.record_writer import RecordWriter

    out = io.BytesIO()
    data = _scalar_events("acc", range(3))[2].SerializeToString()
    RecordWriter(out).write(data)
    assert out.getvalue() == _record.frame(data)
    assert _record.frame_header(len(data)) == out.getvalue()[: _record.HEADER.size]


def test_split_records_round_trips_and_stops_at_a_torn_tail() -> None:
    """Splitting framed data gives each record's data back; a torn last record is left out."""
    datas = [e.SerializeToString() for e in _scalar_events("x", range(4))]
    framed = b"".join(_record.frame(d) for d in datas)
    assert datas == list(_record.split_records(framed))
    assert datas[:-1] == list(_record.split_records(framed[:-3]))
    assert len(framed) == _record.whole_records(framed)
    assert len(framed) - len(_record.frame(datas[-1])) == _record.whole_records(framed[:-3])


def test_whole_records_stop_at_a_bad_crc() -> None:
    """A record whose data CRC or length CRC is wrong ends the whole-record prefix."""
    first, second = _record.frame(b"first"), _record.frame(b"second")
    bad_data = second[:-1] + bytes([second[-1] ^ 1])
    bad_length = second[:8] + bytes([second[8] ^ 1]) + second[9:]
    assert len(first) == _record.whole_records(first + bad_data + first)
    assert len(first) == _record.whole_records(first + bad_length + first)
    assert [b"first"] == list(_record.split_records(first + bad_data))


def test_read_records_reads_a_file_as_split_records_does(tmp_path: Path) -> None:
    """Reading a file record by record gives what splitting its bytes gives, torn tail too."""
    path = tmp_path / "events.out.tfevents.1.host"
    data = _framed(range(6))[:-5]
    path.write_bytes(data)
    with path.open("rb") as file:
        assert list(_record.split_records(data)) == list(_record.read_records(file))


def test_fitting_keeps_whole_records_within_the_room() -> None:
    """The fitting prefix ends on a record boundary; a record larger than the room goes alone."""
    records = [_record.frame(b"a" * n) for n in (10, 20, 30)]
    data = b"".join(records)
    assert len(records[0]) + len(records[1]) == _record.fitting(data, len(data) - 1)
    assert len(records[0]) == _record.fitting(data, 1)  # not even the first fits
    assert 2 == _record.records_in(data, len(records[0]) + len(records[1]))


def test_the_mask_is_tfrecords() -> None:
    """The masked CRC is TensorBoard's (tensorboard's own crc32c helper agrees)."""
    from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c

    for data in (b"", b"tblog", bytes(range(256))):
        assert masked_crc32c(data) == _record.masked_crc(data)
