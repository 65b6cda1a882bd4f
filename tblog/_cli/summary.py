"""``tblog summary``: per run and tag, the points, steps, last/min/max and a sparkline."""

from __future__ import annotations

import argparse
import sys
from typing import IO, TYPE_CHECKING, Any

from tblog._cli.common import CommandError, find_runs, label, read_new
from tblog._cli.tags import table, tag_rows

if TYPE_CHECKING:
    from tblog import _read


def add_parser(commands: Any) -> None:
    """Register ``summary`` on the ``tblog`` sub-command parsers."""
    summary = commands.add_parser(
        "summary",
        help="per run and tag: points, steps, last/min/max and a sparkline",
        description="Summarize TensorBoard runs: for every run found under each directory, each "
        "scalar tag's point count, step range, last, min and max value and a sparkline, and "
        "each text tag's number of entries. An event file is read as one run.",
    )
    summary.add_argument(
        "run_dirs", nargs="+", metavar="RUN_DIR", help="run directory, runs root or event file"
    )
    summary.set_defaults(func=cmd_summary)


def _summarize(title: str, reader: _read.RunReader, out: IO[str]) -> None:
    print(f"run {title}", file=out)
    rows = tag_rows(reader.scalars())
    texts = reader.texts()
    if not rows and not texts.tag:
        print("  (no scalars or text)", file=out)
    if rows:
        for line in table(rows):
            print(line, file=out)
    counts: dict[str, int] = {}
    for tag in texts.tag:
        counts[tag] = counts.get(tag, 0) + 1
    for tag in sorted(counts):
        print(f"  text {tag}: entries {counts[tag]}", file=out)


def cmd_summary(args: argparse.Namespace, out: IO[str]) -> int:
    """Print, per run and tag, the points, steps, last/min/max and a sparkline.

    A RUN_DIR that cannot be read is reported in one line and the others are still summarized;
    the exit status is then 1.
    """
    status = 0
    for root in args.run_dirs:
        try:
            for name, reader in find_runs(root):
                _summarize(label(root, name), read_new(reader, "summary"), out)
        except CommandError as exc:  # noqa: PERF203 - one line per bad RUN_DIR, then the next
            print(f"tblog summary: {exc}", file=sys.stderr)
            status = 1
    return status
