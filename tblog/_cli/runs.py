"""The ``tblog runs`` command: one row per run with its hyperparameters and metrics."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

from tblog._cli.common import (
    CommandError,
    at_least,
    check_url,
    find_runs,
    os_problem,
    store_problem,
    write_file,
)
from tblog._cli.runs_table import render
from tblog._extras import pandas
from tblog._location import is_url


def add_parser(commands: Any) -> None:
    """Register ``runs`` on the ``tblog`` sub-command parsers."""
    runs = commands.add_parser(
        "runs",
        help="compare runs: one row per run with its hyperparameters and metrics",
        description="One row per HParams session below PATH (or per run, when no run has "
        "hyperparameters): its hyperparameters, and for each metric the last value (the "
        "value TensorBoard's HParams tab shows) or --agg of its points. A wide table is cut "
        "to the terminal's width; --format writes every column.",
    )
    runs.add_argument("path", metavar="PATH", help="run directory, runs root, event file or URL")
    runs.add_argument(
        "--metric",
        action="append",
        metavar="TAG",
        help="a scalar tag to show (repeatable; default: the sessions' metrics)",
    )
    runs.add_argument(
        "--agg",
        choices=["last", "min", "max", "mean"],
        default="last",
        help="how a metric's points make its value (default: %(default)s)",
    )
    runs.add_argument(
        "--sort", metavar="COLUMN", help="sort by a column, descending with --sort=-COLUMN"
    )
    runs.add_argument("--top", type=at_least(1), metavar="N", help="keep the first N rows")
    runs.add_argument(
        "--format",
        choices=["table", "csv", "jsonl", "parquet"],
        help="default: a table on standard output, csv with -o (parquet needs pyarrow and -o)",
    )
    runs.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    runs.set_defaults(func=cmd_runs)


def cmd_runs(args: argparse.Namespace, out: IO[str]) -> int:
    """Print or write the runs' table."""
    fmt = args.format or ("csv" if args.output else "table")
    if fmt == "parquet" and not args.output:
        msg = "the parquet format is binary: give the output file with -o FILE"
        raise CommandError(msg)
    df, metrics = _frame(args)
    if fmt == "table":
        preferred = {*metrics, (args.sort or "").removeprefix("-")}
        text = "\n".join(render(df, shutil.get_terminal_size().columns, preferred)) + "\n"
        _emit(args.output, out, lambda target: target.write(text))
        return 0
    if fmt == "parquet":
        write_file(args.output, lambda path: _parquet(df, path))
    else:
        _emit(args.output, out, lambda target: _write_text(df, fmt, target))
    if args.output:
        print(f"wrote {len(df)} rows to {args.output}", file=sys.stderr)
    return 0


def _load(path: str) -> tuple[Any, Any]:
    """Return pandas and the sweep at ``path``, after the checks (and words) of the other commands.

    Raises:
        CommandError: What the other commands refuse (a URL's scheme, package, credentials,
            endpoint; a missing or wrong local path), or the read fails.
    """
    from tblog import _hparams_read, _read

    remote = is_url(path)
    if remote:  # the bounded check of the other commands: scheme, package, credentials, endpoint
        check_url(path, missing_ok=False)
    else:
        find_runs(path)
    try:
        return pandas(), _hparams_read.load(path)
    except FileNotFoundError as exc:
        msg = f"{path}: no such file or directory"
        raise CommandError(msg) from exc
    except (ModuleNotFoundError, _read.NotAnEventError) as exc:
        raise CommandError(str(exc)) from exc
    except Exception as exc:  # a store's own error types while reading a URL: report them
        if remote:
            raise CommandError(store_problem(path, exc)) from exc
        if isinstance(exc, OSError):
            raise CommandError(os_problem(exc)) from exc
        raise


def _frame(args: argparse.Namespace) -> tuple[Any, list[str]]:
    """Read PATH into the table the options ask for; also give its metric columns."""
    from tblog import _hparams_read

    pd, sweep = _load(args.path)
    for line in sweep.damaged:  # named as the other commands name it; the table shows the rest
        print(f"tblog runs: {line}", file=sys.stderr)
    if not sweep.runs:
        msg = f"no event files found under {args.path}"
        raise CommandError(msg)
    metrics = args.metric
    if not sweep.sessions:  # no hyperparameters anywhere: every run is a row
        sweep.sessions = [_hparams_read.Session(run, {}) for run in sweep.runs]
        if metrics is None:
            metrics = sorted({tag for _, tag in sweep.series})
    if metrics is None:
        metrics = [sweep.metric_name(group, tag) for group, tag in sweep.metrics]
    _check_metrics(sweep, args.metric or ())
    df = _hparams_read.table(pd, sweep, metrics, args.agg)
    if args.sort:
        df = _sorted_by(df, args.sort)
    if args.top:
        df = df.head(args.top)
    return df.reset_index(drop=True), metrics


def _check_metrics(sweep: Any, names: Sequence[str]) -> None:
    """Raise CommandError for a ``--metric`` no run has: a column of '-' would hide a typo."""
    for name in names:
        if all(sweep.series_of(session.run, name) is None for session in sweep.sessions):
            tags = sorted({tag for _, tag in sweep.series})
            shown = ", ".join(tags[:10]) + (", ..." if len(tags) > 10 else "")
            msg = f"--metric {name}: no run has that scalar tag (tags: {shown or 'none'})"
            raise CommandError(msg)


def _sorted_by(df: Any, sort: str) -> Any:
    """``df`` sorted as ``--sort`` asks: a column name, descending with a leading ``-``."""
    column = sort.removeprefix("-")
    if column not in df.columns:
        msg = f"--sort {sort}: no such column (columns: {', '.join(df.columns)})"
        raise CommandError(msg)
    return _sorted(df, column, descending=sort.startswith("-"))


def _sorted(df: Any, column: str, *, descending: bool) -> Any:
    """Sorted by ``column`` (missing values last; mixed types compared as text)."""
    try:
        return df.sort_values(column, ascending=not descending, na_position="last", kind="stable")
    except TypeError:
        key = df[column].map(lambda v: "" if v is None else str(v))
        return df.loc[key.sort_values(ascending=not descending, kind="stable").index]


def _write_text(df: Any, fmt: str, target: IO[str]) -> None:
    if fmt == "csv":
        df.to_csv(target, index=False, lineterminator="\n")
        return
    for record in df.to_dict("records"):
        target.write(json.dumps(record, default=_plain) + "\n")


def _plain(value: Any) -> Any:
    """A numpy scalar as a Python value for JSON."""
    return value.item() if hasattr(value, "item") else str(value)


def _parquet(df: Any, path: str) -> None:
    try:
        import pyarrow  # noqa: F401 - only to say that it is missing
    except ModuleNotFoundError as exc:
        msg = 'the parquet format needs pyarrow: pip install "tblog[parquet]"'
        raise CommandError(msg) from exc
    mixed = [c for c in df.columns if df[c].dtype == object and c != "run"]
    for column in mixed:  # several types under one name: Parquet needs one
        if len({type(v) for v in df[column] if v is not None}) > 1:
            df[column] = df[column].map(lambda v: None if v is None else str(v))
    df.to_parquet(path, index=False)


def _emit(output: str | None, out: IO[str], write: Callable[[IO[str]], Any]) -> None:
    if not output:
        write(out)
        return

    def to_file(path: str) -> None:
        with open(path, "w", encoding="utf-8", newline="") as target:
            write(target)

    write_file(output, to_file)
