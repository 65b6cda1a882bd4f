"""``tblog watch``: a live view of runs, re-read incrementally and redrawn as they grow."""

from __future__ import annotations

import argparse
import os
import shutil
import time
from typing import IO, TYPE_CHECKING, Any

from tblog._cli.common import (
    CommandError,
    at_least,
    check_local,
    check_url,
    label,
    os_problem,
    positive_float,
    read_new,
    store_problem,
    unreadable,
)
from tblog._cli.tags import table, tag_rows
from tblog._location import is_url

if TYPE_CHECKING:
    from tblog import _read


def add_parser(commands: Any) -> None:
    """Register ``watch`` on the ``tblog`` sub-command parsers."""
    watch = commands.add_parser(
        "watch",
        help="a live view of runs that refreshes as they grow",
        description="Watch TensorBoard runs as they are written: per run and tag the points, "
        "step range, last, min and max value and a sparkline, and the newest text (log lines). "
        "New records, event files and runs show up on the next refresh. On a terminal the "
        "screen is redrawn; otherwise each refresh is printed as plain text. Ctrl-C quits.",
    )
    watch.add_argument(
        "paths", nargs="+", metavar="PATH", help="run directory, runs root, event file or URL"
    )
    watch.add_argument(
        "--interval",
        type=positive_float,
        default=2.0,
        metavar="SECS",
        help="seconds between refreshes (default: %(default)s)",
    )
    watch.add_argument(
        "--lines",
        type=at_least(0),
        default=5,
        metavar="N",
        help="newest text lines shown per run (default: %(default)s)",
    )
    stop = watch.add_mutually_exclusive_group()
    stop.add_argument("--once", action="store_true", help="show one frame and exit")
    stop.add_argument(
        "--max-refreshes",
        type=at_least(1),
        metavar="N",
        help="exit after N refreshes (exit status 1 if a path could not be read)",
    )
    watch.set_defaults(func=cmd_watch)


class Watch:
    """The runs below some paths, re-read incrementally on every refresh."""

    def __init__(self, roots: list[str], lines: int) -> None:
        self.roots = roots
        self.lines = lines
        self._readers: dict[tuple[str, str], _read.RunReader] = {}
        self.problems = 0

    def refresh(self) -> list[str]:
        """Read what was added (records, files, runs) and return the frame to show."""
        from tblog import _read

        frame: list[str] = []
        self.problems = 0
        for root in self.roots:
            try:
                _, runs = _read.open_runs(root, [_read.SCALARS, _read.TEXT])
            except (FileNotFoundError, ModuleNotFoundError) as exc:
                frame.append(
                    f"{root}: waiting ({os_problem(exc) if isinstance(exc, OSError) else exc})"
                )
                self.problems += 1
                continue
            except Exception as exc:  # a store's own error types (an outage): show, go on
                if not is_url(root):
                    raise
                frame.append(f"{store_problem(root, exc)} (retrying)")
                self.problems += 1
                continue
            if not runs:
                frame.append(f"{root}: waiting (no event files yet)")
                continue
            for name, fresh in runs:
                reader = self._readers.setdefault((root, name), fresh)
                frame.append(f"run {label(root, name)}")
                try:
                    read_new(reader)
                except CommandError as exc:
                    frame.append(f"  error: {exc}")
                    self.problems += 1
                    continue
                frame.extend(f"  damaged: {line}" for line in reader.damaged.values())
                frame.extend(self._run_lines(reader))
        return frame

    def _run_lines(self, reader: _read.RunReader) -> list[str]:
        rows = tag_rows(reader.scalars())
        texts = reader.texts()
        lines = table(rows) if rows else ["  (no scalars yet)"]
        if texts.tag and self.lines:
            newest = sorted(
                zip(texts.wall_time, texts.step, texts.tag, texts.value, strict=True),
                key=lambda item: item[0],
            )[-self.lines :]
            lines.append("  newest text:")
            for wall, step, tag, text in newest:
                clock = time.strftime("%H:%M:%S", time.localtime(wall))
                lines.append(f"  {clock} {tag}@{step}: {_one_line(text)}")
        return lines


def _one_line(text: str) -> str:
    """A text point on one line: a log line's Markdown code fence taken off."""
    body = text.strip()
    if body.startswith("```") and body.endswith("```"):
        body = body.strip("`").strip("\n")
    return " ".join(body.splitlines())


def _reader_runs(root: str) -> list[tuple[str, str]]:
    """The runs the reader finds below a local ``root`` (none for a missing one)."""
    from tblog import _read

    return _read.find_runs(root) if os.path.exists(root) else []


def cmd_watch(args: argparse.Namespace, out: IO[str]) -> int:
    """Show the runs' tags (last/min/max, points, a sparkline) and newest text, refreshing.

    On a terminal each refresh redraws the screen; otherwise each refresh prints the frame as
    plain text. Ctrl-C ends the watch (exit status 0).
    """
    for path in args.paths:  # refuse what summary and export refuse; a missing run may come
        if is_url(path):
            check_url(path, missing_ok=True)
        else:
            check_local(path, missing_ok=True)
            problem = unreadable(path, below=True)
            if problem is not None and not _reader_runs(path):  # it would wait for ever
                raise CommandError(problem)
    watch = Watch(args.paths, args.lines)
    terminal = out.isatty()
    limit = 1 if args.once else args.max_refreshes
    done = 0
    try:
        while True:
            stamp = time.strftime("%H:%M:%S")
            head = f"tblog watch: {stamp}, every {args.interval:g}s"
            frame = [head + (" (Ctrl-C to quit)" if terminal else ""), *watch.refresh()]
            if terminal:
                size = shutil.get_terminal_size()
                shown = [line[: size.columns] for line in frame[: max(size.lines - 1, 1)]]
                out.write("\x1b[H\x1b[2J" + "\n".join(shown) + "\n")
            else:
                out.write("\n".join(frame) + "\n\n")
            out.flush()
            done += 1
            if limit is not None and done >= limit:
                return 1 if watch.problems else 0
            time.sleep(args.interval)
    except KeyboardInterrupt:
        out.write("\n")
        return 0
