"""tblog.read_*: corruptions that cancel out, and tensors whose declared shape is hostile."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from test_read import _ours
from test_read_damage import _events, _scalar_events, _tb_shown, read_scalars_traced

import tblog
from tblog._read.framing import block_crcs, row_crcs
from tblog.read import DamagedEventFileWarning

pd = pytest.importorskip("pandas")
pytest.importorskip("tensorboard")


def _write(run_dir: Path, data: bytes) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "events.out.tfevents.1.host"
    path.write_bytes(data)
    return path


def _flip(data: bytes, *positions: int) -> bytes:
    out = bytearray(data)
    for pos in positions:
        out[pos] ^= 1
    return bytes(out)


def test_row_crcs_are_each_records_crc32c() -> None:
    """The bulk CRC equals crc32c of each row, for every length a record can have."""
    import numpy as np
    from crc32c import crc32c

    rng = np.random.default_rng(0)
    for length in (0, 1, 3, 4, 5, 38, 41, 100):
        rows = rng.integers(0, 256, size=(200, length), dtype=np.uint8)
        assert [crc32c(row.tobytes()) for row in rows] == row_crcs(rows).tolist()


def test_block_crcs_are_each_records_crc32c() -> None:
    """Blocks of many lengths checked together (padded to share a pass) keep each row's CRC."""
    import numpy as np
    from crc32c import crc32c

    rng = np.random.default_rng(1)
    lengths = [0, 1, 7, 31, 32, 33, 40, 47, 63, 64, 65, 100, 127, 128, 129, 300]
    blocks = [
        rng.integers(0, 256, size=(int(rng.integers(1, 40)), n), dtype=np.uint8) for n in lengths
    ]
    for rows, crcs in zip(blocks, block_crcs(blocks), strict=True):
        assert [crc32c(row.tobytes()) for row in rows] == crcs.tolist(), rows.shape


@pytest.mark.parametrize("tag", ["loss", "loss/b"])
def test_a_corrupt_record_among_other_lengths_ends_the_file_there(tmp_path: Path, tag: str) -> None:
    """Two tags whose records differ in length are checked in one pass; a flip in either counts."""
    events = _scalar_events("loss", [])  # the file_version header
    for step in range(100):
        events += _scalar_events("loss", [step])[1:]
        events += _scalar_events("loss/b", [step])[1:]
    records = [_events([event]) for event in events]
    bad = 1 + 2 * 40 + (0 if tag == "loss" else 1)  # the record of ``tag`` at step 40
    pos = sum(len(r) for r in records[:bad]) + 12 + 6  # a byte of its tag
    _write(tmp_path, _flip(b"".join(records), pos))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = tblog.read_scalars(tmp_path)
    shown = _tb_shown(tmp_path)
    assert shown == _ours(df)
    assert list(range(40 if tag == "loss" else 41)) == [step for step, _, _ in shown["loss"]]
    assert any(issubclass(w.category, DamagedEventFileWarning) for w in caught)


@pytest.mark.parametrize("where", ["data", "footer"])
def test_two_equal_corruptions_never_cancel(tmp_path: Path, where: str) -> None:
    """The same flip in two equal-length records: the file ends at the first, as in TensorBoard."""
    events = _scalar_events("loss", range(200, 300))
    head = len(_events(events[:1]))
    size = len(_events(events[1:2]))  # every scalar record here has this length
    offset = 12 + 8 if where == "data" else size - 2  # a byte of the tag, or of the data CRC
    first, second = head + 11 * size + offset, head + 21 * size + offset
    _write(tmp_path, _flip(_events(events), first, second))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = tblog.read_scalars(tmp_path)
    shown = _tb_shown(tmp_path)
    assert list(range(200, 211)) == [step for step, _, _ in shown["loss"]]
    assert shown == _ours(df)
    assert any(issubclass(w.category, DamagedEventFileWarning) for w in caught)


def _tensor_events(tensor: Any, plugin: str) -> list[Any]:
    from tensorboard.compat.proto import event_pb2, summary_pb2

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin)
    )
    odd = summary_pb2.Summary.Value(tag="odd", tensor=tensor, metadata=meta)
    return [
        *_scalar_events("loss", range(3)),
        event_pb2.Event(wall_time=50.0, step=1, summary=summary_pb2.Summary(value=[odd])),
    ]


def _shaped(*dims: int) -> Any:
    from tensorboard.compat.proto import tensor_pb2, tensor_shape_pb2

    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=d) for d in dims]
    )
    return tensor_pb2.TensorProto(dtype=1, float_val=[1.0], tensor_shape=shape)


@pytest.mark.parametrize("dims", [(10**8,), (10**10,), (-1, -1), (2**40, 2**40)])
def test_a_hostile_tensor_shape_allocates_nothing_and_spoils_nothing(
    tmp_path: Path, dims: tuple[int, ...]
) -> None:
    """One value declared as a huge or unknown shape: the run reads as TensorBoard shows it."""
    _write(tmp_path, _events(_tensor_events(_shaped(*dims), "pr_curves")))
    df, peak = read_scalars_traced(tmp_path)
    assert peak < 64 << 20
    assert _tb_shown(tmp_path) == _ours(df)
    assert ["loss"] * 3 == list(df["tag"])


@pytest.mark.parametrize("records", [3, 60])
def test_a_tensor_of_shape_zero_is_never_a_scalar(tmp_path: Path, records: int) -> None:
    """Shape [0] holds no value: no point, however many records (fast and slow paths agree)."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    events = _scalar_events("loss", range(2))
    for step in range(records):
        value = summary_pb2.Summary.Value(tag="x", tensor=_shaped(0), metadata=meta)
        events.append(
            event_pb2.Event(wall_time=9.0, step=step, summary=summary_pb2.Summary(value=[value]))
        )
    _write(tmp_path, _events(events))
    df = tblog.read_scalars(tmp_path)
    assert ["loss", "loss"] == list(df["tag"])
