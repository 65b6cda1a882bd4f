"""Arguments the peers' ``SummaryWriter`` take (or refuse at the call), given to tblog's.

Each test makes the same calls with a peer and with ``tblog.SummaryWriter`` and compares what
TensorBoard's loader reads back, or that both refuse the call with the same exception type.
"""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tbread import read_run

import tblog

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")


def _torch_writer() -> Any:
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter


def _tbx_writer() -> Any:
    from tensorboardX import SummaryWriter

    return SummaryWriter


def _audio(run: Path, tag: str) -> list[tuple[int, float, int]]:
    """(step, sample rate, frames) of an audio tag, as TensorBoard's loader reads it."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(run), size_guidance={ea.AUDIO: 0})
    acc.Reload()
    return [(e.step, e.sample_rate, e.length_frames) for e in acc.Audio(tag)]


@needs_torch
@pytest.mark.parametrize("rate", [16e3, np.int64(16000), np.float32(16000)], ids=repr)
def test_add_audio_takes_an_int_valued_sample_rate_like_torch(tmp_path: Path, rate: Any) -> None:
    wave = np.sin(np.arange(1600) / 5.0)
    for name, writer_class in (("torch", _torch_writer()), ("tblog", tblog.SummaryWriter)):
        with writer_class(str(tmp_path / name)) as writer:
            writer.add_audio("a", wave, 3, sample_rate=rate)
    assert [(3, 16000.0, 1600)] == _audio(tmp_path / "torch", "a")
    assert _audio(tmp_path / "torch", "a") == _audio(tmp_path / "tblog", "a")


@needs_torch
@pytest.mark.parametrize("peer", ["torch", "tensorboardX"])
def test_one_element_tensor_steps_and_a_tensor_walltime_like_the_peers(
    tmp_path: Path, peer: str
) -> None:
    import torch

    writer_class = _torch_writer() if peer == "torch" else _tbx_writer()
    walls = []
    for name, cls in ((peer, writer_class), ("tblog", tblog.SummaryWriter)):
        with cls(str(tmp_path / name)) as writer:
            writer.add_scalar("f", 1.0, torch.tensor([7.0]), walltime=torch.tensor(1.7e9))
            writer.add_scalar("i", 2.0, torch.tensor([4]), walltime=np.float64(1.7e9 + 1))
            writer.add_scalar("n", 3.0, torch.tensor([[5]]), walltime=torch.tensor([1.7e9 + 2]))
        walls.append(sorted(round(w) for w in read_run(tmp_path / name).wall_times))
    theirs, ours = read_run(tmp_path / peer), read_run(tmp_path / "tblog")
    assert {"f": [(7, 1.0)], "i": [(4, 2.0)], "n": [(5, 3.0)]} == theirs.scalars
    assert theirs.scalars == ours.scalars
    assert walls[0] == walls[1]


def _wait_for(run: Path, tag: str, deadline_secs: float = 10.0) -> list[tuple[int, float]]:
    """Poll the read-back (no flush) until ``tag`` shows a point, or the deadline passes."""
    deadline = time.monotonic() + deadline_secs
    while True:
        found = read_run(run).scalars.get(tag, []) if run.exists() else []
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


@pytest.mark.parametrize("peer", ["torch", "tensorboardX"])
def test_flush_secs_zero_writes_without_a_flush_like_the_peers(tmp_path: Path, peer: str) -> None:
    """``flush_secs=0``: written as soon as possible, seen before any flush() or close()."""
    if peer == "torch" and importlib.util.find_spec("torch") is None:
        pytest.skip("needs torch")
    writer = tblog.SummaryWriter(str(tmp_path / "tblog"), flush_secs=0)
    try:
        writer.add_scalar("x", 1.5, 2)
        assert [(2, 1.5)] == _wait_for(tmp_path / "tblog", "x")
    finally:
        writer.close()
    peer_writer = (_torch_writer() if peer == "torch" else _tbx_writer())(
        str(tmp_path / "peer"), flush_secs=0
    )
    peer_writer.close()


def test_comment_none_is_taken_like_tensorboardx(tmp_path: Path) -> None:
    """A directory with ``comment=None``: taken, as tensorboardX takes it (it fails without one)."""
    for name, cls in (("peer", _tbx_writer()), ("tblog", tblog.SummaryWriter)):
        with cls(str(tmp_path / name), comment=None) as writer:
            writer.add_scalar("x", 1.0, 0)
    assert read_run(tmp_path / "peer").scalars == read_run(tmp_path / "tblog").scalars


def test_comment_none_names_a_default_run_without_a_comment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime

    monkeypatch.chdir(tmp_path)
    fixed = datetime.datetime(2026, 1, 5, 10, 11, 12)
    monkeypatch.setattr(tblog._sessions, "now", lambda: fixed)
    with tblog.SummaryWriter(comment=None) as writer:
        assert tblog.summary_writer.default_run_name() == writer.logdir


@needs_torch
@pytest.mark.parametrize(
    ("call", "shape", "dataformats"),
    [
        ("add_images", (5, 8, 10), "NHW"),
        ("add_images", (2, 3, 8, 10), "NCH"),
        ("add_images", (2, 3, 8, 10), "NCHH"),
        ("add_image", (3, 8, 10, 1), "CHW"),
        ("add_image", (8, 10), "CHW"),
        ("add_image", (3, 8, 10), "XYZ"),
    ],
)
def test_a_bad_image_shape_is_refused_at_the_call_like_torch(
    tmp_path: Path, call: str, shape: tuple[int, ...], dataformats: str
) -> None:
    image = np.random.default_rng(0).random(shape)
    errors = []
    for name, cls in (("torch", _torch_writer()), ("tblog", tblog.SummaryWriter)):
        with cls(str(tmp_path / name)) as writer:
            try:
                getattr(writer, call)("x", image, 1, dataformats=dataformats)
            except Exception as exc:
                errors.append(type(exc))
            else:
                errors.append(None)
    assert errors[0] is not None
    assert ValueError in errors[1].__mro__ if errors[1] else False, errors


@pytest.mark.parametrize("peer", ["torch", "tensorboardX"])
def test_file_writer_get_logdir_is_the_logdir_as_given(
    tmp_path: Path, peer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if peer == "torch" and importlib.util.find_spec("torch") is None:
        pytest.skip("needs torch")
    monkeypatch.chdir(tmp_path)
    theirs = (_torch_writer() if peer == "torch" else _tbx_writer())("rel/run")
    ours = tblog.SummaryWriter("rel/run")
    try:
        assert "rel/run" == theirs.file_writer.get_logdir()
        assert theirs.file_writer.get_logdir() == ours.file_writer.get_logdir()
    finally:
        theirs.close()
        ours.close()


@pytest.mark.parametrize(
    "door", ["add_summary", "file_writer.add_summary", "file_writer.add_event"]
)
def test_bytes_that_are_no_proto_raise_value_error_and_write_nothing(
    tmp_path: Path, door: str
) -> None:
    """Garbage bytes for a prebuilt proto: a ValueError at the call, the run's points intact."""
    with tblog.SummaryWriter(str(tmp_path)) as writer:
        writer.add_scalar("x", 1.0, 0)
        target = writer.file_writer if door.startswith("file_writer") else writer
        with pytest.raises(ValueError, match=r"summary|event"):
            getattr(target, door.rsplit(".", 1)[-1])(b"\xff\xff\xff", 1)
        writer.add_scalar("x", 2.0, 1)
    assert {"x": [(0, 1.0), (1, 2.0)]} == read_run(tmp_path).scalars
