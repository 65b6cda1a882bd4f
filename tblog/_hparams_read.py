"""Read HParams sessions into one table: a row per session, its hyperparameters and metrics.

What TensorBoard's HParams plugin shows, read from the same files:

* A session is a run holding a ``_hparams_/session_start_info`` summary (the first one written
  in that run counts, as TensorBoard keeps a tag's first metadata). Its hyperparameters are
  that summary's values; NaN numbers count as unset.
* The metrics are those of an ``_hparams_/experiment`` summary (the first run holding one, in
  run order). Without one, every scalar tag of a session's run and of the runs below it is a
  metric (group: the sub-run's path below the session).
* A metric's value is the last point of that scalar tag (after TensorBoard's purges) in the
  session's run, or in its sub-run named by the metric's group.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tblog._extras import pandas
from tblog._hparams_tags import EXPERIMENT_TAG as EXPERIMENT
from tblog._hparams_tags import SESSION_START_TAG as SESSION_START
from tblog.exceptions import DamagedEventFileWarning

if TYPE_CHECKING:
    import pandas as pd

    from tblog import _read

PLUGIN = "hparams"
_MARKER = b"_hparams_/"
_PROTOS: dict[str, Any] = {}

AGGREGATES: dict[str, Callable[[Any], float]] = {  # values: a non-empty numpy array
    "last": lambda values: float(values[-1]),
    "min": lambda values: float(values.min()),
    "max": lambda values: float(values.max()),
    "mean": lambda values: float(values.mean()),
}


@dataclasses.dataclass
class Session:
    """One HParams session: its run's name and hyperparameters (float, str or bool values)."""

    run: str
    hparams: dict[str, Any]


@dataclasses.dataclass
class Sweep:
    """The sessions below a path, the metrics TensorBoard lists, and every run's scalars."""

    sessions: list[Session]
    metrics: list[tuple[str, str]]  # (group, tag)
    series: dict[tuple[str, str], Any]  # (run, tag) -> values, in TensorBoard's order
    runs: list[str]
    damaged: list[str]  # a line per file read only up to a corrupt record

    def metric_name(self, group: str, tag: str) -> str:
        """A metric's column name: its tag, below its group's sub-run when it has one."""
        return f"{group}/{tag}" if group else tag

    def series_of(self, session: str, name: str) -> Any:
        """The values of metric ``name`` (a tag, or ``group/tag``) of ``session``, or None."""
        found = self.series.get((session, name))
        if found is not None:
            return found
        parts = name.split("/")
        for cut in range(1, len(parts)):
            group, tag = "/".join(parts[:cut]), "/".join(parts[cut:])
            found = self.series.get((_join(session, group), tag))
            if found is not None:
                return found
        return None

    def hparam_names(self) -> list[str]:
        """Every hyperparameter name, sorted (files do not keep the order they were given in)."""
        return sorted({name for session in self.sessions for name in session.hparams})


def load(path: str | os.PathLike[str], progress: bool | None = None) -> Sweep:
    """Read every run at ``path``: its scalars and, for sessions, their HParams summaries.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ModuleNotFoundError: ``path`` is a URL and fsspec is missing.
        OSError: An event file cannot be read.
        ValueError: A record passes its CRC checks but is no TensorBoard event.
    """
    from tblog import _fetch, _read

    series: dict[tuple[str, str], Any] = {}
    contents: dict[str, dict[str, bytes]] = {}
    runs: list[str] = []
    damaged: list[str] = []
    for name, reader in _fetch.read_runs(path, [_read.SCALARS], progress):
        runs.append(name)
        damaged += reader.damaged.values()
        series.update(((name, tag), values) for tag, values in _by_tag(reader.scalars()))
        tags = [t for t, (_, p) in reader.state.plugins.items() if p == PLUGIN]
        if tags:
            contents[name] = _plugin_contents(reader, set(tags))
    sessions = [
        Session(run, _hparams(found[SESSION_START]))
        for run, found in sorted(contents.items())
        if SESSION_START in found
    ]
    experiment = next(
        (found[EXPERIMENT] for _, found in sorted(contents.items()) if EXPERIMENT in found), None
    )
    if experiment is not None:
        metrics = _experiment_metrics(experiment)
    elif sessions:
        metrics = _metrics_from_runs({s.run for s in sessions}, series)
    else:
        metrics = []
    return Sweep(sessions, metrics, series, runs, damaged)


def read_hparams(path: str | os.PathLike[str], *, progress: bool | None = None) -> pd.DataFrame:
    """Read the HParams sessions below ``path`` as TensorBoard's HParams tab shows them.

    A session is a run where hyperparameters were recorded (``tblog`` facade's ``hparams``,
    ``SummaryWriter.add_hparams`` of tblog, tensorboardX or torch, ``tensorboard``'s
    ``hparams`` API). From a bucket, every event file is fetched concurrently.

    Args:
        path: A run directory, a root of runs, an event file, or an fsspec URL of one.
        progress: Show progress on stderr when reading takes over a second: None (default) on
            a terminal only, True always, False never.

    Returns:
        One row per session, sorted by ``run`` (named as in ``read_scalars``); a column per
        hyperparameter (float64, str or bool as logged; object when a name holds several
        types) and a column per metric of the HParams tab (float64: the metric's last value;
        a metric of a sub-run is named ``group/tag``). Missing values are NaN or None.

    Raises:
        ModuleNotFoundError: pandas is missing (or fsspec, for a URL).
        FileNotFoundError: ``path`` does not exist.
        OSError: An event file cannot be read.
        ValueError: A record passes its CRC checks but is no TensorBoard event.

    Warns:
        DamagedEventFileWarning: A file was read only up to a corrupt record.
    """
    pd = pandas()
    sweep = load(path, progress)
    for message in sweep.damaged:
        warnings.warn(message, DamagedEventFileWarning, stacklevel=2)
    return table(pd, sweep)


def table(
    pd: Any, sweep: Sweep, metrics: Sequence[str] | None = None, agg: str = "last"
) -> pd.DataFrame:
    """The sweep as a DataFrame: run, hyperparameters, then metrics.

    Args:
        pd: The pandas module.
        sweep: What ``load`` read.
        metrics: Column names of the metrics (tags, or ``group/tag``); None: the HParams tab's.
        agg: How a metric's points make its value: ``last``, ``min``, ``max`` or ``mean``.
    """
    reduce = AGGREGATES[agg]
    if metrics is None:
        metrics = [sweep.metric_name(g, t) for g, t in sweep.metrics]
    runs = [s.run for s in sweep.sessions]
    data: dict[str, Any] = {"run": pd.Series(runs, dtype=object)}
    for name in sweep.hparam_names():
        data[name] = _hparam_column(pd, [s.hparams.get(name) for s in sweep.sessions])
    for name in metrics:
        values = [sweep.series_of(run, name) for run in runs]
        column = [reduce(v) if v is not None and len(v) else math.nan for v in values]
        data[name] = pd.Series(column, dtype="float64")
    return pd.DataFrame(data)


def _hparam_column(pd: Any, values: list[Any]) -> Any:
    kinds = {type(v) for v in values if v is not None}
    if kinds == {float}:
        return pd.Series([math.nan if v is None else v for v in values], dtype="float64")
    if kinds == {bool} and None not in values:
        return pd.Series(values, dtype=bool)
    return pd.Series(values, dtype=object)


def _by_tag(scalars: _read.Scalars) -> list[tuple[str, Any]]:
    """Each tag's values, in the order they were written."""
    import numpy as np

    if not len(scalars.value):
        return []
    order = np.argsort(scalars.tag, kind="stable")
    codes = scalars.tag[order]
    values = scalars.value[order].astype(np.float64, copy=False)
    cuts = np.flatnonzero(np.diff(codes)) + 1
    starts = np.concatenate(([0], cuts))
    return [
        (scalars.tags[int(codes[s])], part)
        for s, part in zip(starts, np.split(values, cuts), strict=True)
    ]


def _plugin_contents(reader: _read.RunReader, tags: set[str]) -> dict[str, bytes]:
    """The first plugin content of each of ``tags`` in the run (TensorBoard keeps the first).

    Only files holding HParams summaries are scanned, and only until every tag is found.
    """
    from tblog import _read

    event_class = _read.event_class()  # the reader's Event message
    found: dict[str, bytes] = {}
    source = reader.source
    files = source.event_files(reader.path) or [reader.path]  # none: a run of one file
    for path in files:
        with source.open(path) as file:
            if _MARKER not in file.read():
                continue
        for data in _read.source_records(source, path):  # the reader's framing
            if _MARKER not in data:
                continue
            for value in event_class.FromString(data).summary.value:
                plugin = value.metadata.plugin_data
                if value.tag in tags and plugin.plugin_name == PLUGIN:
                    found.setdefault(value.tag, plugin.content)
            if len(found) == len(tags):
                return found
    return found


def _plugin_data_class() -> Any:
    """The HParams plugin's ``HParamsPluginData`` message, wire-compatible (built once)."""
    found = _PROTOS.get("data")
    if found is not None:
        return found
    from google.protobuf import (  # type: ignore[import-untyped, unused-ignore]
        descriptor_pb2,
        descriptor_pool,
        message_factory,
        struct_pb2,
    )

    pool = descriptor_pool.DescriptorPool()
    pool.Add(descriptor_pb2.FileDescriptorProto.FromString(struct_pb2.DESCRIPTOR.serialized_pb))
    file = descriptor_pb2.FileDescriptorProto(
        name="tblog_hparams.proto",
        package="tblog_hparams",
        syntax="proto3",
        dependency=["google/protobuf/struct.proto"],
    )
    message = ".tblog_hparams."
    fields = {  # message -> (name, number, type, message type, repeated)
        "HParamsPluginData": [
            ("version", 1, 5, "", False),
            ("experiment", 2, 11, message + "Experiment", False),
            ("session_start_info", 3, 11, message + "SessionStartInfo", False),
        ],
        "Experiment": [("metric_infos", 5, 11, message + "MetricInfo", True)],
        "MetricInfo": [("name", 1, 11, message + "MetricName", False)],
        "MetricName": [("group", 1, 9, "", False), ("tag", 2, 9, "", False)],
        "SessionStartInfo": [
            ("hparams", 1, 11, message + "SessionStartInfo.HparamsEntry", True),
            ("group_name", 4, 9, "", False),
        ],
    }
    for name, specs in fields.items():
        proto = file.message_type.add(name=name)
        for field_name, number, kind, type_name, repeated in specs:
            field = proto.field.add(name=field_name, number=number, type=kind)
            field.label = 3 if repeated else 1
            if type_name:
                field.type_name = type_name
        if name == "SessionStartInfo":
            entry = proto.nested_type.add(name="HparamsEntry")
            entry.options.map_entry = True
            entry.field.add(name="key", number=1, type=9, label=1)
            entry.field.add(
                name="value", number=2, type=11, label=1, type_name=".google.protobuf.Value"
            )
    pool.Add(file)
    data = message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tblog_hparams.HParamsPluginData")
    )
    _PROTOS["data"] = data
    return data


def _hparams(content: bytes) -> dict[str, Any]:
    """A session start's hyperparameters as Python values (NaN numbers left out, as TB does)."""
    start = _plugin_data_class().FromString(content).session_start_info
    hparams: dict[str, Any] = {}
    for name, value in start.hparams.items():
        kind = value.WhichOneof("kind")
        if kind == "number_value":
            if math.isfinite(value.number_value):
                hparams[name] = value.number_value
        elif kind == "string_value":
            hparams[name] = value.string_value
        elif kind == "bool_value":
            hparams[name] = value.bool_value
    return hparams


def _experiment_metrics(content: bytes) -> list[tuple[str, str]]:
    experiment = _plugin_data_class().FromString(content).experiment
    return [(info.name.group, info.name.tag) for info in experiment.metric_infos]


def _metrics_from_runs(
    sessions: set[str], series: dict[tuple[str, str], Any]
) -> list[tuple[str, str]]:
    """Every (group, tag) of a scalar tag in a session's run or below it, sorted by (tag, group)."""
    found: set[tuple[str, str]] = set()
    for run, tag in series:
        session = _longest_parent(sessions, run)
        if session is not None:
            found.add((tag, "" if run == session else run[len(session) + 1 :]))
    return [(group, tag) for tag, group in sorted(found)]


def _longest_parent(sessions: set[str], run: str) -> str | None:
    """The longest session that is ``run`` or a parent of it (the root run ``.`` has none)."""
    while run not in sessions:
        if not run:
            return None
        run = run.rpartition("/")[0]
    return run


def _join(session: str, group: str) -> str:
    if not group:
        return session
    return group if session == "." else f"{session}/{group}"
