"""The ``tblog`` command: run the demo, summarize, export, watch and replay TensorBoard runs."""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import io
import itertools
import json
import math
import os
import re
import reprlib
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any

from tblog._location import child, is_event_file, is_url

if TYPE_CHECKING:
    from tblog import _reader
    from tblog.writer import RunWriter

SPARKS = "▁▂▃▄▅▆▇█"
_PROGRESS_MIN_BYTES = 1 << 20
_TIME_KEYS = ("walltime", "created", "timestamp", "asctime", "time")


class CommandError(Exception):
    """A problem with what the user gave a command; printed as one ``tblog <command>:`` line."""


def _os_problem(exc: OSError) -> str:
    """``path: problem`` for an OSError, as Unix tools word it."""
    problem = exc.strerror or str(exc)
    return f"{exc.filename}: {problem}" if exc.filename is not None else problem


#: Store options for the one bounded check of a URL (s3fs: one attempt, short timeouts), so an
#: endpoint nobody answers is reported in seconds rather than after botocore's retries.
_CHECK_OPTIONS: dict[str, dict[str, Any]] = {
    "s3": {
        "config_kwargs": {
            "connect_timeout": 5,
            "read_timeout": 15,
            "retries": {"max_attempts": 1, "mode": "standard"},
        }
    },
}


def _store_problem(url: str, exc: BaseException) -> str:
    """``url: problem`` for an error a store's package raised (botocore, aiohttp, OSError...)."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return f"{url}: the store cannot be read: {' '.join(text.split())}"


def _check_url(url: str, *, missing_ok: bool) -> None:
    """Reach ``url``'s store once, waiting a bounded time, before anything reads or writes it.

    Args:
        url: The URL the user gave.
        missing_ok: Nothing there yet is fine (a run still to be written).

    Raises:
        CommandError: An unknown scheme, a missing package (fsspec, the store's), no
            credentials, an endpoint that does not answer; or nothing at ``url`` when
            ``missing_ok`` is false.
    """
    from tblog._location import open_store

    scheme = url.split("://", 1)[0].lower()
    try:
        fs, path = open_store(url, _CHECK_OPTIONS.get(scheme))
    except (ValueError, ModuleNotFoundError) as exc:
        raise CommandError(str(exc)) from exc
    try:
        fs.info(path)
    except FileNotFoundError as exc:
        if not missing_ok:
            msg = f"{url}: no such file or directory"
            raise CommandError(msg) from exc
        _check_bucket(url, fs, path)
    except Exception as exc:  # a store's own error types (botocore's, aiohttp's, ...): report
        raise CommandError(_store_problem(url, exc)) from exc


#: Schemes whose first path component is a bucket (container) that tblog never creates.
_BUCKET_SCHEMES = frozenset({"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss"})


def _check_bucket(url: str, fs: Any, path: str) -> None:
    """A run still to be written is fine, but not in a bucket that does not exist.

    Its uploads would fail for good while the points wait in the spool: say so now, once.

    Raises:
        CommandError: ``url``'s bucket does not exist.
    """
    scheme = url.split("://", 1)[0].lower()
    bucket = path.strip("/").split("/", 1)[0]
    if scheme not in _BUCKET_SCHEMES or not bucket:
        return
    try:
        fs.info(bucket)
    except FileNotFoundError as exc:
        msg = f"{url}: no such bucket: {bucket}"
        raise CommandError(msg) from exc
    except Exception:  # noqa: BLE001, S110 - e.g. may write the prefix but not see the bucket
        pass


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


def _same_file(output: str, source: str) -> bool:
    """True if ``output`` is ``source`` or one of the event files below it (local paths)."""
    if is_url(source) or not os.path.exists(output):
        return False
    target = os.path.realpath(output)
    root = os.path.realpath(source)
    return target == root or (os.path.isdir(root) and target.startswith(root + os.sep))


def _check_local(root: str, *, missing_ok: bool) -> None:
    """Refuse a local ``root`` that is no event file, run directory or root of runs.

    Raises:
        CommandError: ``root`` is a file that is no event file, something else that is no
            directory, or (unless ``missing_ok``) missing.
    """
    if os.path.isfile(root) and not is_event_file(os.path.basename(root)):
        msg = f"{root}: a file, not a run directory or event file"
        raise CommandError(msg)
    if not os.path.isfile(root) and not os.path.isdir(root):
        if os.path.exists(root):
            msg = f"{root}: not a run directory or event file"
            raise CommandError(msg)
        if not missing_ok:
            msg = f"{root}: no such file or directory"
            raise CommandError(msg)
    problem = _unreadable(root)
    if problem is not None:
        raise CommandError(problem)


def _unreadable(root: str, *, below: bool = False) -> str | None:
    """``path: Permission denied`` if ``root`` (with ``below``: a directory in it) is unreadable.

    The reader skips a directory it cannot list, as TensorBoard does; said nowhere, a run
    directory without read permission would look like one without event files.
    """
    try:
        if os.path.isdir(root):
            os.listdir(root)
        elif os.path.isfile(root):
            open(root, "rb").close()  # only whether it opens
    except PermissionError as exc:
        return _os_problem(exc)
    if below and os.path.isdir(root):
        denied: list[OSError] = []
        for _ in os.walk(root, onerror=denied.append, followlinks=True):
            if denied:
                break
        for error in denied:
            if isinstance(error, PermissionError):
                return _os_problem(error)
    return None


def _runs(root: str) -> list[tuple[str, _reader.RunReader]]:
    """(run name, reader) of ``root``: an event file, or every run directory below it.

    Raises:
        CommandError: ``root`` is missing, a file that is no event file, or holds no event files.
    """
    from tblog import _reader

    if is_url(root):
        _check_url(root, missing_ok=False)
    else:
        _check_local(root, missing_ok=False)
    try:
        _, runs = _reader.open_runs(root, [_reader.SCALARS, _reader.TEXT])
    except FileNotFoundError as exc:
        msg = f"{root}: no such file or directory"
        raise CommandError(msg) from exc
    except ModuleNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    except Exception as exc:  # a store's own error types while listing a URL: report them
        if not is_url(root):
            raise
        raise CommandError(_store_problem(root, exc)) from exc
    if not runs:
        problem = None if is_url(root) else _unreadable(root, below=True)
        msg = problem or f"no event files found under {root}"
        raise CommandError(msg)
    return runs


def _read(reader: _reader.RunReader, command: str | None = None) -> _reader.RunReader:
    """Read what was added to a run since the last call.

    With ``command``, each damaged file (a bad CRC: read up to there, as TensorBoard reads it)
    is named once on stderr as ``tblog <command>: <file>: ...``.

    Raises:
        CommandError: A file cannot be read, or holds a record that is not an Event.
    """
    from tblog import _reader

    try:
        reader.update()
        if command is not None:
            for line in reader.damaged.values():
                print(f"tblog {command}: {line}", file=sys.stderr)
    except (_reader.NotAnEventError, ValueError) as exc:  # a file that is no (whole) event file
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError(_os_problem(exc)) from exc
    except Exception as exc:  # a store's own error types while reading a URL: report them
        if reader.source.fs is None:
            raise
        raise CommandError(_store_problem(reader.path, exc)) from exc
    return reader


def _by_tag(scalars: _reader.Scalars) -> list[tuple[str, Any, Any]]:
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


def _tag_rows(scalars: _reader.Scalars) -> list[tuple[str, ...]]:
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


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    header = ("tag", "points", "steps", "last", "min", "max", "curve")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(6)]
    lines = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])]
        cells += [row[i].rjust(widths[i]) for i in range(1, 6)]
        lines.append("  " + "  ".join(cells) + "  " + row[6])
    return lines


def _summarize(label: str, reader: _reader.RunReader, out: IO[str]) -> None:
    print(f"run {label}", file=out)
    rows = _tag_rows(reader.scalars())
    texts = reader.texts()
    if not rows and not texts.tag:
        print("  (no scalars or text)", file=out)
    if rows:
        for line in _table(rows):
            print(line, file=out)
    counts: dict[str, int] = {}
    for tag in texts.tag:
        counts[tag] = counts.get(tag, 0) + 1
    for tag in sorted(counts):
        print(f"  text {tag}: entries {counts[tag]}", file=out)


def _label(root: str, name: str) -> str:
    if name == ".":
        return root
    return child(root, name)


def cmd_summary(args: argparse.Namespace, out: IO[str]) -> int:
    """Print, per run and tag, the points, steps, last/min/max and a sparkline.

    A RUN_DIR that cannot be read is reported in one line and the others are still summarized;
    the exit status is then 1.
    """
    status = 0
    for root in args.run_dirs:
        try:
            for name, reader in _runs(root):
                _summarize(_label(root, name), _read(reader, "summary"), out)
        except CommandError as exc:  # noqa: PERF203 - one line per bad RUN_DIR, then the next
            print(f"tblog summary: {exc}", file=sys.stderr)
            status = 1
    return status


def _columns(
    runs: list[tuple[str, _reader.RunReader]],
) -> Iterator[tuple[str, list[str], Any, Any, Any]]:
    """Per run: its name, and per point the tag, step, wall_time and value (tags sorted)."""
    import numpy as np

    for name, reader in runs:
        scalars = _read(reader, "export").scalars()
        rank = np.argsort(np.argsort(np.array(scalars.tags, dtype=object), kind="stable"))
        codes = rank.astype(np.int64)[scalars.tag] if len(scalars.tag) else scalars.tag
        order = np.argsort(codes, kind="stable")
        tags = [scalars.tags[i] for i in scalars.tag[order].tolist()]
        yield name, tags, scalars.step[order], scalars.wall_time[order], scalars.value[order]


def _write_rows(runs: list[tuple[str, _reader.RunReader]], fmt: str, target: IO[str]) -> int:
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


def _write_parquet(runs: list[tuple[str, _reader.RunReader]], output: str) -> int:
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
    with _output(output, binary=True) as target:
        pq.write_table(table, target)
    return int(table.num_rows)


@contextlib.contextmanager
def _output(path: str, *, binary: bool = False) -> Iterator[IO[Any]]:
    """Open ``path`` for a new export: a temporary file beside it, renamed over it when done.

    A failed export leaves ``path`` as it was (and no temporary file); a file that is replaced
    keeps its permission bits. A ``path`` that is no regular file (a device, a FIFO) is written
    into directly: renaming over it would remove it. A symbolic link is written through: the
    temporary file goes beside the link's target and is renamed onto it, the link stays.
    """
    if os.path.islink(path):
        path = os.path.realpath(path)
    if os.path.exists(path) and not os.path.isfile(path) and not os.path.isdir(path):
        with open(path, "wb" if binary else "w", encoding=None if binary else "utf-8") as direct:
            yield direct
        return
    directory, name = os.path.split(os.path.abspath(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    try:
        os.fchmod(fd, mode)
        if binary:
            with os.fdopen(fd, "wb") as target:
                yield target
        else:
            with os.fdopen(fd, "w", newline="", encoding="utf-8") as text:
                yield text
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def cmd_export(args: argparse.Namespace, out: IO[str]) -> int:
    """Write every scalar of the run(s) as rows: run, tag, step, wall_time, value."""
    runs = _runs(args.run_dir)  # before the output is opened: a bad input leaves no file behind
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
        with _output(args.output) as target:
            count = _write_rows(runs, args.format, target)
    except OSError as exc:  # only the output's: _read() turns input errors into CommandError
        msg = f"{args.output}: {exc.strerror or exc}"
        raise CommandError(msg) from exc
    print(f"wrote {count} rows to {args.output}", file=sys.stderr)
    return 0


# ---- watch: a live view of runs as they grow -------------------------------------------------


class _Watch:
    """The runs below some paths, re-read incrementally on every refresh."""

    def __init__(self, roots: list[str], lines: int) -> None:
        self.roots = roots
        self.lines = lines
        self._readers: dict[tuple[str, str], _reader.RunReader] = {}
        self.problems = 0

    def refresh(self) -> list[str]:
        """Read what was added (records, files, runs) and return the frame to show."""
        from tblog import _reader

        frame: list[str] = []
        self.problems = 0
        for root in self.roots:
            try:
                _, runs = _reader.open_runs(root, [_reader.SCALARS, _reader.TEXT])
            except (FileNotFoundError, ModuleNotFoundError) as exc:
                frame.append(
                    f"{root}: waiting ({_os_problem(exc) if isinstance(exc, OSError) else exc})"
                )
                self.problems += 1
                continue
            except Exception as exc:  # a store's own error types (an outage): show, go on
                if not is_url(root):
                    raise
                frame.append(f"{_store_problem(root, exc)} (retrying)")
                self.problems += 1
                continue
            if not runs:
                frame.append(f"{root}: waiting (no event files yet)")
                continue
            for name, fresh in runs:
                reader = self._readers.setdefault((root, name), fresh)
                frame.append(f"run {_label(root, name)}")
                try:
                    _read(reader)
                except CommandError as exc:
                    frame.append(f"  error: {exc}")
                    self.problems += 1
                    continue
                frame.extend(f"  damaged: {line}" for line in reader.damaged.values())
                frame.extend(self._run_lines(reader))
        return frame

    def _run_lines(self, reader: _reader.RunReader) -> list[str]:
        rows = _tag_rows(reader.scalars())
        texts = reader.texts()
        lines = _table(rows) if rows else ["  (no scalars yet)"]
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
    from tblog import _reader

    return _reader.find_runs(root) if os.path.exists(root) else []


def cmd_watch(args: argparse.Namespace, out: IO[str]) -> int:
    """Show the runs' tags (last/min/max, points, a sparkline) and newest text, refreshing.

    On a terminal each refresh redraws the screen; otherwise each refresh prints the frame as
    plain text. Ctrl-C ends the watch (exit status 0).
    """
    for path in args.paths:  # refuse what summary and export refuse; a missing run may come
        if is_url(path):
            _check_url(path, missing_ok=True)
        else:
            _check_local(path, missing_ok=True)
            problem = _unreadable(path, below=True)
            if problem is not None and not _reader_runs(path):  # it would wait for ever
                raise CommandError(problem)
    watch = _Watch(args.paths, args.lines)
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


def _make_dir(path: str) -> None:
    """Create ``path`` (and its parents) and check it is writable.

    Raises:
        CommandError: It cannot be created or written to; the message names it.
    """
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        msg = f"{path}: cannot create the directory: {exc.strerror or exc}"
        raise CommandError(msg) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        msg = f"{path}: the directory is not writable"
        raise CommandError(msg)


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
_UPLOAD_PATIENCE = 10.0


def _wait_for_writes(writer: Any, *, remote: bool) -> None:
    """Wait for a replay's points: a slow disk as long as it takes, a store while it moves.

    A replay is a batch job, so a local run waits for every point. A remote run's points are
    written to the spool, then uploaded; a store that refuses them (a bucket removed, access
    denied) would make an unbounded wait hang, so the wait ends after ``_UPLOAD_PATIENCE``
    seconds in which nothing was written or uploaded (the spool's segments stay, to
    ``tblog upload`` later, and the replay says so).
    """
    if not remote:
        writer.flush(timeout=math.inf)
        return
    seen = None
    while not writer.flush(timeout=_UPLOAD_PATIENCE):
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
        raise CommandError(_os_problem(exc)) from exc
    with source:
        if is_url(args.logdir):
            _check_url(args.logdir, missing_ok=True)
        else:
            _make_dir(args.logdir)
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


def cmd_demo(args: argparse.Namespace, out: IO[str]) -> int:
    """Run the numpy demo into ``--logdir`` and say how to look at it."""
    from tblog._demo import main as demo

    del out
    if "://" in args.logdir:
        msg = f"{args.logdir}: the demo writes a local run; give a local --logdir"
        raise CommandError(msg)
    _make_dir(args.logdir)
    demo(args.logdir, args.epochs)
    return 0


def cmd_upload(args: argparse.Namespace, out: IO[str]) -> int:
    """Upload the segments a remote run left in its spool (the store was down at exit)."""
    from tblog._remote import TARGET_FILE, default_spool_root, upload_spool

    spools = []
    for path in args.spools or [default_spool_root()]:
        if os.path.isfile(os.path.join(path, TARGET_FILE)):
            spools.append(path)
        elif os.path.isdir(path):
            spools += sorted(
                os.path.join(path, name)
                for name in os.listdir(path)
                if os.path.isfile(os.path.join(path, name, TARGET_FILE))
            )
        else:
            msg = f"{path}: no such spool directory"
            raise CommandError(msg)
    left_in_all = 0
    for spool in spools:
        try:
            result = upload_spool(spool)
        except (ValueError, ModuleNotFoundError) as exc:
            raise CommandError(f"{spool}: {exc}") from exc
        if result is None:  # its run is still writing (its process uploads it), or an upload
            print(f"{spool}: in use by a running process, left alone", file=out)
            continue
        done, left = result
        print(f"{spool}: {done} segments uploaded, {left} left", file=out)
        left_in_all += left
    if not spools:
        print("nothing to upload", file=out)
    return 1 if left_in_all else 0


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` accepting integers >= ``minimum``."""

    def parse(text: str) -> int:
        try:
            number = int(text)
        except ValueError:
            msg = f"invalid int value: {text!r}"
            raise argparse.ArgumentTypeError(msg) from None
        if number < minimum:
            msg = f"must be >= {minimum}, got {number}"
            raise argparse.ArgumentTypeError(msg)
        return number

    return parse


def _positive_float(text: str) -> float:
    """An argparse ``type`` accepting finite numbers > 0."""
    try:
        number = float(text)
    except ValueError:
        msg = f"invalid number: {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not (math.isfinite(number) and number > 0):
        msg = f"must be a number > 0, got {text}"
        raise argparse.ArgumentTypeError(msg)
    return number


def build_parser() -> argparse.ArgumentParser:
    """The ``tblog`` argument parser and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="tblog",
        description="TensorBoard as a destination of Python's logging: demo, inspect, export, "
        "watch and replay runs.",
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
    demo.add_argument(
        "--epochs", type=_at_least(1), default=300, help="at least 1 (default: %(default)s)"
    )
    demo.set_defaults(func=cmd_demo)

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
        type=_positive_float,
        default=2.0,
        metavar="SECS",
        help="seconds between refreshes (default: %(default)s)",
    )
    watch.add_argument(
        "--lines",
        type=_at_least(0),
        default=5,
        metavar="N",
        help="newest text lines shown per run (default: %(default)s)",
    )
    stop = watch.add_mutually_exclusive_group()
    stop.add_argument("--once", action="store_true", help="show one frame and exit")
    stop.add_argument(
        "--max-refreshes",
        type=_at_least(1),
        metavar="N",
        help="exit after N refreshes (exit status 1 if a path could not be read)",
    )
    watch.set_defaults(func=cmd_watch)

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
        type=_at_least(0),
        default=20,
        metavar="N",
        help="bad lines listed (default: %(default)s)",
    )
    replay.set_defaults(func=cmd_replay)

    upload = commands.add_parser(
        "upload",
        help="upload the segments a remote run left in its spool",
        description="Upload, in order, the event-file segments that a run in object storage "
        "left in its local spool when the store could not be reached before the process "
        "ended. Credentials and endpoints come from the environment. The exit status is 1 "
        "while segments are left.",
    )
    upload.add_argument(
        "spools",
        nargs="*",
        metavar="SPOOL",
        help="a spool directory, or a directory of them (default: $TBLOG_SPOOL, else "
        "<tmp>/tblog-spool)",
    )
    upload.set_defaults(func=cmd_upload)
    from tblog import _cli_runs

    _cli_runs.add_parser(commands)
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
    except CommandError as exc:
        print(f"tblog {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the user gave that the OS refuses (read error, ...)
        print(f"tblog {args.command}: {_os_problem(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
