"""The ``tblog`` command: run the demo, summarize, export and replay TensorBoard runs."""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import IO, Any

from tblog import _reader

SPARKS = "▁▂▃▄▅▆▇█"
_PROGRESS_MIN_BYTES = 1 << 20


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


def cmd_summary(args: argparse.Namespace, out: IO[str]) -> int:
    """Print, per run and tag, the points, steps, last/min/max and a sparkline."""
    found = False
    for root in args.run_dirs:
        if not os.path.isdir(root):
            print(f"tblog summary: {root}: no such directory", file=sys.stderr)
            continue
        for name, path in _reader.find_runs(root):
            found = True
            contents = _reader.read_run(path)
            label = root if name == "." else os.path.join(root, name)
            print(f"run {label}", file=out)
            if not contents.scalars and not contents.texts:
                print("  (no scalars or text)", file=out)
            rows = []
            for tag in sorted(contents.scalars):
                points = contents.scalars[tag]
                values = [v for _, _, v in points]
                finite = [v for v in values if math.isfinite(v)] or [math.nan]
                rows.append(
                    (
                        tag,
                        str(len(points)),
                        f"{points[0][0]}..{points[-1][0]}",
                        _number(values[-1]),
                        _number(min(finite)),
                        _number(max(finite)),
                        sparkline(values),
                    )
                )
            if rows:
                header = ("tag", "points", "steps", "last", "min", "max", "curve")
                widths = [max(len(r[i]) for r in [header, *rows]) for i in range(6)]
                for row in [header, *rows]:
                    cells = [row[0].ljust(widths[0])]
                    cells += [row[i].rjust(widths[i]) for i in range(1, 6)]
                    print("  " + "  ".join(cells) + "  " + row[6], file=out)
            for tag in sorted(contents.texts):
                print(f"  text {tag}: entries {len(contents.texts[tag])}", file=out)
    if not found:
        print("tblog summary: no event files found", file=sys.stderr)
        return 1
    return 0


def _rows(root: str) -> Any:
    for name, path in _reader.find_runs(root):
        contents = _reader.read_run(path)
        for tag in sorted(contents.scalars):
            for step, wall_time, value in contents.scalars[tag]:
                yield name, tag, step, wall_time, value


def cmd_export(args: argparse.Namespace, out: IO[str]) -> int:
    """Write every scalar of the run(s) as rows: run, tag, step, wall_time, value."""
    if not os.path.isdir(args.run_dir):
        print(f"tblog export: {args.run_dir}: no such directory", file=sys.stderr)
        return 1
    target = open(args.output, "w", newline="", encoding="utf-8") if args.output else out  # noqa: SIM115
    try:
        count = 0
        if args.format == "csv":
            writer = csv.writer(target)
            writer.writerow(["run", "tag", "step", "wall_time", "value"])
            for row in _rows(args.run_dir):
                writer.writerow([row[0], row[1], row[2], repr(row[3]), repr(row[4])])
                count += 1
        else:
            for run, tag, step, wall_time, value in _rows(args.run_dir):
                record = {"run": run, "tag": tag, "step": step, "wall_time": wall_time}
                record["value"] = value
                target.write(json.dumps(record) + "\n")
                count += 1
    finally:
        if target is not out:
            target.close()
    if args.output:
        print(f"wrote {count} rows to {args.output}", file=sys.stderr)
    return 0


def _walltime(line: dict[str, Any]) -> float | None:
    """Seconds since the epoch from a line's ``walltime``, ``timestamp`` or ``created``."""
    for key in ("walltime", "created", "timestamp", "asctime", "time"):
        value = line.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed.timestamp()
    return None


class _Progress:
    """A one-line progress bar on stderr, drawn for large files on a terminal (or when asked)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total = max(total, 1)
        self.enabled = enabled
        self._last = -1

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        percent = min(100, done * 100 // self.total)
        if percent != self._last:
            self._last = percent
            filled = percent * 30 // 100
            sys.stderr.write(f"\rreplaying [{'#' * filled}{'.' * (30 - filled)}] {percent:3d}%")
            sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            self.update(self.total)
            sys.stderr.write("\n")


def cmd_replay(args: argparse.Namespace, out: IO[str]) -> int:
    """Turn a JSON-lines log into a TensorBoard run; bad lines are counted, never fatal."""
    from tblog._values import read_payload
    from tblog.writer import RunWriter

    try:
        size = os.path.getsize(args.log)
        source = open(args.log, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        print(f"tblog replay: {args.log}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    show = (
        args.progress
        if args.progress is not None
        else (size >= _PROGRESS_MIN_BYTES and sys.stderr.isatty())
    )
    progress = _Progress(size, show)
    bad: list[tuple[int, str]] = []
    points = plain = lines = 0
    with source, RunWriter(args.logdir) as writer:
        run = writer._live()
        done = 0
        for number, text in enumerate(source, start=1):
            done += len(text.encode("utf-8", "replace"))
            progress.update(done)
            if not text.strip():
                continue
            lines += 1
            try:
                line = json.loads(text)
            except json.JSONDecodeError as exc:
                bad.append((number, f"not JSON ({exc.msg})"))
                continue
            if not isinstance(line, dict):
                bad.append((number, "not a JSON object"))
                continue
            payload = read_payload(line.get, _walltime(line) or time.time())
            if payload is None:
                plain += 1
                continue
            found, errors = payload
            if found:
                run.put_many(found)
                points += len(found)
            if errors:
                bad.append((number, "; ".join(e.reason for e in errors)))
        progress.finish()
    print(
        f"replayed {args.log}: {lines} lines, {points} points written to {writer.logdir}, "
        f"{plain} lines without points, {len(bad)} bad lines",
        file=out,
    )
    for number, reason in bad[: args.show_bad]:
        print(f"  line {number}: {reason}", file=out)
    if len(bad) > args.show_bad:
        print(f"  ... and {len(bad) - args.show_bad} more", file=out)
    return 0


def cmd_demo(args: argparse.Namespace, out: IO[str]) -> int:
    """Run the numpy demo into ``--logdir`` and say how to look at it."""
    from tblog._demo import main as demo

    del out
    demo(args.logdir, args.epochs)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``tblog`` argument parser and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="tblog",
        description="TensorBoard as a destination of Python's logging: demo, inspect, export, "
        "and replay runs.",
    )
    from tblog import __version__

    parser.add_argument("--version", action="version", version=f"tblog {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train a small numpy network, logging through tblog.setup",
        description="Train a small numpy network on two spirals, logging scalars, metrics, "
        "histograms, hparams and text through tblog.setup, then say how to view the run.",
    )
    demo.add_argument("--logdir", default="runs", help="runs root (default: %(default)s)")
    demo.add_argument("--epochs", type=int, default=300, help="default: %(default)s")
    demo.set_defaults(func=cmd_demo)

    summary = commands.add_parser(
        "summary",
        help="per run and tag: points, steps, last/min/max and a sparkline",
        description="Summarize TensorBoard runs: for every run found under each directory, each "
        "scalar tag's point count, step range, last, min and max value and a sparkline, and "
        "each text tag's number of entries.",
    )
    summary.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run or runs root")
    summary.set_defaults(func=cmd_summary)

    export = commands.add_parser(
        "export",
        help="every scalar as CSV or JSON-lines rows",
        description="Export every scalar of the run(s) under RUN_DIR as rows of "
        "run, tag, step, wall_time, value.",
    )
    export.add_argument("run_dir", metavar="RUN_DIR")
    export.add_argument("--format", choices=["csv", "jsonl"], default="csv")
    export.add_argument("-o", "--output", metavar="FILE", help="default: standard output")
    export.set_defaults(func=cmd_export)

    replay = commands.add_parser(
        "replay",
        help="turn a JSON-lines log into a TensorBoard run",
        description="Replay a JSON-lines log (structlog's JSONRenderer, python-json-logger, ...) "
        "whose lines carry tag/value/step or metrics into a TensorBoard run. Bad lines are "
        "counted and reported with their line numbers; they never stop the replay.",
    )
    replay.add_argument("log", metavar="LOG.jsonl")
    replay.add_argument("--logdir", required=True, help="the run directory to write")
    replay.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: for files over 1 MiB on a terminal)",
    )
    replay.add_argument("--show-bad", type=int, default=20, help="bad lines listed (default 20)")
    replay.set_defaults(func=cmd_replay)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tblog`` command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``tblog summary runs | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
