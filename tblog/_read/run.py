"""A run: its files, read incrementally, and the view TensorBoard gives of them (purges applied)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tblog._read.events import parse_event, source_records
from tblog._read.file import FileReader
from tblog._read.points import (
    HISTOGRAMS,
    SCALARS,
    TEXT,
    Chunk,
    Control,
    Histograms,
    RunState,
    Scalars,
    Texts,
)
from tblog._read.sources import Source
from tblog._read.values import START, version_of
from tblog._tags import tag_matches


class RunReader:
    """One run directory (or one event file); ``update()`` reads what was added since."""

    def __init__(
        self,
        source: Source,
        path: str,
        want: Sequence[str] = (SCALARS, TEXT, HISTOGRAMS),
        single_file: bool = False,
    ) -> None:
        self.source = source
        self.path = path
        self.want = frozenset(want)
        self._single_file = single_file
        self._files: dict[str, FileReader] = {}
        self._order: list[str] = []
        self.state = RunState()

    def update(self) -> bool:
        """Read new records of known files and any new event files; True if anything was read.

        Raises:
            OSError: A file cannot be read.
            NotAnEventError: A record that passes its CRC checks is no Event.
        """
        files = [self.path] if self._single_file else self.source.event_files(self.path)
        for path in files:
            if path not in self._files:
                self._files[path] = FileReader(path)
                self._order.append(path)
        before = self.state.seq
        for path in self._order:
            self._files[path].read(self.source, self.state, self.want)
        return self.state.seq != before

    @property
    def damaged(self) -> dict[str, str]:
        """Files read only up to a corrupt record: path -> one line naming the file and where.

        A corrupt record (a wrong length or data CRC) ends its file for both TensorBoard
        loaders too; the rest of the run is read. A torn last record is no damage: it is the
        part of a file still being written, and is read once complete.
        """
        return {path: f.damage for path, f in self._files.items() if f.damage is not None}

    @property
    def legacy(self) -> bool:
        """True if some events came before a ``file_version`` 2 (older purge rule applies)."""
        state = self.state
        if state.legacy:
            return True
        if state.first_summary < 0:
            return False
        first_v2 = next(
            (c.seq for c in state.controls if c.version is not None and c.version >= 2), None
        )
        return first_v2 is None or state.first_summary < first_v2

    def _purges(self) -> list[Control]:
        """The STARTs that purge: every one after the first, counted once file_version 2 is seen."""
        purges = []
        versioned = seen_start = False
        for control in sorted(self.state.controls, key=lambda c: c.seq):
            if control.version is not None:
                versioned = control.version >= 2
            elif versioned:
                if seen_start:
                    purges.append(control)
                seen_start = True
        return purges

    def scalars(self, raw: bool = False, any_plugin: bool = False) -> Scalars:
        """The scalar points in reading order; tag codes number tags in first-seen order.

        Args:
            raw: Every point read, no purges.
            any_plugin: Keep number tensors of every tag, not only of "scalars" tags.
        """
        if self.legacy and not raw:
            return _legacy_view(self).scalars(raw=True)
        state = self.state
        step, wall, value, tid = (column[: state.points] for column in state.columns)
        keep = None
        if not raw:
            for control in self._purges():
                cut = control.cuts[0]
                start_step = control.start_step
                assert start_step is not None  # noqa: S101 - purges are STARTs
                if keep is None:
                    keep = np.ones(len(step), dtype=bool)
                keep[:cut] &= step[:cut] < start_step
        # tensor points count as scalars only for tags whose plugin is "scalars"
        names = state.tag_names
        scalar_plugin = [
            not tensor or state.plugins.get(tag, (0, ""))[1] == SCALARS for tag, tensor in names
        ]
        if not any_plugin and not all(scalar_plugin):
            allowed = np.array(scalar_plugin, dtype=bool)[tid]
            keep = allowed if keep is None else keep & allowed
        if keep is not None and not keep.all():
            step, wall, value, tid = step[keep], wall[keep], value[keep], tid[keep]
        # merge the two kinds of a tag (simple_value and tensor) under one code
        tags: list[str] = []
        index: dict[str, int] = {}
        remap = np.empty(max(len(names), 1), dtype=np.int32)
        for i, (tag, _) in enumerate(names):
            remap[i] = index.setdefault(tag, len(index))
            if remap[i] == len(tags):
                tags.append(tag)
        return Scalars(step, wall, value, remap[tid] if len(names) else tid, tags)

    def texts(self, raw: bool = False) -> Texts:
        """The text points of tags whose plugin is "text", in reading order."""
        if self.legacy and not raw:
            return _legacy_view(self).texts(raw=True)
        state = self.state
        texts = state.texts
        purges = [] if raw else self._purges()
        out = Texts([], [], [], [])
        for i, tag in enumerate(texts.tag):
            if state.plugins.get(tag, (0, ""))[1] != TEXT:
                continue
            step = texts.step[i]
            if any(i < p.cuts[1] and step >= (p.start_step or 0) for p in purges):
                continue
            out.step.append(step)
            out.wall_time.append(texts.wall_time[i])
            out.tag.append(tag)
            out.value.append(texts.value[i])
        return out

    def histograms(self, raw: bool = False) -> Histograms:
        """The histogram points (``histo`` values and histogram tensors), in reading order."""
        if self.legacy and not raw:
            return _legacy_view(self).histograms(raw=True)
        state = self.state
        hists = state.hists
        purges = [] if raw else self._purges()
        keep = [
            i
            for i, step in enumerate(hists.step)
            if not any(i < p.cuts[2] and step >= (p.start_step or 0) for p in purges)
            # a (k, 3) tensor is a histogram only for tags whose plugin is "histograms"
            and (
                i not in state.tensor_hists
                or state.plugins.get(hists.tag[i], (0, ""))[1] == HISTOGRAMS
            )
        ]
        fields = dataclasses.fields(Histograms)
        return Histograms(*([getattr(hists, f.name)[i] for i in keep] for f in fields))

    def last_steps(self) -> dict[str, int]:
        """The highest step of every tag written (any kind, purges ignored)."""
        scalars = self.scalars(raw=True, any_plugin=True)
        steps: dict[str, int] = {}
        if len(scalars.step):
            lowest = np.iinfo(np.int64).min
            highest = np.full(len(scalars.tags), lowest, dtype=np.int64)
            np.maximum.at(highest, scalars.tag, scalars.step)
            steps = {t: int(h) for t, h in zip(scalars.tags, highest, strict=True) if h > lowest}
        state = self.state
        extra = list(zip(state.texts.tag, state.texts.step, strict=True))
        extra += list(zip(state.hists.tag, state.hists.step, strict=True))
        extra += list(state.other_steps.items())
        for tag, step in extra:
            if step >= steps.get(tag, step):
                steps[tag] = step
        return steps


def _legacy_view(reader: RunReader) -> RunReader:
    """Re-read a run with events before any file_version 2, applying the older purge rule.

    The Python loader then purges, for an event whose step is below the previous summary
    event's, the points of that event's tags at or after its step. This path is slow (protobuf
    for every record) and only taken for such runs.
    """
    view = RunReader(reader.source, reader.path, sorted(reader.want))
    chunk = Chunk(view.state, 0, view.want)
    version: float | None = None
    seen_start = False
    recent = -1
    kept: list[tuple[int, Any, Any]] = []  # (record, event, value) that survive so far
    files = reader._order
    records = ((path, data) for path in files for data in source_records(reader.source, path))
    for rec, (path, data) in enumerate(records):
        event = parse_event(data, path)
        if event.HasField("file_version"):
            version = version_of(event.file_version)
        if version is not None and version >= 2:
            if event.HasField("session_log") and event.session_log.status == START:
                if seen_start:
                    kept = [k for k in kept if k[1].step < event.step]
                seen_start = True
        elif event.step < recent and event.HasField("summary"):
            tags = {v.tag for v in event.summary.value}
            kept = [k for k in kept if k[1].step < event.step or k[2].tag not in tags]
        if event.HasField("summary"):
            recent = event.step
            for value in event.summary.value:
                if value.HasField("metadata"):
                    view.state.plugin(value.tag, rec, value.metadata.plugin_data.plugin_name)
                kept.append((rec, event, value))
    file_reader = FileReader(reader.path)
    for rec, event, value in kept:
        chunk.records = rec + 1
        file_reader.add_value(rec, rec, event, value, chunk)
    chunk.finish()
    return view


def last_steps(run_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Return the highest step written to each tag of a run directory (not its sub-runs)."""
    reader = RunReader(Source(), os.fspath(run_dir), want=())
    reader.update()
    return reader.last_steps()


def scalar_points(run_dir: str | os.PathLike[str]) -> dict[str, list[list[float]]]:
    """Return every scalar of a run directory as ``{tag: [[walltime, step, value], ...]}``.

    Points of a tag come in file order; purged points are left out, as TensorBoard leaves
    them out (tensorboardX's ``export_scalars_to_json`` layout, without the run prefix).
    """
    reader = RunReader(Source(), os.fspath(run_dir), want=(SCALARS,))
    reader.update()
    found = reader.scalars()
    points: dict[str, list[list[float]]] = {}
    for code, step, wall, value in zip(
        found.tag.tolist(),
        found.step.tolist(),
        found.wall_time.tolist(),
        found.value.tolist(),
        strict=True,
    ):
        points.setdefault(found.tags[code], []).append([wall, step, value])
    return points


def open_runs(
    path: str | os.PathLike[str], want: Sequence[str]
) -> tuple[Source, list[tuple[str, RunReader]]]:
    """The runs at ``path`` (an event file, a run, or a root of runs), not read yet.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ModuleNotFoundError: ``path`` is a URL and fsspec is missing.
    """
    source, root = Source.for_path(path)
    if source.isfile(root):
        return source, [(".", RunReader(source, root, want, single_file=True))]
    if not source.isdir(root):
        raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
    return source, [(name, RunReader(source, d, want)) for name, d in source.runs(root)]


def tag_filter(tags: str | Sequence[str] | None) -> Callable[[str], bool]:
    """A predicate for tag names from names or glob patterns (None: every tag).

    A tag is kept if it equals one of ``tags`` (so ``"acc[0]"`` keeps the tag named ``acc[0]``)
    or matches one as a glob pattern.
    """
    if tags is None:
        return lambda _tag: True
    patterns = [tags] if isinstance(tags, str) else list(tags)
    for pattern in patterns:
        if not isinstance(pattern, str):
            msg = f"tags must be glob patterns (str), got {pattern!r}"
            raise TypeError(msg)
    names = frozenset(patterns)  # exact names first, then globs (their order does not matter)
    cache: dict[str, bool] = {}

    def keep(tag: str) -> bool:
        found = cache.get(tag)
        if found is None:
            found = tag_matches(tag, names)
            cache[tag] = found
        return found

    return keep
