"""tblog.SummaryWriter as a drop-in for tensorboardX's and torch's, read back by TensorBoard."""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tbread import event_files, read_run

import tblog

PEERS = [
    pytest.param("tensorboardX", id="tensorboardX"),
    pytest.param(
        "torch",
        id="torch",
        marks=pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch"),
    ),
]


def _peer(name: str) -> Any:
    """The SummaryWriter class of a peer library."""
    if name == "torch":
        from torch.utils.tensorboard import SummaryWriter as TorchWriter

        return TorchWriter
    from tensorboardX import SummaryWriter as TensorboardXWriter

    return TensorboardXWriter


def _accumulators(path: Path) -> tuple[Any, Any]:
    """TensorBoard's two loaders on one run directory, loaded."""
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea

    guidance = {ea.SCALARS: 0, ea.TENSORS: 0, ea.AUDIO: 0, ea.IMAGES: 0, ea.HISTOGRAMS: 0}
    old = ea.EventAccumulator(str(path), size_guidance=guidance)
    old.Reload()
    new = pea.EventAccumulator(str(path), size_guidance={"tensors": 0})
    new.Reload()
    return old, new


def _view(path: Path) -> dict[str, Any]:
    """What TensorBoard shows of a run: tags per plugin, steps and values (text tags unsuffixed)."""
    from tensorboard.util import tensor_util

    def plain(tag: str) -> str:
        return tag.removesuffix("/text_summary")  # the peers' text tags; tblog keeps the tag

    data = read_run(path)
    old, new = _accumulators(path)
    tensors = {}
    for tag in new.Tags()["tensors"]:
        plugin = new.SummaryMetadata(tag).plugin_data.plugin_name
        if plugin in {"tensor", "scalars"}:
            events = new.Tensors(tag)
            tensors[tag] = [
                (e.step, tensor_util.make_ndarray(e.tensor_proto).tolist()) for e in events
            ]
    return {
        "plugins": {p: sorted(plain(t) for t in tags) for p, tags in data.plugins.items()},
        "texts": {plain(t): v for t, v in data.texts.items()},
        "histograms": data.histograms,
        "images": data.images,
        "tensors": tensors,
        "audio": {
            t: [(e.step, e.sample_rate, e.length_frames) for e in old.Audio(t)]
            for t in old.Tags()["audio"]
        },
    }


def _script(summary_writer: Any, logdir: Path, peer: str) -> None:
    """A training script's calls, as written for ``peer``: only the import differs."""
    if peer == "torch":
        import torch

        to_tensor: Any = torch.from_numpy
    else:
        to_tensor = np.asarray
    writer = summary_writer(str(logdir))
    for step in range(3):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
        writer.add_scalar("acc", np.float32(step / 4), step)
        writer.add_scalar("epoch", step, step)
        writer.add_histogram("weights", np.linspace(-1.0, 1.0, 40) * (step + 1), step)
        writer.add_text("notes", f"step **{step}**", step)
    writer.add_image("sample", np.full((3, 8, 6), 200, np.uint8), 2)
    writer.add_images("batch", to_tensor(np.zeros((4, 3, 8, 6), np.float32)), 2)
    writer.add_image("hwc", np.ones((5, 7, 3)), 2, dataformats="HWC")
    writer.add_pr_curve("pr", np.array([0, 1, 1, 0]), np.array([0.1, 0.8, 0.6, 0.3]), 2)
    writer.add_histogram_raw("raw", 0.0, 10.0, 3, 12.0, 60.0, [1.0, 5.0, 10.0], [1, 1, 1], 2)
    if peer == "torch":  # torch's own methods and arguments
        writer.add_scalar("precise", 0.1, 2, None, True, True)  # noqa: FBT003 - torch's order
        writer.add_tensor("state", to_tensor(np.arange(6, dtype=np.float32).reshape(2, 3)), 2)
        writer.add_audio("clip", to_tensor(np.sin(np.linspace(0, 60, 800))), 2, 8000)
    writer.flush()
    writer.close()


def test_every_add_method_and_argument_of_both_peers_is_there(logdir: Path) -> None:
    """Each peer's ``add_*`` exists, and methods tblog defines take each peer argument by name."""
    pytest.importorskip("torch")
    peers = [_peer("tensorboardX"), _peer("torch")]
    names = {n for peer in peers for n in dir(peer) if n.startswith("add_")}
    writer = tblog.SummaryWriter(logdir, write_to_disk=False)
    missing = sorted(n for n in names if not callable(getattr(writer, n, None)))
    own = {n for n in names if n in vars(tblog.SummaryWriter) or n in vars(tblog.RunWriter)}
    unnamed = []
    for name in sorted(own):
        ours = inspect.signature(getattr(tblog.SummaryWriter, name)).parameters
        for peer in peers:
            if hasattr(peer, name):
                theirs = inspect.signature(getattr(peer, name)).parameters.values()
                args = (p.name for p in theirs if p.kind is p.POSITIONAL_OR_KEYWORD)
                unnamed += [f"{peer.__module__}.{name}({a})" for a in args if a not in ours]
    assert ([], []) == (missing, unnamed)
    assert {"add_hparams", "add_scalar", "add_scalars", "add_tensor", "add_images"} <= own


@pytest.mark.parametrize("peer", PEERS)
def test_the_same_script_shows_the_same_in_tensorboard(tmp_path: Path, peer: str) -> None:
    """One script through a peer and through tblog: same tags, plugins, steps and values."""
    _script(_peer(peer), tmp_path / "peer", peer)
    _script(tblog.SummaryWriter, tmp_path / "tblog", peer)
    theirs, ours = _view(tmp_path / "peer"), _view(tmp_path / "tblog")
    assert theirs == ours
    assert read_run(tmp_path / "peer").scalars == read_run(tmp_path / "tblog").scalars
    assert {"loss", "acc", "epoch"} <= set(ours["plugins"]["scalars"])
    assert 1 == len(event_files(tmp_path / "tblog", recursive=True))


@pytest.mark.parametrize("peer", PEERS)
def test_add_scalars_overlays_its_keys_in_one_chart_of_the_same_run(
    tmp_path: Path, peer: str
) -> None:
    """The peers' sub-run per key becomes a tag per key and one Multiline chart of them."""
    for name, make in (("peer", _peer(peer)), ("tblog", tblog.SummaryWriter)):
        writer = make(str(tmp_path / name))
        for step in range(3):
            writer.add_scalars("loss", {"train": 1.0 + step, "val": 2.0 + step}, step)
        writer.close()
    theirs = {
        os.path.basename(os.path.dirname(f)): read_run(os.path.dirname(f)).scalars["loss"]
        for f in event_files(tmp_path / "peer", recursive=True)
        if os.path.dirname(f) != str(tmp_path / "peer")
    }
    ours = read_run(tmp_path / "tblog")
    key = {"loss_train": "train", "loss_val": "val", "train": "train", "val": "val"}
    assert {key[run]: points for run, points in theirs.items()} == {
        "train": ours.scalars["loss/train"],
        "val": ours.scalars["loss/val"],
    }
    assert [str(tmp_path / "tblog")] == [
        os.path.dirname(f) for f in event_files(tmp_path / "tblog", recursive=True)
    ]
    layout, lines = _custom_scalars(tmp_path / "tblog")
    assert {"add_scalars": {"loss": ["loss/train$", "loss/val$"]}} == layout
    assert {"loss/train$": ["loss/train"], "loss/val$": ["loss/val"]} == lines


def _custom_scalars(path: Path) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """TensorBoard's Custom Scalars plugin on ``path``: its layout, and the tags each line shows."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider
    from tensorboard.backend.event_processing import plugin_event_multiplexer as pem
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.custom_scalar import custom_scalars_plugin
    from tensorboard.plugins.scalar import scalars_plugin

    multiplexer = pem.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(str(path))
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, str(path))
    plugins: dict[str, Any] = {}
    tb_context = base_plugin.TBContext(
        data_provider=provider,
        multiplexer=multiplexer,
        logdir=str(path),
        plugin_name_to_instance=plugins,
    )
    plugins["scalars"] = scalars_plugin.ScalarsPlugin(tb_context)
    plugin = custom_scalars_plugin.CustomScalarsPlugin(tb_context)
    request = context.RequestContext()
    layout: dict[str, Any] = {}
    lines: dict[str, list[str]] = {}
    answer = plugin.layout_impl(request, "")
    for category in (json.loads(answer) if answer else {}).get("category", []):
        for chart in category["chart"]:
            regexes = chart["multiline"]["tag"]
            layout.setdefault(category["title"], {})[chart["title"]] = regexes
            for regex in regexes:
                found = plugin.scalars_impl(request, ".", regex, "")["tag_to_events"]
                lines[regex] = sorted(found)
    return layout, lines


def test_two_writers_on_one_run_share_one_layout(logdir: Path) -> None:
    """Charts added by two writers of one run end in one layout: the latest holds both."""
    first = tblog.SummaryWriter(logdir)
    second = tblog.SummaryWriter(str(logdir) + os.sep)
    first.add_custom_scalars({"mine": {"losses": ["Multiline", ["loss"]]}})
    second.add_custom_scalars({"theirs": {"rates": ["Multiline", ["lr"]]}})
    first.add_scalars("acc", {"train": 0.5}, 0)
    first.add_scalar("loss", 1.0, 0)
    second.add_scalar("lr", 0.1, 0)
    first.close()
    second.close()
    layout, lines = _custom_scalars(logdir)
    assert {
        "mine": {"losses": ["loss"]},
        "theirs": {"rates": ["lr"]},
        "add_scalars": {"acc": ["acc/train$"]},
    } == layout
    assert ["lr"] == lines["lr"]


def test_layouts_of_several_main_tags_and_the_users_own_are_merged(logdir: Path) -> None:
    """TensorBoard shows a run's latest layout only: it holds every chart added so far."""
    writer = tblog.SummaryWriter(logdir)
    writer.add_scalars("loss", {"train": 1.0, "val": 2.0}, 0)
    writer.add_custom_scalars_multilinechart(["lr"], category="optim", title="lr")
    writer.add_scalars("acc", {"train": 0.5}, 0)
    writer.add_scalars("loss", {"train": 1.0, "val": 2.0, "test": 3.0}, 1)  # a new key
    writer.add_scalars("loss", {"train": 1.0}, 2)  # nothing new: no new layout
    writer.add_scalar("lr", 0.1, 0)
    writer.close()
    layout, lines = _custom_scalars(logdir)
    assert {
        "add_scalars": {
            "loss": ["loss/train$", "loss/val$", "loss/test$"],
            "acc": ["acc/train$"],
        },
        "optim": {"lr": ["lr"]},
    } == layout
    assert ["lr"] == lines["lr"]
    assert ["loss/test"] == lines["loss/test$"]


def test_constructor_takes_both_peers_arguments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Positional log_dir first, ``logdir``/``log_dir`` by name, ``comment`` on the default."""
    monkeypatch.chdir(tmp_path)
    positional = tblog.SummaryWriter("a", "", None, 10, 2.0, "", True)  # noqa: FBT003
    by_name = tblog.SummaryWriter(logdir="b", max_queue=1000, flush_secs=120)
    torch_name = tblog.SummaryWriter(log_dir=Path("c"))
    commented = tblog.SummaryWriter(comment="_lr0.1")
    assert ["a", "b", "c"] == [w.get_logdir() for w in (positional, by_name, torch_name)]
    assert "c" == torch_name.log_dir
    assert re.fullmatch(r"runs/[A-Z][a-z]{2}\d\d_\d\d-\d\d-\d\d_.+_lr0\.1", commented.get_logdir())
    commented.add_scalar("x", 1.0, 0)
    commented.close()
    assert ["x"] == list(read_run(tmp_path / commented.get_logdir()).scalars)
    with pytest.raises(ValueError, match="not both"):
        tblog.SummaryWriter("d", logdir="e")
    with pytest.raises(ValueError, match="purge_step"):
        tblog.SummaryWriter("d", purge_step=-1)
    with pytest.raises(TypeError, match="comment"):
        tblog.SummaryWriter(comment=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="flush_secs"):
        tblog.SummaryWriter("d", flush_secs=-1)
    assert not (tmp_path / "d").exists()
    for writer in (positional, by_name, torch_name):
        writer.close()


def test_filename_suffix_ends_every_event_file_name(logdir: Path) -> None:
    """Event files this writer creates end with ``filename_suffix``, as the peers' do."""
    writer = tblog.SummaryWriter(logdir, filename_suffix=".v2")
    writer.add_scalar("x", 1.0, 0)
    writer.close()
    writer.add_scalar("x", 2.0, 1)  # reopened: a second file, also suffixed
    writer.close()
    names = [os.path.basename(f) for f in event_files(logdir)]
    assert [True, True] == [name.endswith(".v2") for name in names]
    assert [(0, 1.0), (1, 2.0)] == read_run(logdir).scalars["x"]


def test_write_to_disk_false_creates_nothing_and_takes_every_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``write_to_disk=False``: every call is valid and nothing appears on disk."""
    pytest.importorskip("PIL")
    monkeypatch.chdir(tmp_path)
    with tblog.SummaryWriter("run", write_to_disk=False) as writer:
        writer.add_scalar("a", 1.0, 0)
        writer.add_scalar("a", np.float32(2.0))
        writer.add_scalars("b", {"x": 1, "y": 2.0}, 0)
        writer.add_text("t", "hi")
        writer.add_histogram("h", np.arange(5.0), 0)
        writer.add_image("i", np.zeros((3, 4, 4), np.uint8), 0)
        writer.add_images("j", [np.zeros((3, 4, 4))] * 2, 0)
        writer.add_hparams({"lr": 0.1}, {"hp/acc": 0.5})
        writer.add_pr_curve("pr", np.array([0, 1]), np.array([0.2, 0.7]), 0)
        writer.add_embedding(np.zeros((3, 2)), metadata=["a", "b", "c"])
        writer.add_custom_scalars({"c": {"chart": ["Multiline", ["a"]]}})
        writer.add_audio("s", np.zeros(100), 0, 8000)
        writer.add_tensor("v", np.arange(3), 0)
        writer.file_writer.add_summary(_hparams_summary())
        with writer.use_metadata(global_step=3):
            writer.add_scalar("a", 3.0)
        assert writer.flush()
        writer.close()
        writer.add_scalar("a", 4.0, 4)  # after close too
        writer.export_scalars_to_json("scalars.json")
    assert ["scalars.json"] == os.listdir(tmp_path)
    assert {} == json.loads((tmp_path / "scalars.json").read_text())


def _hparams_summary() -> Any:
    from tensorboardX.summary import hparams

    return hparams({"lr": 0.1}, {"hp/acc": 0.5})[0]


def test_writing_after_close_reopens_the_writers_share(logdir: Path) -> None:
    """As in tensorboardX, a call after ``close()`` writes again; nothing raises or is lost."""
    writer = tblog.SummaryWriter(logdir)
    writer.add_scalar("x", 1.0, 0)
    writer.close()
    assert writer.closed
    writer.add_scalar("x", 2.0, 1)
    writer.add_text("t", "again")
    writer.add_pr_curve("pr", np.array([0, 1]), np.array([0.2, 0.7]), 1)
    assert not writer.closed
    writer.close()
    writer.close()
    run = read_run(logdir)
    assert ([(0, 1.0), (1, 2.0)], [(0, "again")]) == (run.scalars["x"], run.texts["t"])
    assert ["pr"] == run.plugins["pr_curves"]
    assert 2 == len(event_files(logdir))


def test_context_manager_closes_the_writer(logdir: Path) -> None:
    """``with SummaryWriter(...) as w`` gives the writer and closes it at the end."""
    with tblog.SummaryWriter(logdir) as writer:
        assert isinstance(writer, tblog.SummaryWriter)
        writer.add_scalar("x", 1.0, 0)
    assert writer.closed
    assert [(0, 1.0)] == read_run(logdir).scalars["x"]


def test_use_metadata_gives_calls_without_them_a_step_and_walltime(logdir: Path) -> None:
    """Inside ``use_metadata`` calls lacking a step or walltime take its; given ones win."""
    writer = tblog.SummaryWriter(logdir)
    with writer.use_metadata(global_step=7, walltime=1000.0):
        writer.add_scalar("given_step", 0.5, 9)  # the fast path's shape of call
        writer.add_scalar("a", 0.5)
        writer.add_scalars("m", {"x": 1.0})
        writer.add_text("t", "hi")
        writer.add_histogram("h", np.arange(4.0))
        writer.add_pr_curve("pr", np.array([0, 1]), np.array([0.2, 0.7]))
        writer.add_scalar("own_time", 0.5, walltime=2000.0)
    before = time.time()
    writer.add_scalar("a", 0.25)  # counted on from 7
    writer.close()
    old, new = _accumulators(logdir)
    seen = {
        tag: [(e.step, e.wall_time) for e in new.Tensors(tag)]
        for tag in ("given_step", "m/x", "t", "h", "pr", "own_time")
    }
    assert {
        "given_step": [(9, 1000.0)],
        "m/x": [(7, 1000.0)],
        "t": [(7, 1000.0)],
        "h": [(7, 1000.0)],
        "pr": [(7, 1000.0)],
        "own_time": [(7, 2000.0)],
    } == seen
    (first, second) = old.Scalars("a")
    assert ((7, 1000.0), 8) == ((first.step, first.wall_time), second.step)
    assert second.wall_time >= before
    with pytest.raises(ValueError, match="global_step or walltime"), writer.use_metadata():
        pass


def test_export_scalars_to_json_has_tensorboardx_keys_and_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Layout ``{"<logdir>/<tag>": [[walltime, step, value]]}``; add_scalars keys as the peer."""
    exports = {}
    for name, make in (("peer", _peer("tensorboardX")), ("tblog", tblog.SummaryWriter)):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        writer = make("run")
        for step in range(2):
            writer.add_scalars("loss", {"train": 1.0 + step, "val": 2.0}, step)
        writer.add_scalar("lr", 0.5, 0)
        writer.export_scalars_to_json("all.json")
        writer.close()
        exports[name] = json.loads(Path("all.json").read_text())

    def steps_values(export: dict[str, Any]) -> dict[str, list[list[float]]]:
        return {key: [point[1:] for point in points] for key, points in export.items()}

    ours = steps_values(exports["tblog"])
    assert {"run/loss/train": [[0, 1.0], [1, 2.0]], "run/loss/val": [[0, 2.0], [1, 2.0]]} == (
        steps_values(exports["peer"])
    )
    assert {**steps_values(exports["peer"]), "run/lr": [[0, 0.5]]} == ours
    assert all(point[0] > 1e9 for points in exports["tblog"].values() for point in points)


def test_purge_step_hides_stale_points_like_restore(logdir: Path) -> None:
    """A writer resumed with ``purge_step`` shows no point of the old run at or after it."""
    with tblog.SummaryWriter(logdir) as first:
        for step in range(10):
            first.add_scalar("loss", float(step), step)
            first.add_text("notes", f"old {step}", step)
    with tblog.SummaryWriter(logdir, purge_step=5) as resumed:
        for step in range(5, 8):
            resumed.add_scalar("loss", 100.0 + step, step)
        resumed.add_text("notes", "new")  # counted on from the purge step
    run = read_run(logdir)
    assert [*[(s, float(s)) for s in range(5)], (5, 105.0), (6, 106.0), (7, 107.0)] == (
        run.scalars["loss"]
    )
    _, plugin_loader = _accumulators(logdir)  # the server's loader (the legacy one keeps text)
    assert [0, 1, 2, 3, 4, 5] == [e.step for e in plugin_loader.Tensors("notes")]


def test_add_images_takes_a_list_of_numpy_images_without_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A list of HWC (or CHW) arrays makes the grid tensorboardX makes of the stacked batch."""
    pytest.importorskip("PIL")
    images = [np.full((8, 6, 3), 40 * i, np.uint8) for i in range(3)]
    peer = _peer("tensorboardX")(str(tmp_path / "peer"))
    peer.add_images("batch", np.stack(images), 1, dataformats="NHWC")
    peer.close()
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` fails from here on
    with tblog.SummaryWriter(tmp_path / "tblog") as writer:
        writer.add_images("batch", images, 1, dataformats="HWC")
        writer.add_images("chw", [image.transpose(2, 0, 1) for image in images], 1)
        with pytest.raises(ValueError, match="CHW or HWC"):
            writer.add_images("bad", images, 1, dataformats="HW")
    ours = read_run(tmp_path / "tblog").images
    assert read_run(tmp_path / "peer").images["batch"] == ours["batch"] == ours["chw"]


def _experiment(path: Path) -> Any:
    """The HParams experiment TensorBoard reads from a run."""
    from tensorboard.plugins.hparams.plugin_data_pb2 import HParamsPluginData

    _, new = _accumulators(path)
    content = new.SummaryMetadata("_hparams_/experiment").plugin_data.content
    return HParamsPluginData.FromString(content).experiment


@pytest.mark.parametrize("peer", PEERS)
def test_add_hparams_takes_each_peers_argument_order(tmp_path: Path, peer: str) -> None:
    """Both orders: tensorboardX's (..., name, step), torch's (..., domains, run_name, step)."""
    hparams, metrics = {"lr": 0.1, "opt": "adam"}, {"hp/acc": 0.75}
    args = ({"opt": ["adam", "sgd"]}, "trial", 3) if peer == "torch" else ("trial", 3)
    theirs = _peer(peer)(str(tmp_path / "peer"))
    theirs.add_hparams(hparams, metrics, *args)
    theirs.close()
    with tblog.SummaryWriter(tmp_path / "tblog") as writer:
        writer.add_hparams(hparams, metrics, *args)
    ours = read_run(tmp_path / "tblog")
    assert [(3, 0.75)] == ours.scalars["hp/acc"]
    assert [str(tmp_path / "tblog")] == [
        os.path.dirname(f) for f in event_files(tmp_path / "tblog", recursive=True)
    ]
    assert _experiment(tmp_path / "peer" / "trial").hparam_infos == (
        _experiment(tmp_path / "tblog").hparam_infos
    )
    with pytest.raises(TypeError, match="hparam_domain_discrete"):
        writer.add_hparams(hparams, metrics, hparam_domain_discrete={"opt": [1, 2]})


@pytest.mark.parametrize("peer", PEERS)
def test_add_scalar_takes_each_peers_extra_arguments(tmp_path: Path, peer: str) -> None:
    """Extras of both: tensorboardX's display_name/description, torch's new_style/double."""
    extra = (True, True) if peer == "torch" else ("Loss", "the training loss")
    for name, make in (("peer", _peer(peer)), ("tblog", tblog.SummaryWriter)):
        writer = make(str(tmp_path / name))
        writer.add_scalar("loss", 0.1, 4, None, *extra)
        writer.close()
    seen = []
    for name in ("peer", "tblog"):
        _, new = _accumulators(tmp_path / name)
        (event,) = new.Tensors("loss")
        metadata = new.SummaryMetadata("loss")
        seen.append(
            (
                event.step,
                event.tensor_proto.dtype,
                metadata.display_name,
                metadata.summary_description,
            )
        )
    assert seen[0] == seen[1]


@pytest.mark.parametrize("peer", PEERS)
def test_add_image_with_boxes_takes_each_peers_argument_order(tmp_path: Path, peer: str) -> None:
    """Both orders: tensorboardX's (..., dataformats, labels), torch's (..., rescale, ...)."""
    pytest.importorskip("PIL")
    image, boxes = np.zeros((10, 12, 3)), np.array([[1, 1, 5, 5]])
    extra = (2, "HWC", ["cat"]) if peer == "torch" else ("HWC", ["cat"])
    for name, make in (("peer", _peer(peer)), ("tblog", tblog.SummaryWriter)):
        writer = make(str(tmp_path / name))
        writer.add_image_with_boxes("boxes", image, boxes, 1, None, *extra)
        writer.close()
    expected = (24, 20) if peer == "torch" else (12, 10)  # torch's rescale=2 scales the PNG
    assert [expected, expected] == [_png_size(tmp_path / n, "boxes") for n in ("peer", "tblog")]


def _png_size(path: Path, tag: str) -> tuple[int, int]:
    """The size of the one image of ``tag`` as TensorBoard serves it (the PNG, not metadata)."""
    import io

    from PIL import Image

    old, _ = _accumulators(path)
    (event,) = old.Images(tag)
    with Image.open(io.BytesIO(event.encoded_image_string)) as image:
        return image.size


def test_file_writer_takes_prebuilt_summaries_into_the_run(logdir: Path) -> None:
    """``writer.file_writer.add_summary(...)`` (the peers' hparams recipe) writes into the run."""
    with tblog.SummaryWriter(logdir) as writer:
        writer.file_writer.add_summary(_hparams_summary())
        writer._get_file_writer().add_summary(_hparams_summary())
    assert ["_hparams_/experiment"] == read_run(logdir).plugins["hparams"]


def test_shares_the_run_and_file_of_setup_and_handlers(tmp_path: Path) -> None:
    """With ``tblog.setup`` active, ``SummaryWriter()`` writes into its run: one event file."""
    root = tblog.setup(
        "exp", log_root=tmp_path / "logs", runs_root=tmp_path / "runs", console=False
    )
    writer = tblog.SummaryWriter()
    assert str(root.run_path) == writer.get_logdir()
    writer.add_scalar("from_writer", 1.0, 0)
    logging.getLogger("train").info("x", extra={"tag": "from_handler", "value": 2.0, "step": 0})
    writer.close()
    tblog.close()
    assert 1 == len(event_files(root.run_path, recursive=True))
    assert {"from_writer", "from_handler"} == set(read_run(root.run_path).scalars)
