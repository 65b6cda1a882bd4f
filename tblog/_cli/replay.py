"""``tblog replay``: turn a JSON-lines log into a TensorBoard run, counting the bad lines."""

from __future__ import annotations

import argparse
import datetime
import io
import json
import math
import os
import re
import reprlib
import sys
import time
from typing import IO, TYPE_CHECKING, Any

from tblog._cli.common import CommandError, at_least, check_url, make_dir, os_problem
from tblog._location import is_url

if TYPE_CHECKING:
    from tblog.writer import RunWriter

_PROGRESS_MIN_BYTES = 1 << 20
_TIME_KEYS = ("walltime", "created", "timestamp", "asctime", "time")


def add_parser(commands: Any) -> None:
    """Register ``replay`` on the ``tblog`` sub-command parsers."""
    replay = commands.add_parser(
        "replay",
        help="turn a JSON-lines log into a TensorBoard run",
        description="Replay a JSON-lines log (structlog's JSONRenderer, python-json-logger, ...) "
        "whose lines carry tag/value/step or metrics into a TensorBoard run. Bad lines are "
        "counted and reported with their line numbers; they never stop the replay. The exit "
        "status is 1 when points could not be written.",
    )
    replay.add_argument("log", metavar="LOG.jsonl", help="the log to replay (-: standard input)")
    replay.add_argument("--logdir", required=True, help="the run directory to write")
    replay.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: for files over 1 MiB on a terminal)",
    )
    replay.add_argument(
        "--show-bad",
        type=at_least(0),
        default=20,
        metavar="N",
        help="bad lines listed (default: %(default)s)",
    )
    replay.set_defaults(func=cmd_replay)


def _walltime(line: dict[str, Any]) -> float | None:
    """Seconds since the epoch from the first time key a line has (None: the line has none).

    Raises:
        ValueError: That key's value is no finite number and no ISO 8601 date, or is out of range.
    """
    for key in _TIME_KEYS:
        value = line.get(key)
        if value is None:
            continue
        shown = reprlib.repr(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                seconds = float(value)
            except OverflowError:  # an int too large for a float
                seconds = math.inf
            if not math.isfinite(seconds):
                msg = f"timestamp {shown} in key {key!r} is out of range"
                raise ValueError(msg)
            return seconds
        try:
            # "," before the fraction: logging's asctime, which Python 3.10 does not parse
            parsed = datetime.datetime.fromisoformat(
                re.sub(r"(\d\d:\d\d:\d\d),(\d)", r"\1.\2", value).replace("Z", "+00:00")
            )
        except (AttributeError, TypeError, ValueError):
            msg = f"unparseable timestamp {shown} in key {key!r}"
            raise ValueError(msg) from None
        try:
            return parsed.timestamp()
        except (OverflowError, ValueError, OSError):
            msg = f"timestamp {shown} in key {key!r} is out of range"
            raise ValueError(msg) from None
    return None


def _numbers_from_strings(line: dict[str, Any]) -> None:
    """Make numbers written as strings (``"0.25"``, ``"nan"``) in value/metrics numbers again.

    python-json-logger writes numpy floats this way. A line with a ``kind`` is left as it is.
    """

    def number(value: Any) -> Any:
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        return value

    if "kind" in line:
        return
    if "value" in line:
        line["value"] = number(line["value"])
    metrics = line.get("metrics")
    if isinstance(metrics, dict):
        line["metrics"] = {name: number(value) for name, value in metrics.items()}


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


def _parse(text: str) -> dict[str, Any]:
    """One log line as a JSON object.

    Raises:
        ValueError: The line is not a JSON object; the message says why.
    """
    try:
        line = json.loads(text)
    except json.JSONDecodeError as exc:
        msg = f"not JSON ({exc.msg})"
        raise ValueError(msg) from None
    except RecursionError:
        msg = "not JSON (too deeply nested)"
        raise ValueError(msg) from None
    except ValueError as exc:  # an integer beyond Python's int-to-str digit limit
        msg = f"not JSON ({str(exc).split(':', maxsplit=1)[0]})"
        raise ValueError(msg) from None
    if not isinstance(line, dict):
        msg = "not a JSON object"
        raise ValueError(msg)  # noqa: TRY004 - one error type for every bad line
    return line


class _Tally:
    """What a replay met: lines, bad lines (number, reason), points queued, and so on."""

    def __init__(self) -> None:
        self.lines = self.plain = self.points = self.not_json = 0
        self.bad: list[tuple[int, str]] = []
        self.written = self.spooled = 0


def _replay_lines(source: IO[str], writer: RunWriter, progress: _Progress) -> _Tally:
    """Queue the points of every line of ``source``; count the rest."""
    from tblog._values import read_payload
    from tblog.writer import put_points

    tally = _Tally()
    done = 0
    for number, text in enumerate(source, start=1):
        done += len(text.encode("utf-8", "replace"))
        progress.update(done)
        if not text.strip():
            continue
        tally.lines += 1
        try:
            line = _parse(text)
        except ValueError as exc:
            tally.bad.append((number, str(exc)))
            tally.not_json += 1
            continue
        try:
            wall = _walltime(line)
        except ValueError as exc:
            tally.bad.append((number, str(exc)))
            continue
        line["walltime"] = wall if wall is not None else time.time()
        _numbers_from_strings(line)
        payload = read_payload(line.get, None)
        if payload is None:
            tally.plain += 1
            continue
        found, errors = payload
        if found:
            put_points(writer, found)
            tally.points += len(found)
        if errors:
            tally.bad.append((number, "; ".join(e.reason for e in errors)))
    return tally


def _replay_problem(log: str, logdir: str, tally: _Tally) -> str | None:
    """The one line that says why a replay failed, or None when it did not."""
    dropped = tally.points - tally.written
    if dropped:
        return f"{dropped} points could not be written to {logdir} (the reason is reported above)"
    if tally.spooled:
        return (
            f"the points did not all reach {logdir}: {tally.spooled} segments wait in the "
            "local spool (the reason is reported above); push them with tblog upload"
        )
    if tally.not_json == tally.lines:  # every line, or no line at all (an empty input)
        return (
            f"{log}: no line is a JSON object (a JSON-lines log has one per line); "
            "nothing was written"
        )
    return None


#: Seconds a replay into object storage waits for its uploads without any progress.
UPLOAD_PATIENCE = 10.0


def _wait_for_writes(writer: Any, *, remote: bool) -> None:
    """Wait for a replay's points: a slow disk as long as it takes, a store while it moves.

    A replay is a batch job, so a local run waits for every point. A remote run's points are
    written to the spool, then uploaded; a store that refuses them (a bucket removed, access
    denied) would make an unbounded wait hang, so the wait ends after ``UPLOAD_PATIENCE``
    seconds in which nothing was written or uploaded (the spool's segments stay, to
    ``tblog upload`` later, and the replay says so).
    """
    if not remote:
        writer.flush(timeout=math.inf)
        return
    seen = None
    while not writer.flush(timeout=UPLOAD_PATIENCE):
        now = (writer.stats.written, writer.stats.spooled, writer.stats.dropped)
        if now == seen:
            return
        seen = now


def cmd_replay(args: argparse.Namespace, out: IO[str]) -> int:
    """Turn a JSON-lines log into a TensorBoard run; bad lines are counted, never fatal.

    The exit status is 1 when points could not be written (the writer's counters say so), when
    a remote run's segments stayed in the local spool, or when no line is JSON at all.
    """
    from tblog.writer import RunWriter

    try:
        if args.log == "-":  # standard input, as the usage says
            size = 0
            source = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
        else:
            size = os.path.getsize(args.log)
            source = open(args.log, encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError as exc:
        raise CommandError(os_problem(exc)) from exc
    with source:
        if is_url(args.logdir):
            check_url(args.logdir, missing_ok=True)
        else:
            make_dir(args.logdir)
        show = (
            args.progress
            if args.progress is not None
            else (size >= _PROGRESS_MIN_BYTES and sys.stderr.isatty())
        )
        progress = _Progress(size, show)
        # A replay is a batch job: wait for the writer rather than drop points on a slow disk.
        with RunWriter(args.logdir, block_secs=math.inf) as writer:
            tally = _replay_lines(source, writer, progress)
            _wait_for_writes(writer, remote=is_url(args.logdir))
            tally.written = writer.stats.written
            tally.spooled = writer.stats.spooled  # segments the store did not take (yet)
            progress.finish()
    dropped = tally.points - tally.written
    print(
        f"replayed {args.log}: {tally.lines} lines, {tally.written} points written to "
        f"{writer.logdir}"
        + (f", {dropped} points dropped" if dropped else "")
        + f", {tally.plain} lines without points, {len(tally.bad)} bad lines",
        file=out,
    )
    for number, reason in tally.bad[: args.show_bad]:
        print(f"  line {number}: {reason}", file=out)
    if len(tally.bad) > args.show_bad:
        print(f"  ... and {len(tally.bad) - args.show_bad} more", file=out)
    problem = _replay_problem(args.log, writer.logdir, tally)
    if problem is not None:
        print(f"tblog replay: {problem}", file=sys.stderr)
        return 1
    return 0
