"""The per-tag table that ``summary`` and ``watch`` show: points, steps, last/min/max, a curve."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tblog import _read

SPARKS = "▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int = 24) -> str:
    """Draw the finite ``values`` as a unicode sparkline, averaged down to ``width`` cells."""
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return ""
    if len(finite) > width:
        size = len(finite) / width
        finite = [
            sum(chunk) / len(chunk)
            for i in range(width)
            if (chunk := finite[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)])
        ]
    low, high = min(finite), max(finite)
    if high == low:
        return SPARKS[len(SPARKS) // 2] * len(finite)
    scale = (len(SPARKS) - 1) / (high - low)
    return "".join(SPARKS[round((v - low) * scale)] for v in finite)


def _number(value: float) -> str:
    return f"{value:.6g}"


def _by_tag(scalars: _read.Scalars) -> list[tuple[str, Any, Any]]:
    """(tag, steps, values) per tag, tags sorted, points in the order they were written."""
    import numpy as np

    if not len(scalars.step):
        return []
    order = np.argsort(scalars.tag, kind="stable")
    codes = scalars.tag[order]
    cuts = np.flatnonzero(np.diff(codes)) + 1
    firsts = np.concatenate(([0], cuts))
    steps = np.split(scalars.step[order], cuts)
    values = np.split(scalars.value[order], cuts)
    found = [
        (scalars.tags[int(codes[i])], s, v) for i, s, v in zip(firsts, steps, values, strict=True)
    ]
    return sorted(found, key=lambda item: item[0])


def _curve(values: Any, width: int = 24) -> str:
    """``sparkline`` of a numpy array, averaged down to ``width`` cells in numpy first."""
    import numpy as np

    finite = values[np.isfinite(values)]
    if len(finite) > width:
        size = len(finite) / width
        cells = [
            float(finite[int(i * size) : max(int((i + 1) * size), int(i * size) + 1)].mean())
            for i in range(width)
        ]
        return sparkline(cells, width)
    return sparkline(finite.tolist(), width)


def tag_rows(scalars: _read.Scalars) -> list[tuple[str, ...]]:
    """Per tag: tag, points, first..last step, last, min, max (NaN left out), curve."""
    import numpy as np

    rows: list[tuple[str, ...]] = []
    for tag, steps, values in _by_tag(scalars):
        finite = values[np.isfinite(values)]
        low, high = (finite.min(), finite.max()) if len(finite) else (math.nan, math.nan)
        rows.append(
            (
                tag,
                str(len(steps)),
                f"{steps.min()}..{steps.max()}",  # written order need not be step order
                _number(float(values[-1])),
                _number(float(low)),
                _number(float(high)),
                _curve(values),
            )
        )
    return rows


def table(rows: list[tuple[str, ...]]) -> list[str]:
    """The lines of ``tag_rows``' rows under a header, columns aligned, the curve last."""
    header = ("tag", "points", "steps", "last", "min", "max", "curve")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(6)]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])]
        cells += [row[i].rjust(widths[i]) for i in range(1, 6)]
        lines.append("  " + "  ".join(cells) + "  " + row[6])
    return lines
