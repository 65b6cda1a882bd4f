"""Markdown tables for TensorBoard's text plugin."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tblog._values import plain_str


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render a Markdown table; cells are str()-ed with pipes and newlines escaped.

    A str subclass (``np.str_``, a ``(str, Enum)`` member) renders as the string it holds.

    Raises:
        ValueError: ``columns`` is empty or a str, or a row is a str or has the wrong length.
        Exception: Whatever a cell's ``__str__`` or a row's iteration raises.
    """

    def cell(value: Any) -> str:
        text = plain_str(value if isinstance(value, str) else str(value))
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    names = [] if isinstance(columns, str) else list(columns)
    if not names:
        msg = "columns must be a non-empty sequence of names"
        raise ValueError(msg)
    lines = ["| " + " | ".join(cell(c) for c in names) + " |"]
    lines.append("|" + "---|" * len(names))
    for number, row in enumerate(rows):
        if isinstance(row, str):
            msg = f"row {number} is a str, not a sequence of cells"
            raise ValueError(msg)  # noqa: TRY004 - a bad table is a ValueError, like a bad length
        cells = list(row)
        if len(cells) != len(names):
            msg = f"row {number} has {len(cells)} cells, the table has {len(names)} columns"
            raise ValueError(msg)
        lines.append("| " + " | ".join(cell(v) for v in cells) + " |")
    return "\n".join(lines)
