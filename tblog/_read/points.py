"""What a run holds: its points of each kind, and the state read so far from its files."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

_COLUMN_TYPES = (np.int64, np.float64, np.float64, np.int32)  # step, wall_time, value, tag

SCALARS = "scalars"
TEXT = "text"
HISTOGRAMS = "histograms"


@dataclasses.dataclass
class Scalars:
    """Scalar points of one run, as parallel arrays, and the names of the tag codes."""

    step: Any
    wall_time: Any
    value: Any
    tag: Any  # int32 codes into tags
    tags: list[str]


@dataclasses.dataclass
class Texts:
    """Text points of one run."""

    step: list[int]
    wall_time: list[float]
    tag: list[str]
    value: list[str]


@dataclasses.dataclass
class Histograms:
    """Histogram points of one run; limits are the right bucket edges, counts their counts."""

    step: list[int]
    wall_time: list[float]
    tag: list[str]
    min: list[float]
    max: list[float]
    num: list[float]
    sum: list[float]
    sum_squares: list[float]
    limits: list[Any]
    counts: list[Any]


@dataclasses.dataclass
class Control:
    """A file_version or START event and how many points of each kind came before it."""

    seq: int
    version: float | None
    start_step: int | None
    cuts: tuple[int, int, int] = (0, 0, 0)


class RunState:
    """Everything read so far from one run's files, in reading order."""

    def __init__(self) -> None:
        self.seq = 0  # records read so far
        self.tag_ids: dict[tuple[str, bool], int] = {}
        self.tag_names: list[tuple[str, bool]] = []
        # scalar points, column by column (step, wall, value, tag id); capacity grows ahead
        self.columns: list[Any] = [np.empty(0, dtype=t) for t in _COLUMN_TYPES]
        self.points = 0
        self.texts = Texts([], [], [], [])
        self.hists = Histograms([], [], [], [], [], [], [], [], [], [])
        self.tensor_hists: set[int] = set()  # histogram points that came from tensors
        self.controls: list[Control] = []
        self.plugins: dict[str, tuple[int, str]] = {}  # tag -> (seq, plugin) of its first metadata
        self.other_steps: dict[str, int] = {}
        self.first_summary = -1
        self.legacy = False

    def expect(self, points: int) -> None:
        """Make room for ``points`` more scalar points (pages are only touched when used)."""
        need = self.points + points
        if need > len(self.columns[0]):
            capacity = max(need, 2 * len(self.columns[0]))
            for i, column in enumerate(self.columns):
                grown = np.empty(capacity, dtype=column.dtype)
                grown[: self.points] = column[: self.points]
                self.columns[i] = grown

    def add_points(self, step: Any, wall: Any, value: Any, tid: Any) -> None:
        """Append scalar points (arrays of equal length)."""
        count = len(step)
        self.expect(count)
        at = slice(self.points, self.points + count)
        for column, part in zip(self.columns, (step, wall, value, tid), strict=True):
            column[at] = part
        self.points += count

    def tag_id(self, tag: str, *, tensor: bool) -> int:
        """The code of a tag (its simple values and its tensors are coded apart)."""
        key = (tag, tensor)
        found = self.tag_ids.get(key)
        if found is None:
            found = self.tag_ids[key] = len(self.tag_names)
            self.tag_names.append(key)
        return found

    def plugin(self, tag: str, seq: int, name: str) -> None:
        """Note a tag's plugin; the first metadata read (lowest ``seq``) decides."""
        known = self.plugins.get(tag)
        if known is None or seq < known[0]:
            self.plugins[tag] = (seq, name)

    def summary_at(self, seq: int) -> None:
        """Note that record ``seq`` is a summary event."""
        if self.first_summary < 0 or seq < self.first_summary:
            self.first_summary = seq


class Chunk:
    """The points of one chunk of records, put back in record order at the end."""

    def __init__(self, run: RunState, records: int, want: frozenset[str]) -> None:
        self.run = run
        self.base = run.seq
        self.want = want
        self.records = records
        self.blocks: list[tuple[Any, Any, Any, Any, Any]] = []  # (recs, step, wall, value, id)
        self.extra: list[tuple[int, int, float, float, int]] = []
        self.controls: list[tuple[Control, int]] = []  # with the record index

    def finish(self) -> None:
        """Add the chunk's points and controls to the run, in record order."""
        run = self.run
        if self.blocks:
            if len(self.blocks) == 1:
                recs, step, wall, value, tid = self.blocks[0]
            else:
                n = self.records
                tid_all = np.full(n, -1, dtype=np.int32)
                step_all = np.empty(n, dtype=np.int64)
                wall_all = np.empty(n, dtype=np.float64)
                value_all = np.empty(n, dtype=np.result_type(*(b[3] for b in self.blocks)))
                for b_recs, b_step, b_wall, b_value, b_tid in self.blocks:
                    tid_all[b_recs] = b_tid
                    step_all[b_recs] = b_step
                    wall_all[b_recs] = b_wall
                    value_all[b_recs] = b_value
                recs = np.flatnonzero(tid_all >= 0)
                step, wall = step_all[recs], wall_all[recs]
                value, tid = value_all[recs], tid_all[recs]
                del tid_all, step_all, wall_all, value_all
        else:
            recs = np.empty(0, dtype=np.int64)
            step = np.empty(0, dtype=np.int64)
            wall = np.empty(0, dtype=np.float64)
            value = np.empty(0, dtype=np.float64)
            tid = np.empty(0, dtype=np.int32)
        if self.extra:
            e_recs, e_step, e_wall, e_value, e_tid = (
                np.array(c) for c in zip(*self.extra, strict=True)
            )
            at = np.searchsorted(recs, e_recs, side="right")
            recs = np.insert(recs, at, e_recs)
            step = np.insert(step, at, e_step.astype(np.int64))
            wall = np.insert(wall, at, e_wall.astype(np.float64))
            value = np.insert(value.astype(np.float64, copy=False), at, e_value.astype(np.float64))
            tid = np.insert(tid, at, e_tid.astype(np.int32))
        for control, rec in self.controls:
            before = int(np.searchsorted(recs, rec))
            control.cuts = (run.points + before, *control.cuts[1:])
            run.controls.append(control)
        if len(step):
            run.add_points(step, wall, value, tid)
        run.seq += self.records
