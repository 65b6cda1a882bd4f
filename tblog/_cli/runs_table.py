"""The ``runs`` table as text: cells cut to a width, and only the columns that fit it."""

from __future__ import annotations

import math
import os
import textwrap
from typing import Any

_MAX_CELL = 24  # characters of a column at most (a run name: 32); longer ones are cut with …
_MAX_RUN = 32
_GAP = "  "


def cell(value: Any) -> str:
    """A value as the table shows it: numbers to 6 significant digits, missing as ``-``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _cut(text: str, width: int, *, keep_end: bool = False) -> str:
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


def render(df: Any, width: int, preferred: set[str] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """The table's lines, at most ``width`` characters each.

    Long cells are cut (run names keep their end), and the columns that do not fit are left
    out: the ``preferred`` ones (metrics, the sort column) are kept first, then the columns
    whose values vary, then the constant ones; a last line names the columns left out.
    """
    width = max(width, 20)
    columns: list[tuple[str, list[str], bool]] = []  # header, cells, numeric (right-aligned)
    for name in df.columns:
        values = df[name].tolist()
        if name == "run":
            cells = [_cut(text, _MAX_RUN, keep_end=True) for text in _run_cells(values)]
            columns.append(("run", cells, False))
            continue
        cells = [_cut(cell(v), _MAX_CELL) for v in values]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        columns.append((_cut(str(name), _MAX_CELL), cells, numeric))
    widths = [max([len(h), *(len(c) for c in cells)]) for h, cells, _ in columns]
    shown = _fit(df, widths, width, preferred)
    lines = []
    for row in range(-1, len(df)):
        parts = []
        for i in shown:
            header, cells, numeric = columns[i]
            text = header if row < 0 else cells[row]
            parts.append(text.rjust(widths[i]) if numeric else text.ljust(widths[i]))
        lines.append(_GAP.join(parts).rstrip())
    hidden = [str(c) for i, c in enumerate(df.columns) if i not in shown]
    if hidden:
        note = f"{len(hidden)} more columns (--format csv shows all): {', '.join(hidden)}"
        lines.extend(textwrap.wrap(note, width, subsequent_indent="  "))
    return lines


def _run_cells(runs: list[str]) -> list[str]:
    """Run names without most of a long prefix they all share (``…`` stands for it)."""
    if len(runs) < 2:
        return runs
    prefix = os.path.commonprefix(runs)  # noqa: RUF071 - characters, not path components
    cuts = [i for i, c in enumerate(prefix) if c in "/_-." and len(prefix) - i >= 4]
    if not cuts or cuts[-1] < 8:
        return runs
    return ["…" + run[cuts[-1] :] for run in runs]


def _fit(df: Any, widths: list[int], width: int, preferred: set[str]) -> list[int]:
    """The indices of the columns that fit in ``width``, in table order."""
    names = list(df.columns)

    def rank(i: int) -> tuple[int, int]:
        if i == 0 or names[i] in preferred:
            return (0, i)
        varying = df[names[i]].astype(str).nunique() > 1
        return (1 if varying else 2, i)

    order = sorted(range(len(names)), key=rank)
    chosen: list[int] = []
    used = 0
    for i in order:
        need = widths[i] + (len(_GAP) if chosen else 0)
        if used + need <= width:
            chosen.append(i)
            used += need
    return sorted(chosen)
