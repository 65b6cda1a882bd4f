"""``tblog export``: every scalar of the runs as CSV, JSON-lines or Parquet rows."""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import sys
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from tblog._cli.common import CommandError, find_runs, open_output, read_new
from tblog._location import is_url

if TYPE_CHECKING:
    from tblog import _read


def add_parser(commands: Any) -> None:
    """Register ``export`` on the ``tblog`` sub-command parsers."""
    export = commands.add_parser(
        "export",
        help="every scalar as CSV, JSON-lines or Parquet rows",
        description="Export every scalar of the run(s) under RUN_DIR (or of one event file) "
        "as rows of run, tag, step, wall_time, value.",
    )
    export.add_argument("run_dir", metavar="RUN_DIR", help="run directory, runs root or event file")
    export.add_argument(
        "--format",
        choices=["csv", "jsonl", "parquet"],
        default="csv",
        help='parquet needs pyarrow (pip install "tblog[parquet]") and -o (default: csv)',
    )
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    export.set_defaults(func=cmd_export)


def _same_file(output: str, source: str) -> bool:
    """True if ``output`` is ``source`` or one of the event files below it (local paths)."""
    if is_url(source) or not os.path.exists(output):
        return False
    target = os.path.realpath(output)
    root = os.path.realpath(source)
    return target == root or (os.path.isdir(root) and target.startswith(root + os.sep))


def _columns(
    runs: list[tuple[str, _read.RunReader]],
) -> Iterator[tuple[str, list[str], Any, Any, Any]]:
    """Per run: its name, and per point the tag, step, wall_time and value (tags sorted)."""
    import numpy as np

    for name, reader in runs:
        scalars = read_new(reader, "export").scalars()
        rank = np.argsort(np.argsort(np.array(scalars.tags, dtype=object), kind="stable"))
        codes = rank.astype(np.int64)[scalars.tag] if len(scalars.tag) else scalars.tag
        order = np.argsort(codes, kind="stable")
        tags = [scalars.tags[i] for i in scalars.tag[order].tolist()]
        yield name, tags, scalars.step[order], scalars.wall_time[order], scalars.value[order]


def _write_rows(runs: list[tuple[str, _read.RunReader]], fmt: str, target: IO[str]) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(target)
        writer.writerow(["run", "tag", "step", "wall_time", "value"])
        for run, tags, steps, walls, values in _columns(runs):
            writer.writerows(
                zip(
                    itertools.repeat(run),
                    tags,
                    steps.tolist(),
                    map(repr, walls.tolist()),
                    map(repr, values.tolist()),
                )
            )
            count += len(tags)
    else:
        quoted: dict[str, str] = {}
        for run, tags, steps, walls, values in _columns(runs):
            head = '{"run": ' + json.dumps(run) + ', "tag": '
            for tag, step, wall, value in zip(
                tags, steps.tolist(), walls.tolist(), values.tolist(), strict=True
            ):
                name = quoted.get(tag) or quoted.setdefault(tag, json.dumps(tag))
                target.write(
                    f'{head}{name}, "step": {step}, "wall_time": {json.dumps(wall)}, '
                    f'"value": {json.dumps(value)}}}\n'
                )
            count += len(tags)
    return count


def _write_parquet(runs: list[tuple[str, _read.RunReader]], output: str) -> int:
    """Write every scalar to a Parquet file (run and tag as dictionary-encoded strings)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    names, tags, steps, walls, values, run_codes = [], [], [], [], [], []
    for i, (run, run_tags, step, wall, value) in enumerate(_columns(runs)):
        names.append(run)
        tags.extend(run_tags)
        steps.append(step)
        walls.append(wall)
        values.append(value)
        run_codes.append(np.full(len(step), i, dtype=np.int32))
    table = pa.table(
        {
            "run": pa.DictionaryArray.from_arrays(
                pa.array(np.concatenate(run_codes) if run_codes else [], pa.int32()),
                pa.array(names, pa.string()),
            ),
            "tag": pa.array(tags, pa.string()).dictionary_encode(),
            "step": pa.array(np.concatenate(steps) if steps else [], pa.int64()),
            "wall_time": pa.array(np.concatenate(walls) if walls else [], pa.float64()),
            "value": pa.array(np.concatenate(values) if values else [], pa.float64()),
        }
    )
    with open_output(output, binary=True) as target:
        pq.write_table(table, target)
    return int(table.num_rows)


def cmd_export(args: argparse.Namespace, out: IO[str]) -> int:
    """Write every scalar of the run(s) as rows: run, tag, step, wall_time, value."""
    runs = find_runs(args.run_dir)  # before the output is opened: a bad input leaves no file
    if args.output and _same_file(args.output, args.run_dir):
        msg = f"{args.output}: the output would overwrite the run it exports"
        raise CommandError(msg)
    if args.format == "parquet":
        try:
            import pyarrow.parquet  # noqa: F401 - only to say early that it is missing
        except ModuleNotFoundError as exc:
            msg = 'the parquet format needs pyarrow: pip install "tblog[parquet]"'
            raise CommandError(msg) from exc
        if not args.output:
            msg = "the parquet format is binary: give the output file with -o FILE"
            raise CommandError(msg)
        try:
            count = _write_parquet(runs, args.output)
        except OSError as exc:
            msg = f"{args.output}: {exc.strerror or exc}"
            raise CommandError(msg) from exc
        print(f"wrote {count} rows to {args.output}", file=sys.stderr)
        return 0
    if not args.output:
        _write_rows(runs, args.format, out)
        return 0
    try:
        with open_output(args.output) as target:
            count = _write_rows(runs, args.format, target)
    except OSError as exc:  # only the output's: read_new() turns input errors into CommandError
        msg = f"{args.output}: {exc.strerror or exc}"
        raise CommandError(msg) from exc
    print(f"wrote {count} rows to {args.output}", file=sys.stderr)
    return 0
