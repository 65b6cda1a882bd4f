"""The peers' own test patterns and examples, run through each peer and through tblog.

Each test runs the same calls once with tensorboardX's or torch's ``SummaryWriter`` and once with
``tblog.SummaryWriter`` and compares what TensorBoard reads (its loader, and the real server's
HParams and Projector routes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tbread import event_files, read_run

import tblog

needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
PEERS = [
    pytest.param("tensorboardX", id="tensorboardX"),
    pytest.param("torch", id="torch", marks=needs_torch),
]


def _peer(name: str) -> Any:
    """The SummaryWriter class of a peer library."""
    if name == "torch":
        from torch.utils.tensorboard import SummaryWriter as TorchWriter

        return TorchWriter
    from tensorboardX import SummaryWriter as TensorboardXWriter

    return TensorboardXWriter


def _post(url: str, path: str, body: dict[str, Any]) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _sessions(
    logdir: Path, count: int, metrics: int = 2
) -> list[tuple[dict[str, Any], dict[str, float]]]:
    """The HParams tab's sessions of ``logdir`` as the server shows them: (hparams, metrics).

    Polls until ``count`` sessions with ``metrics`` metrics each are there (the server loads
    runs in the background).
    """
    from test_tensorboard_e2e import tensorboard

    body = {
        "experimentName": "",
        "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
        "colParams": [],
        "startIndex": 0,
        "sliceSize": 1000,
        "includeMetrics": True,
    }

    def complete(groups: list[Any]) -> bool:
        done = [
            s for g in groups for s in g["sessions"] if len(s.get("metricValues", [])) >= metrics
        ]
        return len(done) >= count

    with tensorboard(logdir, load_fast=False) as url:
        deadline = time.monotonic() + 60
        while True:
            groups = _post(url, "/data/plugin/hparams/session_groups", body)["sessionGroups"]
            if complete(groups) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    sessions = []
    for group in groups:
        for session in group["sessions"]:
            metrics = {
                m["name"]["tag"]: round(m["value"], 5) for m in session.get("metricValues", [])
            }
            sessions.append((group["hparams"], metrics))
    return sorted(sessions, key=lambda s: json.dumps(s, sort_keys=True))


def _demo_hparams(summary_writer: Any, logdir: Path) -> None:
    """The calls of ``demo_hparams.py`` example: a grid of 36 trials through one writer."""
    i = 0
    with summary_writer(str(logdir)) as writer:
        for lr in (0.1, 0.01, 0.001):
            for bsize in (1, 2, 4):
                for n_hidden in (100, 200):
                    for bn in (True, False):
                        i += 1
                        accuracy = i / 100
                        writer.add_hparams(
                            {"lr": lr, "bsize": bsize, "n_hidden": n_hidden, "bn": bn},
                            {"accuracy": accuracy, "loss": accuracy * 5},
                            name=f"trial{i}",
                        )


@pytest.mark.e2e
def test_each_add_hparams_call_is_its_own_session_like_demo_hparams(tmp_path: Path) -> None:
    """36 ``add_hparams`` calls show 36 sessions, each with its own hparams and metrics."""
    _demo_hparams(_peer("tensorboardX"), tmp_path / "peer" / "run")
    _demo_hparams(tblog.SummaryWriter, tmp_path / "tblog" / "run")
    theirs, ours = _sessions(tmp_path / "peer", 36), _sessions(tmp_path / "tblog", 36)
    assert 36 == len(theirs)
    assert theirs == ours


@pytest.mark.parametrize("peer", PEERS)
def test_repeated_add_hparams_without_names_make_one_sub_run_each(
    tmp_path: Path, peer: str
) -> None:
    """Unnamed calls: the first session is the writer's own run, later ones sub-runs."""
    for name, writer_class in (("peer", _peer(peer)), ("tblog", tblog.SummaryWriter)):
        with writer_class(str(tmp_path / name)) as writer:
            for trial in range(3):
                writer.add_hparams({"lr": 0.1 * trial}, {"hp/acc": trial / 10})
    ours = sorted(os.path.dirname(f) for f in event_files(tmp_path / "tblog", recursive=True))
    assert 3 == len(ours)
    assert str(tmp_path / "tblog") == ours[0]
    for path in ours:
        run = read_run(path)
        assert ["_hparams_/experiment", "_hparams_/session_end_info"] == sorted(
            t for t in run.plugins["hparams"] if "end" in t or "experiment" in t
        )
    acc = sorted(read_run(path).scalars["hp/acc"][0][1] for path in ours)
    assert [0.0, 0.1, 0.2] == pytest.approx(acc)


def _foreign_summaries() -> list[tuple[str, Any]]:
    """Summaries built by tensorboard's own protos (and torch's builders), and their bytes."""
    from tensorboard.compat.proto.summary_pb2 import Summary

    built = Summary(value=[Summary.Value(tag="tb/proto", simple_value=1.5)])
    raw = Summary(value=[Summary.Value(tag="tb/bytes", simple_value=2.5)])
    return [("tb/proto", built), ("tb/bytes", raw.SerializeToString())]


@pytest.mark.parametrize("door", ["writer", "file_writer", "_get_file_writer"])
def test_summaries_built_with_tensorboards_protos_are_written(logdir: Path, door: str) -> None:
    """``add_summary`` takes a ``tensorboard.compat.proto`` Summary and serialized bytes."""
    writer = tblog.SummaryWriter(logdir)
    target = {"writer": writer, "file_writer": writer.file_writer}.get(door)
    target = target if target is not None else writer._get_file_writer()
    for _, summary in _foreign_summaries():
        target.add_summary(summary, 4)
    assert writer.flush()
    writer.close()
    assert {"tb/proto": [(4, 1.5)], "tb/bytes": [(4, 2.5)]} == read_run(logdir).scalars


def test_events_built_with_tensorboards_protos_are_written(logdir: Path) -> None:
    """``file_writer.add_event`` takes a ``tensorboard.compat.proto`` Event and its bytes."""
    from tensorboard.compat.proto.event_pb2 import Event
    from tensorboard.compat.proto.summary_pb2 import Summary

    writer = tblog.SummaryWriter(logdir)
    for step, tag in ((1, "a"), (2, "b")):
        event = Event(step=step, summary=Summary(value=[Summary.Value(tag=tag, simple_value=3)]))
        writer.file_writer.add_event(event if tag == "a" else event.SerializeToString())
    assert writer.flush()
    writer.close()
    assert {"a": [(1, 3.0)], "b": [(2, 3.0)]} == read_run(logdir).scalars


@needs_torch
def test_torch_built_hparams_summaries_give_the_hparams_tab(logdir: Path) -> None:
    """What Lightning's ``log_hyperparams`` writes: torch's ``hparams()`` via the file writer."""
    from torch.utils.tensorboard.summary import hparams

    writer = tblog.SummaryWriter(logdir)
    for summary in hparams({"lr": 0.1, "layers": 3}, {}):
        writer._get_file_writer().add_summary(summary)
    assert writer.flush()
    writer.close()
    assert {"hparams"} <= set(read_run(logdir).plugins)


@pytest.mark.parametrize("peer", PEERS)
@pytest.mark.parametrize("shape", [(1,), (1, 1)])
def test_add_scalar_takes_one_element_arrays_like_test_pytorch_write(
    tmp_path: Path, peer: str, shape: tuple[int, ...]
) -> None:
    """A one-element array (or tensor: ``torch.rand(1)``) is a scalar, as in both peers."""
    values: list[Any] = [np.full(shape, 0.25, np.float32)]
    if peer == "torch":
        import torch

        values += [torch.full(shape, 0.5), torch.autograd.Variable(torch.full(shape, 0.75))]
    for name, writer_class in (("peer", _peer(peer)), ("tblog", tblog.SummaryWriter)):
        with writer_class(str(tmp_path / name)) as writer:
            for step, value in enumerate(values):
                writer.add_scalar("scalar", value, step)
    assert read_run(tmp_path / "peer").scalars == read_run(tmp_path / "tblog").scalars


@pytest.mark.parametrize("peer", PEERS)
def test_a_float_global_step_is_taken_as_int(tmp_path: Path, peer: str) -> None:
    """``global_step=3.0`` or ``np.float32(4)`` gives steps 3 and 4, as the peers write."""
    for name, writer_class in (("peer", _peer(peer)), ("tblog", tblog.SummaryWriter)):
        with writer_class(str(tmp_path / name)) as writer:
            writer.add_scalar("x", 1.0, 3.0)
            writer.add_scalar("x", 2.0, np.float32(4))
            writer.add_text("t", "hello", 5.0)
            writer.add_histogram("h", np.arange(4.0), np.float64(6))
    theirs, ours = read_run(tmp_path / "peer"), read_run(tmp_path / "tblog")
    assert [(3, 1.0), (4, 2.0)] == ours.scalars["x"] == theirs.scalars["x"]
    assert [(5, "hello")] == ours.texts["t"]
    assert theirs.histograms == ours.histograms


@pytest.mark.parametrize("peer", PEERS)
def test_file_writer_after_close_is_none_like_test_summary_writer_ctx(
    tmp_path: Path, peer: str
) -> None:
    """After ``with ... as writer``, ``file_writer`` is None; ``_get_file_writer()`` reopens."""
    seen = []
    for name, writer_class in (("peer", _peer(peer)), ("tblog", tblog.SummaryWriter)):
        with writer_class(str(tmp_path / name)) as writer:
            writer.add_scalar("test", 1)
        seen.append(writer.file_writer)
        writer._get_file_writer().add_summary(_scalar_summary(peer, "again", 2.0), 1)
        writer.close()
    assert [None, None] == seen
    theirs, ours = read_run(tmp_path / "peer"), read_run(tmp_path / "tblog")
    assert theirs.scalars["again"] == ours.scalars["again"] == [(1, 2.0)]
    # The peers' reopened file may replace the first one (same name within a second): not ours.
    assert [(0, 1.0)] == ours.scalars["test"]


def _scalar_summary(peer: str, tag: str, value: float) -> Any:
    """A scalar Summary of the peer's own proto package."""
    if peer == "torch":
        from tensorboard.compat.proto.summary_pb2 import Summary
    else:
        from tensorboardX.proto.summary_pb2 import Summary

    return Summary(value=[Summary.Value(tag=tag, simple_value=value)])


@pytest.mark.parametrize("peer", PEERS)
def test_logdir_attributes_are_the_peers(
    tmp_path: Path, peer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``logdir`` (tensorboardX), ``log_dir`` and ``get_logdir()`` (torch): the path as given."""
    monkeypatch.chdir(tmp_path)
    theirs = _peer(peer)("rel/run")
    ours = tblog.SummaryWriter("rel/run")
    names = ["logdir"] if peer == "tensorboardX" else ["log_dir", "get_logdir"]
    for name in names:
        attribute = getattr(theirs, name)
        expected = attribute() if callable(attribute) else attribute
        attribute = getattr(ours, name)
        assert (name, expected) == (name, attribute() if callable(attribute) else attribute)
    theirs.close()
    ours.close()


def _now_from(times: list[str]) -> Any:
    import datetime

    stamps = iter(datetime.datetime.strptime(t, "%Y%m%d%H%M%S") for t in times)
    return lambda: next(stamps)


def _demo_custom_scalars(summary_writer: Any) -> None:
    """The calls of tensorboardX's ``demo_custom_scalars.py`` (fewer steps): 3 default writers."""
    with summary_writer() as writer:
        for n_iter in range(5):
            writer.add_scalar("twse/0050", n_iter, n_iter)
            writer.add_scalar("dow/aaa", n_iter, n_iter)
        writer.add_custom_scalars({"Taiwan": {"twse": ["Multiline", ["twse/0050"]]}})
    with summary_writer() as writer:
        for n_iter in range(5):
            writer.add_scalar("twse/0050", n_iter, n_iter)
        writer.add_custom_scalars_multilinechart(["twse/0050"])
    with summary_writer() as writer:
        for n_iter in range(5):
            writer.add_scalar("dow/aaa", n_iter, n_iter)
        writer.add_custom_scalars_marginchart(["dow/aaa", "dow/bbb", "dow/ccc"])


def test_each_default_writer_is_its_own_run_like_demo_custom_scalars(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three ``SummaryWriter()`` (one second apart, as in the demo) make three runs."""
    import socket

    from tblog import _sessions

    monkeypatch.chdir(tmp_path)
    times = ["20260105101112", "20260105101113", "20260105101114"]
    monkeypatch.setattr(_sessions, "now", _now_from(times))
    _demo_custom_scalars(tblog.SummaryWriter)
    host = socket.gethostname()
    expected = [f"Jan05_10-11-{s}_{host}" for s in ("12", "13", "14")]
    assert expected == sorted(os.listdir(tmp_path / "runs"))
    for name in expected:
        run = read_run(tmp_path / "runs" / name)
        assert all(steps == list(range(5)) for steps in map(run.steps, run.scalars))
        assert ["custom_scalars__config__"] == run.plugins["custom_scalars"]


@pytest.mark.parametrize("peer", PEERS)
def test_a_default_writer_is_named_as_the_peer_names_it(
    tmp_path: Path, peer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SummaryWriter(comment=...)`` is ``runs/<%b%d_%H-%M-%S>_<host><comment>`` as the peer's."""
    monkeypatch.chdir(tmp_path)
    for _ in range(3):  # the clock may tick between the two constructors: then try again
        theirs = _peer(peer)(comment="_lr0.1")
        ours = tblog.SummaryWriter(comment="_lr0.1")
        ours.close()
        theirs.close()
        name = "log_dir" if peer == "torch" else "logdir"
        if getattr(theirs, name) == getattr(ours, name):
            break
    assert getattr(theirs, name) == getattr(ours, name)
    assert getattr(ours, name).startswith("runs" + os.sep)


def _demo_multiple_embedding(summary_writer: Any, logdir: Path) -> None:
    """The calls of tensorboardX's ``demo_multiple_embedding.py`` (smaller): embeddings only."""
    degrees = np.linspace(0, 2 * np.pi, 60).reshape(60, 1)
    labels = [str(i) for i in range(60)]
    with summary_writer(str(logdir)) as writer:
        for epoch in range(2):
            for tag, f in (("sin", np.sin), ("cos", np.cos)):
                mat = np.concatenate([f(epoch + degrees * k) for k in (2, 3, 5)], axis=1)
                writer.add_embedding(mat=mat, metadata=labels, tag=tag, global_step=epoch)


@pytest.mark.e2e
def test_an_embedding_only_run_is_listed_by_the_projector(tmp_path: Path) -> None:
    """The Projector lists an embedding-only run with all its tensors, as with tensorboardX."""
    from test_tensorboard_e2e import _get, _wait_for, tensorboard

    answers = []
    for name, writer_class in (("peer", _peer("tensorboardX")), ("tblog", tblog.SummaryWriter)):
        _demo_multiple_embedding(writer_class, tmp_path / name / "run")
        with tensorboard(tmp_path / name, load_fast=False) as url:
            runs = _wait_for(url, "/data/plugin/projector/runs", bool)
            config = _get(url, "/data/plugin/projector/info", run="run") if runs else {}
        tensors = sorted(e["tensorName"] for e in config.get("embeddings", []))
        answers.append((runs, tensors))
    assert (["run"], [f"{t}:0000{i}" for t in ("cos", "sin") for i in (0, 1)]) == answers[0]
    assert answers[0] == answers[1]


def test_add_hparams_after_prebuilt_hparams_makes_a_sub_run(logdir: Path) -> None:
    """A run that already holds a session (Lightning's own summaries) gets none mixed into it."""
    from tensorboard.compat.proto.summary_pb2 import Summary
    from tensorboardX.summary import hparams

    writer = tblog.SummaryWriter(logdir)
    for summary in hparams({"lr": 0.1}, {"hp/acc": 0.5}):
        writer._get_file_writer().add_summary(Summary.FromString(summary.SerializeToString()))
    writer.add_hparams({"lr": 0.2}, {"hp/acc": 0.75}, name="second")
    writer.close()
    assert [(0, 0.75)] == read_run(logdir / "second").scalars["hp/acc"]
    assert "hp/acc" not in read_run(logdir).scalars
