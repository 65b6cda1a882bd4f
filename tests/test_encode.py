"""Event encoding: hand-built scalar records equal what protobuf parses and TensorBoard reads."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, given, settings
from tbread import read_run
from tensorboardX.proto import event_pb2

from tblog._encode import BatchScalarEncoder, ScalarEncoder, code_block
from tblog._record import masked_crc

steps = st.integers(min_value=0, max_value=2**63 - 1)
values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**80), max_value=2**80),
)
tags = st.text(min_size=1, max_size=40).filter(lambda t: "\x00" not in t)


def _parse(framed: bytes) -> list[event_pb2.Event]:
    """Split framed records, check both CRCs, parse each Event."""
    events, offset = [], 0
    while offset < len(framed):
        (size,) = struct.unpack("<Q", framed[offset : offset + 8])
        (header_crc,) = struct.unpack("<I", framed[offset + 8 : offset + 12])
        data = framed[offset + 12 : offset + 12 + size]
        (data_crc,) = struct.unpack("<I", framed[offset + 12 + size : offset + 16 + size])
        assert masked_crc(framed[offset : offset + 8]) == header_crc
        assert masked_crc(data) == data_crc
        events.append(event_pb2.Event.FromString(data))
        offset += 16 + size
    return events


def _as_f32(value: float | int) -> float:
    number = float(value)
    if math.isfinite(number) and abs(number) > 3.4028234663852886e38:
        return math.copysign(math.inf, number)
    return float(struct.unpack("<f", struct.pack("<f", number))[0])


@given(tag=tags, value=values, step=steps, wall=st.floats(0, 4e9))
def test_scalar_records_parse_as_the_event_protobuf(
    tag: str, value: float, step: int, wall: float
) -> None:
    """Any tag, value, step and walltime encodes to a valid, CRC-checked Event."""
    (event,) = _parse(ScalarEncoder().encode(tag, value, step, wall))
    assert (step, wall, tag) == (event.step, event.wall_time, event.summary.value[0].tag)
    got, want = event.summary.value[0].simple_value, _as_f32(value)
    assert (math.isnan(got) and math.isnan(want)) or got == want


@settings(max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(
    points=st.lists(
        st.tuples(st.sampled_from(["a", "b/c", "loss"]), values, steps, st.floats(0, 4e9)),
        min_size=0,
        max_size=300,
    )
)
def test_batch_encoding_equals_single_encoding_per_tag(
    points: list[tuple[str, float, int, float]],
) -> None:
    """The numpy batch encoder writes the same records, each tag's points in their order."""
    single = ScalarEncoder()
    batch = BatchScalarEncoder(ScalarEncoder())
    expected: dict[str, list[bytes]] = {}
    for point in points:
        expected.setdefault(point[0], []).append(single.encode(*point))
    columns = tuple(zip(*points, strict=True)) if points else ((), (), (), ())
    got: dict[str, list[bytes]] = {}
    for chunk in batch.encode(*columns):
        offset = 0
        while offset < len(chunk):
            (size,) = struct.unpack("<Q", chunk[offset : offset + 8])
            record = chunk[offset : offset + 16 + size]
            tag = _parse(record)[0].summary.value[0].tag
            got.setdefault(tag, []).append(record)
            offset += 16 + size
    assert expected == got


def test_tensorboard_reads_batch_encoded_records(tmp_path: Path) -> None:
    """TensorBoard's loader reads a file of batch-encoded records: tags, steps, values."""
    encoder = BatchScalarEncoder(ScalarEncoder())
    tags_ = tuple("loss" if i % 3 else "acc" for i in range(1000))
    steps_ = tuple(range(1000))
    values_ = tuple(i / 10 for i in range(1000))
    chunks = encoder.encode(tags_, values_, steps_, (1.7e9,) * 1000)
    header = event_pb2.Event(wall_time=1.7e9, file_version="brain.Event:2").SerializeToString()
    from tblog._record import frame

    (tmp_path / "events.out.tfevents.1700000000.host.1.1").write_bytes(
        frame(header) + b"".join(chunks)
    )
    run = read_run(tmp_path)
    assert [i for i in range(1000) if i % 3] == run.steps("loss")
    assert [i for i in range(1000) if not i % 3] == run.steps("acc")
    assert [_as_f32(i / 10) for i in range(0, 1000, 3)] == run.values("acc")


@given(st.text())
def test_code_block_cannot_be_closed_from_inside(text: str) -> None:
    """The fence is longer than any backtick run in the text."""
    block = code_block(text)
    fence = block.split("\n", 1)[0]
    assert set(fence) == {"`"}
    assert len(fence) >= 3
    assert fence not in text
    assert block == f"{fence}\n{text}\n{fence}"


def test_a_bad_walltime_is_an_error_not_a_recursion() -> None:
    """Only an out-of-range value is clamped and retried; a bad walltime raises at once."""
    encoder = ScalarEncoder()
    with pytest.raises(struct.error):
        encoder.encode("t", 1.0, 0, "noon")  # type: ignore[arg-type]
    assert encoder.encode("t", 1e300, 0, 0.0) == encoder.encode("t", math.inf, 0, 0.0)
