"""tblog.read_*: every point TensorBoard's own loader shows, for runs written by anything."""

from __future__ import annotations

import math
import os
import shutil
import struct
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tbread import event_files, read_run

import tblog
from tblog import _read
from tblog._encode import ScalarEncoder
from tblog._read import file as read_file
from tblog._read import framing
from tblog._record import frame, masked_crc

pd = pytest.importorskip("pandas")


# ---- TensorBoard's view, for comparison -------------------------------------------------------


def _same(value: float) -> Any:
    """A value that compares equal to itself when it is NaN."""
    return "nan" if math.isnan(value) else value


def _tb_scalars(run_dir: Path) -> dict[str, list[tuple[int, float, Any]]]:
    """Every scalar TensorBoard's Python loader shows: tag -> (step, wall_time, value).

    This is ``plugin_event_accumulator``, the loader behind ``tensorboard --load_fast=false``:
    ``simple_value`` and scalar tensors alike, the first SessionLog.START of a run ignored.
    """
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    acc = pea.EventAccumulator(str(run_dir), size_guidance={"tensors": 0})
    acc.Reload()
    out = {}
    for tag in acc.PluginTagToContent("scalars"):
        out[tag] = [
            (e.step, e.wall_time, _same(float(tensor_util.make_ndarray(e.tensor_proto).item())))
            for e in acc.Tensors(tag)
        ]
    return out


def _tb_histograms(run_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(run_dir), size_guidance={ea.HISTOGRAMS: 0})
    acc.Reload()
    out = {}
    for tag in acc.Tags()["histograms"]:
        rows = []
        for e in acc.Histograms(tag):
            h = e.histogram_value
            numbers = (e.step, e.wall_time, h.min, h.max, h.num, h.sum, h.sum_squares)
            rows.append((*numbers, list(h.bucket_limit), list(h.bucket)))
        out[tag] = rows
    return out


def _tb_runs(root: Path) -> list[str]:
    """Run names as TensorBoard derives them from a logdir."""
    from tensorboard.backend.event_processing import io_wrapper

    subdirs = io_wrapper.GetLogdirSubdirectories(str(root))
    return sorted(os.path.relpath(d, root).replace(os.sep, "/") for d in subdirs)


def _ours(
    df: Any, run: str = ".", columns: tuple[str, ...] = ("step", "wall_time", "value")
) -> Any:
    """Tag -> rows of ``columns`` of one run, in frame order (NaN made comparable)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    part = df[df["run"] == run]
    for row in zip(*(part[c] for c in ("tag", *columns)), strict=True):
        cells = tuple(_same(c) if isinstance(c, float) else c for c in row[1:])
        out.setdefault(row[0], []).append(cells)
    return out


def _assert_like_tensorboard(root: Path) -> Any:
    """read_scalars agrees with TensorBoard on every run below root; returns the frame."""
    df = tblog.read_scalars(root)
    assert _tb_runs(root) == sorted(set(df["run"]))
    for run in _tb_runs(root):
        assert _tb_scalars(root / run) == _ours(df, run)
    return df


# ---- writers -----------------------------------------------------------------------------------


def _tensorboardx_run(root: Path) -> None:
    from tensorboardX import SummaryWriter

    with SummaryWriter(str(root)) as writer:
        for step in range(40):
            writer.add_scalar("loss", 1.0 / (step + 1), step)
            writer.add_scalar("lr/group_with_a_longer_name", 0.1 * 0.9**step, step)
            if step % 7 == 0:
                writer.add_scalar("sparse", float(step), step)
        for step, value in enumerate([math.nan, math.inf, -math.inf, 0.0, -0.0, 3e38, 1e-45]):
            writer.add_scalar("odd", value, step)
        writer.add_scalars("acc", {"train": 0.5, "val": 0.25}, 3)
        writer.add_scalars("acc", {"train": 0.75, "val": 0.5}, 4)
        writer.add_text("notes", "hello **world**", 2)
        writer.add_text("notes", "second", 5)
        rng = np.random.default_rng(0)
        for step in range(3):
            writer.add_histogram("weights", rng.normal(size=100), step)


def test_tensorboardx_scalars_and_sub_runs_match_tensorboard(tmp_path: Path) -> None:
    """tensorboardX: scalars (NaN/inf too), add_scalars sub-runs, point for point with walltimes."""
    _tensorboardx_run(tmp_path)
    df = _assert_like_tensorboard(tmp_path)
    assert [".", "acc/train", "acc/val"] == sorted(set(df["run"]))
    assert {
        "run": "category",
        "tag": "category",
        "step": "int64",
        "wall_time": "float64",
        "value": "float64",
    } == {c: str(t) for c, t in df.dtypes.items()}


def test_tensorboardx_text_matches_tensorboard(tmp_path: Path) -> None:
    """read_text: every text point TensorBoard's loader shows, the string as written."""
    _tensorboardx_run(tmp_path)
    txt = tblog.read_text(tmp_path)
    expected = {
        tag: [(step, text) for step, text in points]
        for tag, points in read_run(tmp_path).texts.items()
    }
    assert expected == _ours(txt, ".", ("step", "value"))
    assert ["hello **world**", "second"] == list(txt["value"])


def test_histograms_match_tensorboard(tmp_path: Path) -> None:
    """read_histograms: min/max/num/sum/sum_squares and the bucket arrays, as EventAccumulator."""
    _tensorboardx_run(tmp_path)
    with tblog.get_writer(tmp_path / "tblog") as writer:
        for step in range(3):
            writer.add_histogram("h", np.arange(10.0 * (step + 1)), step)
    for run in (tmp_path, tmp_path / "tblog"):
        hist = tblog.read_histograms(run)
        columns = ("step", "wall_time", "min", "max", "num", "sum", "sum_squares")
        ours = {
            tag: [(*row[:-2], list(row[-2]), list(row[-1])) for row in rows]
            for tag, rows in _ours(hist, ".", (*columns, "limits", "counts")).items()
        }
        assert _tb_histograms(run) == ours


def test_tblog_run_with_restore_purge_matches_tensorboard(tmp_path: Path) -> None:
    """A tblog run continued by restore(purge_step=...): the purged points are left out."""
    with tblog.setup("r", log_root=tmp_path / "l", runs_root=tmp_path / "r", console=False) as run:
        for step in range(20):
            run.scalar("loss", float(step), step)
            run.scalar("acc", step / 20, step)
        run.info("before")
    assert run.run_path is not None
    assert run.log_file is not None
    with tblog.restore(
        log_file=run.log_file, run_path=run.run_path, purge_step=10, console=False
    ) as again:
        for step in range(10, 15):
            again.scalar("loss", -float(step), step)
        again.info("after")
    df = _assert_like_tensorboard(run.run_path)
    assert list(range(15)) == list(df[df["tag"] == "loss"]["step"])
    theirs = read_run(run.run_path)
    txt = tblog.read_text(run.run_path)
    assert {t: [s for s, _ in p] for t, p in theirs.texts.items()} == {
        t: [s for (s,) in rows] for t, rows in _ours(txt, ".", ("step",)).items()
    }
    raw = tblog.read_scalars(run.run_path, raw=True)
    assert 45 == len(raw)  # every point written, purged ones too, in file order
    assert list(range(20)) + list(range(10, 15)) == list(raw[raw["tag"] == "loss"]["step"])


def test_tensorboardx_purge_step_and_repeated_starts(tmp_path: Path) -> None:
    """SessionLog.START: the first opens the run, each later one purges steps >= its own."""
    from tensorboardX import SummaryWriter

    with SummaryWriter(str(tmp_path), filename_suffix=".0") as writer:
        for step in range(10):
            writer.add_scalar("x", float(step), step)
    resumed = [(6, 3), (3, 6)]  # (purge step, then points at purge step and after)
    for n, (purge, count) in enumerate(resumed, start=1):
        with SummaryWriter(str(tmp_path), purge_step=purge, filename_suffix=f".{n}") as writer:
            for step in range(purge, purge + count):
                writer.add_scalar("x", -float(step), step)
    df = _assert_like_tensorboard(tmp_path)
    assert [0, 1, 2, 3, 4, 5, 6, 7, 8] == list(df["step"])


def test_a_single_start_purges_nothing_as_in_tensorboards_python_loader(tmp_path: Path) -> None:
    """One START (tensorboardX's purge_step on a fresh resume) only opens the run: no purge."""
    from tensorboardX import SummaryWriter

    with SummaryWriter(str(tmp_path), filename_suffix=".0") as writer:
        for step in range(5):
            writer.add_scalar("x", float(step), step)
    with SummaryWriter(str(tmp_path), purge_step=3, filename_suffix=".1") as writer:
        writer.add_scalar("x", -3.0, 3)
    df = _assert_like_tensorboard(tmp_path)
    assert [0, 1, 2, 3, 4, 3] == list(df["step"])


TORCH_WRITER = """
import sys
import numpy as np
from torch.utils.tensorboard import SummaryWriter
writer = SummaryWriter(sys.argv[1])
for step in range(30):
    writer.add_scalar("train/loss", 2.0 / (step + 1), step)
writer.add_scalars("cmp", {"a": 1.0, "b": 2.0}, 0)
writer.add_text("note", "from torch", 1)
writer.add_histogram("w", np.linspace(-1, 1, 50), 0)
writer.close()
"""


def test_torch_writer_run_matches_tensorboard(tmp_path: Path) -> None:
    """torch.utils.tensorboard: scalars, add_scalars sub-runs, text and histograms."""
    pytest.importorskip("torch")
    # in a child process: importing torch.utils.tensorboard here would change later tests
    subprocess.run([sys.executable, "-c", TORCH_WRITER, str(tmp_path)], check=True, timeout=300)
    _assert_like_tensorboard(tmp_path)
    assert [(1, "from torch")] == read_run(tmp_path).texts["note/text_summary"]
    txt = tblog.read_text(tmp_path)
    assert [(1, "from torch")] == _ours(txt, ".", ("step", "value"))["note/text_summary"]
    hist = tblog.read_histograms(tmp_path)
    assert [(0, 50.0)] == list(zip(hist["step"], hist["num"], strict=True))
    assert _tb_histograms(tmp_path)["w"][0][-1] == list(hist["counts"][0])


def _tf_style_run(run_dir: Path) -> None:
    """Scalars, text and histograms as TensorFlow 2 writes them: tensors with plugin metadata."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
    from tensorboard.summary import Writer

    writer = Writer(str(run_dir))  # metadata on every event, float_val
    for step in range(5):
        writer.add_scalar("tb/loss", 0.5 * step, step=step)
    writer.close()
    scalar_meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars"), data_class=1
    )
    text_meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"), data_class=2
    )
    hist_meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="histograms")
    )
    scalar_shape = tensor_shape_pb2.TensorShapeProto()
    records = [event_pb2.Event(wall_time=1.0, file_version="brain.Event:2")]

    def event(step: int, tag: str, tensor: Any, metadata: Any = None) -> Any:
        value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
        if metadata is not None:
            value.metadata.CopyFrom(metadata)
        return event_pb2.Event(
            wall_time=100.0 + step, step=step, summary=summary_pb2.Summary(value=[value])
        )

    for step in range(40):  # metadata on the first event only, as TensorFlow's writer does
        meta = scalar_meta if step == 0 else None
        f32 = tensor_pb2.TensorProto(dtype=1, tensor_shape=scalar_shape, float_val=[step / 4])
        records.append(event(step, "tf/float_val", f32, meta))
        f64 = tensor_pb2.TensorProto(
            dtype=2, tensor_shape=scalar_shape, tensor_content=struct.pack("<d", step / 3)
        )
        records.append(event(step, "tf/double_content", f64, meta))
    text = tensor_pb2.TensorProto(dtype=7, tensor_shape=scalar_shape, string_val=[b"# hi"])
    records.append(event(3, "tf/text", text, text_meta))
    edges = np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 5.0]])
    hist = tensor_pb2.TensorProto(
        dtype=2,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=2)] * 1
            + [tensor_shape_pb2.TensorShapeProto.Dim(size=3)]
        ),
        tensor_content=edges.tobytes(),
    )
    records.append(event(4, "tf/hist", hist, hist_meta))
    other_meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="mesh")
    )
    records.append(event(5, "tf/not_a_histogram", hist, other_meta))  # same shape, other plugin
    path = run_dir / "events.out.tfevents.2000000000.tf"
    path.write_bytes(b"".join(frame(r.SerializeToString()) for r in records))


def test_tensorflow_style_tensor_scalars_text_and_histograms(tmp_path: Path) -> None:
    """Tensor scalars (float_val, double tensor_content), string-tensor text, tensor histograms."""
    _tf_style_run(tmp_path)
    df = tblog.read_scalars(tmp_path)
    assert _tb_scalars(tmp_path) == _ours(df)
    assert {"tb/loss", "tf/float_val", "tf/double_content"} == set(df["tag"])
    txt = tblog.read_text(tmp_path)
    assert [("tf/text", 3, "# hi")] == list(zip(txt["tag"], txt["step"], txt["value"], strict=True))
    hist = tblog.read_histograms(tmp_path)
    assert ["tf/hist"] == list(hist["tag"])
    assert [1.0, 2.0] == list(hist["limits"][0])
    assert [2.0, 5.0] == list(hist["counts"][0])
    assert (0.0, 2.0, 7.0) == (hist["min"][0], hist["max"][0], hist["num"][0])


# ---- damaged, empty and growing files ----------------------------------------------------------


def _two_file_run(run_dir: Path, points: int = 300) -> tuple[Path, Path]:
    """A run with two event files of one tag each (long runs of equal-length records)."""
    for n, name in enumerate(("a", "b")):
        with tblog.get_writer(run_dir) as writer:
            for step in range(points):
                writer.add_scalar(name, float(step), step)
        tblog.close()
        _rename_newest(run_dir, n)
    first, second = event_files(run_dir)
    return Path(first), Path(second)


def _rename_newest(run_dir: Path, n: int) -> None:
    """Give the newest event file a name that sorts by creation order."""
    newest = max(event_files(run_dir), key=os.path.getmtime)
    os.rename(newest, run_dir / f"events.out.tfevents.{1_000_000_000 + n}.host")


def _record_offsets(path: Path) -> list[int]:
    data = path.read_bytes()
    offsets, pos = [], 0
    while pos < len(data):
        offsets.append(pos)
        pos += struct.unpack_from("<Q", data, pos)[0] + 16
    return offsets


@pytest.mark.parametrize("damage", ["torn", "data_crc", "data_byte", "length_crc"])
def test_damaged_file_ends_where_tensorboard_ends_it(tmp_path: Path, damage: str) -> None:
    """A torn tail, a bad data or length CRC end the file there; the next file is still read.

    A bad CRC is named in a warning (file and byte); a torn tail is no damage.
    """
    first, _ = _two_file_run(tmp_path)
    data = bytearray(first.read_bytes())
    at = _record_offsets(first)[150]
    if damage == "torn":
        data = data[: at + 20]
    elif damage == "data_crc":
        data[at + 12 + struct.unpack_from("<Q", data, at)[0]] ^= 0xFF
    elif damage == "data_byte":
        data[at + 14] ^= 0x01
    else:
        data[at + 9] ^= 0x01
    first.write_bytes(bytes(data))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        df = _assert_like_tensorboard(tmp_path)
    named = [f"{first}: bad {'length' if damage == 'length_crc' else 'data'} CRC"]
    named[0] += f" in the record at byte {at};"
    assert ([] if damage == "torn" else named) == [str(w.message)[: len(named[0])] for w in caught]
    assert list(range(149)) == list(df[df["tag"] == "a"]["step"])
    assert 300 == (df["tag"] == "b").sum()


def test_a_record_that_is_no_event_raises(tmp_path: Path) -> None:
    """A CRC-valid record that protobuf rejects: ValueError naming the file (TensorBoard raises)."""
    path = tmp_path / "events.out.tfevents.1.host"
    path.write_bytes(frame(b"\xff\xff\xff\xff"))
    with pytest.raises(ValueError, match="not a valid event file") as info:
        tblog.read_scalars(tmp_path)
    assert str(path) in str(info.value)


def test_empty_directory_gives_empty_frames_with_the_columns(tmp_path: Path) -> None:
    """No event files: empty frames with the documented columns and dtypes, no error."""
    df = tblog.read_scalars(tmp_path)
    assert ["run", "tag", "step", "wall_time", "value"] == list(df.columns)
    assert (0, "int64", "float64") == (len(df), str(df["step"].dtype), str(df["value"].dtype))
    assert 0 == len(tblog.read_text(tmp_path))
    hist = tblog.read_histograms(tmp_path)
    assert ["run", "tag", "step", "wall_time", "min"] == list(hist.columns)[:5]
    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"")
    assert 0 == len(tblog.read_scalars(tmp_path))


def test_missing_path_raises_file_not_found(tmp_path: Path) -> None:
    """A path that does not exist: FileNotFoundError naming it."""
    with pytest.raises(FileNotFoundError, match="nope"):
        tblog.read_scalars(tmp_path / "nope")


def test_a_run_being_written_reads_as_a_prefix(tmp_path: Path) -> None:
    """Reading while a writer appends (flushing often): every read is a prefix of the final run."""
    done = threading.Event()

    def write() -> None:
        with tblog.RunWriter(tmp_path, flush_secs=0.01) as writer:
            for step in range(3000):
                writer.add_scalar("loss", float(step), step)
                writer.add_scalar("lr/x", float(step), step)
                if step % 300 == 0:
                    writer.flush()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    seen = []
    while not done.is_set():
        df = tblog.read_scalars(tmp_path) if event_files(tmp_path) else None
        if df is not None:
            for tag in ("loss", "lr/x"):
                steps = list(df[df["tag"] == tag]["step"])
                assert list(range(len(steps))) == steps
                seen.append(len(steps))
    thread.join()
    df = _assert_like_tensorboard(tmp_path)
    assert 6000 == len(df)
    assert seen  # at least one read happened while the run grew


def test_a_torn_tail_is_read_once_completed(tmp_path: Path) -> None:
    """Incremental reads: half a record is left for later, then read when it is whole."""
    encoder = ScalarEncoder()
    path = tmp_path / "events.out.tfevents.1.host"
    head = frame(b"\x09" + struct.pack("<d", 1.0) + b"\x1a\x0dbrain.Event:2")
    records = [encoder.encode("x", float(s), s, 10.0 + s) for s in range(3)]
    path.write_bytes(head + records[0] + records[1][:10])
    reader = _read.RunReader(_read.Source(), str(tmp_path))
    reader.update()
    assert [0] == reader.scalars().step.tolist()
    with path.open("ab") as file:
        file.write(records[1][10:] + records[2])
    reader.update()
    assert [0, 1, 2] == reader.scalars().step.tolist()
    assert [0, 1, 2] == [s for s, _, _ in _tb_scalars(tmp_path)["x"]]


def test_scalar_points_of_a_run_leave_purged_points_out(tmp_path: Path) -> None:
    """scalar_points: {tag: [[walltime, step, value], ...]} in file order, without purged points."""
    with tblog.SummaryWriter(tmp_path) as writer:
        for step in range(4):
            writer.add_scalar("x", float(step), step, walltime=10.0 + step)
    with tblog.SummaryWriter(tmp_path, purge_step=2, filename_suffix=".2") as writer:
        writer.add_scalar("x", 7.0, 2, walltime=20.0)
    assert {"x": [[10.0, 0, 0.0], [11.0, 1, 1.0], [20.0, 2, 7.0]]} == _read.scalar_points(tmp_path)


# ---- the fast path against the slow one -------------------------------------------------------


def test_many_tags_layouts_and_chunks_match_tensorboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Interleaved and irregular tags, step varints of 1-3 bytes, records across chunk edges."""
    monkeypatch.setattr(read_file, "CHUNK", 1 << 12)
    from tensorboardX import SummaryWriter

    rng = np.random.default_rng(1)
    with SummaryWriter(str(tmp_path / "tbx")) as writer:
        for step in range(0, 20000, 37):
            for tag in ("a", "bb", "ccc/long name", "d"):
                writer.add_scalar(tag, float(rng.normal()), step)
            if rng.random() < 0.3:
                writer.add_scalar("rare", 1.0, step)
            if step % 1000 == 0:
                writer.add_text("t", "x" * int(rng.integers(1, 200)), step)
            if step == 5032:
                writer.add_text("big", "y" * 10_000, step)  # larger than a chunk
    with tblog.get_writer(tmp_path / "tblog") as writer:
        for step in range(0, 20000, 13):
            writer.add_scalar(f"t{step % 11}", float(step), step)
    for run in ("tbx", "tblog"):
        _assert_like_tensorboard(tmp_path / run)
    text = read_run(tmp_path / "tbx").texts
    assert text == _ours(tblog.read_text(tmp_path / "tbx"), ".", ("step", "value"))


def test_fsspec_memory_filesystem_reads_like_local(tmp_path: Path) -> None:
    """A run uploaded to fsspec's memory:// filesystem reads exactly as the local copy."""
    fsspec = pytest.importorskip("fsspec")
    _tensorboardx_run(tmp_path / "runs")
    fs = fsspec.filesystem("memory")
    for path in sorted((tmp_path / "runs").rglob("*tfevents*")):
        fs.pipe(f"/uploaded/{path.relative_to(tmp_path / 'runs').as_posix()}", path.read_bytes())
    try:
        local = tblog.read_scalars(tmp_path / "runs")
        remote = tblog.read_scalars("memory://uploaded")
        pd.testing.assert_frame_equal(local, remote)
        pd.testing.assert_frame_equal(
            tblog.read_text(tmp_path / "runs"), tblog.read_text("memory://uploaded")
        )
    finally:
        fs.rm("/uploaded", recursive=True)


def test_tag_filter_takes_globs_and_names(tmp_path: Path) -> None:
    """tags= keeps tags matching any glob pattern or name."""
    _tensorboardx_run(tmp_path)
    assert {"lr/group_with_a_longer_name"} == set(tblog.read_scalars(tmp_path, tags="lr/*")["tag"])
    assert {"loss", "odd"} == set(tblog.read_scalars(tmp_path, tags=["loss", "o?d"])["tag"])
    assert 0 == len(tblog.read_scalars(tmp_path, tags=[]))


@pytest.mark.parametrize(("module", "extra"), [("pandas", "pandas"), ("fsspec", "remote")])
def test_a_missing_extra_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, extra: str
) -> None:
    """Without pandas (or fsspec for a URL): ModuleNotFoundError naming the extra to install."""
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ModuleNotFoundError, match=rf'pip install "tblog\[{extra}\]"'):
        tblog.read_scalars("memory://x" if module == "fsspec" else tmp_path)


def test_an_event_file_path_is_one_run(tmp_path: Path) -> None:
    """An event file given as path is read as the run ".", like TensorBoard's loader does."""
    _tensorboardx_run(tmp_path)
    (path,) = event_files(tmp_path)
    df = tblog.read_scalars(path)
    assert {"."} == set(df["run"])
    assert _tb_scalars(tmp_path) == _ours(df)


def test_last_steps_sees_every_kind_of_tag(tmp_path: Path) -> None:
    """Restore's per-tag steps: scalars, text and histograms, purges ignored."""
    _tensorboardx_run(tmp_path)
    steps = _read.last_steps(tmp_path)
    assert {"loss": 39, "odd": 6, "sparse": 35, "notes/text_summary": 5, "weights": 2} == {
        t: steps[t] for t in ("loss", "odd", "sparse", "notes/text_summary", "weights")
    }


def test_events_before_a_file_version_use_the_older_purge_rule(tmp_path: Path) -> None:
    """Without file_version 2, a step that goes back purges that tag's later points."""
    encoder = ScalarEncoder()
    records = [encoder.encode("x", float(s), s, 1.0 + s) for s in (0, 1, 2, 3, 1, 2)]
    records += [encoder.encode("y", 5.0, 4, 9.0)]
    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"".join(records))
    _assert_like_tensorboard(tmp_path)
    assert [0, 1, 2, 3, 1, 2] == tblog.read_scalars(tmp_path, raw=True)["step"].tolist()[:6]


def test_crc_helpers_agree_with_the_writer() -> None:
    """The bulk CRC check's unmasking inverts the writer's masking."""
    data = [bytes([n]) * 28 for n in range(5)]
    masked = np.array([masked_crc(d) for d in data], dtype=np.uint32)
    from crc32c import crc32c

    assert [crc32c(d) for d in data] == framing.unmask(masked).tolist()


def test_shutil_copy_of_a_run_reads_the_same(tmp_path: Path) -> None:
    """Reading does not depend on where a run lives (names are relative to the path given)."""
    _tensorboardx_run(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    pd.testing.assert_frame_equal(
        tblog.read_scalars(tmp_path / "a"), tblog.read_scalars(tmp_path / "b")
    )


def test_double_scalars_keep_their_precision_beside_float_ones(tmp_path: Path) -> None:
    """A float64 tensor scalar read by protobuf next to float32 simple_values stays float64."""
    from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2

    encoder = ScalarEncoder()
    records = [
        frame(event_pb2.Event(wall_time=1.0, file_version="brain.Event:2").SerializeToString())
    ]
    records += [encoder.encode("f", 0.1, step, 2.0) for step in range(100)]
    meta = summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="scalars")
    )
    double = tensor_pb2.TensorProto(dtype=2, double_val=[0.1])
    value = summary_pb2.Summary.Value(tag="d", tensor=double, metadata=meta)
    event = event_pb2.Event(wall_time=3.0, step=7, summary=summary_pb2.Summary(value=[value]))
    records.append(frame(event.SerializeToString()))
    (tmp_path / "events.out.tfevents.1.host").write_bytes(b"".join(records))
    df = _assert_like_tensorboard(tmp_path)
    assert [0.1] == list(df[df["tag"] == "d"]["value"])
