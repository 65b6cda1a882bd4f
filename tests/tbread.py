"""Read runs back with TensorBoard's own loader, as a user of TensorBoard would see them."""

from __future__ import annotations

import dataclasses
import glob
import os


@dataclasses.dataclass
class RunData:
    """What TensorBoard's loader sees in one run directory."""

    scalars: dict[str, list[tuple[int, float]]]
    texts: dict[str, list[tuple[int, str]]]
    histograms: dict[str, list[tuple[int, float]]]  # (step, number of values)
    images: dict[str, list[tuple[int, int, int]]]  # (step, width, height)
    plugins: dict[str, list[str]]  # plugin name -> tags carrying its metadata
    wall_times: list[float]

    def values(self, tag: str) -> list[float]:
        """The scalar values of ``tag`` in file order."""
        return [v for _, v in self.scalars[tag]]

    def steps(self, tag: str) -> list[int]:
        """The steps of ``tag`` (scalar or text) in file order."""
        series = self.scalars.get(tag) or self.texts.get(tag) or []
        return [s for s, _ in series]


def read_run(path: str | os.PathLike[str]) -> RunData:
    """Read one run directory with TensorBoard's own loader (``tensorboard.backend``)."""
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    acc = ea.EventAccumulator(
        str(path),
        size_guidance={ea.SCALARS: 0, ea.TENSORS: 0, ea.HISTOGRAMS: 0, ea.IMAGES: 0},
    )
    acc.Reload()
    tags = acc.Tags()
    scalars = {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in tags["scalars"]}
    texts: dict[str, list[tuple[int, str]]] = {}
    wall_times = [e.wall_time for t in tags["scalars"] for e in acc.Scalars(t)]
    for tag in tags["tensors"]:
        events = acc.Tensors(tag)
        metadata = acc.SummaryMetadata(tag)
        if metadata.plugin_data.plugin_name != "text":
            continue
        texts[tag] = []
        for event in events:
            array = tensor_util.make_ndarray(event.tensor_proto)
            item = array.item() if array.size == 1 else array.reshape(-1)[0]
            texts[tag].append((event.step, item.decode("utf-8")))
            wall_times.append(event.wall_time)
    histograms = {
        t: [(e.step, e.histogram_value.num) for e in acc.Histograms(t)] for t in tags["histograms"]
    }
    images = {t: [(e.step, e.width, e.height) for e in acc.Images(t)] for t in tags["images"]}
    plugin_acc = pea.EventAccumulator(str(path), size_guidance={"tensors": 0})
    plugin_acc.Reload()
    plugins: dict[str, list[str]] = {}
    for plugin in plugin_acc.ActivePlugins():
        plugins[plugin] = sorted(plugin_acc.PluginTagToContent(plugin))
    return RunData(scalars, texts, histograms, images, plugins, wall_times)


def event_files(path: str | os.PathLike[str], recursive: bool = False) -> list[str]:
    """The event files of a run directory, sorted by name as TensorBoard reads them."""
    pattern = "**/events.out.tfevents.*" if recursive else "events.out.tfevents.*"
    return sorted(glob.glob(os.path.join(str(path), pattern), recursive=recursive))
