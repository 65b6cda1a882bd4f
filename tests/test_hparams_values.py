"""Hyperparameter values TensorBoard reads back, at the edges of the number types."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

import tblog


def _session_hparams(path: Path) -> dict[str, object]:
    """The session's hparams as TensorBoard's plugin loader reads them (name -> value)."""
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    acc = pea.EventAccumulator(str(path))
    acc.Reload()
    content = acc.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
    start = HParamsPluginData.FromString(content).session_start_info
    found: dict[str, object] = {}
    for name, value in start.hparams.items():
        found[name] = getattr(value, value.WhichOneof("kind"))
    return found


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="needs tensorboard")
def test_an_int_past_int64_is_stored_as_a_float(tmp_path: Path) -> None:
    """2**70 (and -2**70) do not fit int64: stored as float(2**70), as torch does; no TypeError."""
    with tblog.SummaryWriter(tmp_path / "w") as writer:
        writer.add_hparams({"huge": 2**70, "tiny": -(2**70), "seven": 7}, {"m": 1.0})
    assert {"huge": float(2**70), "tiny": -float(2**70), "seven": 7.0} == _session_hparams(
        tmp_path / "w"
    )
    with tblog.setup("f", log_root=tmp_path / "logs", runs_root=tmp_path / "runs",
                     log_name="f", console=False) as run:  # fmt: skip
        run.hparams({"huge": 2**70}, {"m": 1.0})
    assert {"huge": float(2**70)} == _session_hparams(tmp_path / "runs" / "f")
