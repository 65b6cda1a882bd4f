"""What the ``tblog`` commands share: the one-line error, argument types, input checks, output."""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

from tblog._location import child, is_event_file, is_url

if TYPE_CHECKING:
    from tblog import _read


class CommandError(Exception):
    """A problem with what the user gave a command; printed as one ``tblog <command>:`` line."""


def os_problem(exc: OSError) -> str:
    """``path: problem`` for an OSError, as Unix tools word it."""
    problem = exc.strerror or str(exc)
    return f"{exc.filename}: {problem}" if exc.filename is not None else problem


def at_least(minimum: int) -> Callable[[str], int]:
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


def positive_float(text: str) -> float:
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


def store_problem(url: str, exc: BaseException) -> str:
    """``url: problem`` for an error a store's package raised (botocore, aiohttp, OSError...)."""
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        text = exc.strerror
    return f"{url}: the store cannot be read: {' '.join(text.split())}"


def check_url(url: str, *, missing_ok: bool) -> None:
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
        raise CommandError(store_problem(url, exc)) from exc


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


def check_local(root: str, *, missing_ok: bool) -> None:
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
    problem = unreadable(root)
    if problem is not None:
        raise CommandError(problem)


def unreadable(root: str, *, below: bool = False) -> str | None:
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
        return os_problem(exc)
    if below and os.path.isdir(root):
        return _denied_below(root)
    return None


def _denied_below(root: str) -> str | None:
    """``path: Permission denied`` for the first directory below ``root`` that cannot be listed."""
    denied: list[OSError] = []
    for _ in os.walk(root, onerror=denied.append, followlinks=True):
        if denied:
            break
    for error in denied:
        if isinstance(error, PermissionError):
            return os_problem(error)
    return None


def label(root: str, name: str) -> str:
    """The name a run is shown by: ``root`` joined with the run's ``name`` below it."""
    if name == ".":
        return root
    return child(root, name)


def find_runs(root: str) -> list[tuple[str, _read.RunReader]]:
    """(run name, reader) of ``root``: an event file, or every run directory below it.

    Raises:
        CommandError: ``root`` is missing, a file that is no event file, or holds no event files.
    """
    from tblog import _read

    if is_url(root):
        check_url(root, missing_ok=False)
    else:
        check_local(root, missing_ok=False)
    try:
        _, runs = _read.open_runs(root, [_read.SCALARS, _read.TEXT])
    except FileNotFoundError as exc:
        msg = f"{root}: no such file or directory"
        raise CommandError(msg) from exc
    except ModuleNotFoundError as exc:
        raise CommandError(str(exc)) from exc
    except Exception as exc:  # a store's own error types while listing a URL: report them
        if not is_url(root):
            raise
        raise CommandError(store_problem(root, exc)) from exc
    if not runs:
        problem = None if is_url(root) else unreadable(root, below=True)
        msg = problem or f"no event files found under {root}"
        raise CommandError(msg)
    return runs


def read_new(reader: _read.RunReader, command: str | None = None) -> _read.RunReader:
    """Read what was added to a run since the last call.

    With ``command``, each damaged file (a bad CRC: read up to there, as TensorBoard reads it)
    is named once on stderr as ``tblog <command>: <file>: ...``.

    Raises:
        CommandError: A file cannot be read, or holds a record that is not an Event.
    """
    from tblog import _read

    try:
        reader.update()
        if command is not None:
            for line in reader.damaged.values():
                print(f"tblog {command}: {line}", file=sys.stderr)
    except (_read.NotAnEventError, ValueError) as exc:  # a file that is no (whole) event file
        raise CommandError(str(exc)) from exc
    except OSError as exc:
        raise CommandError(os_problem(exc)) from exc
    except Exception as exc:  # a store's own error types while reading a URL: report them
        if reader.source.fs is None:
            raise
        raise CommandError(store_problem(reader.path, exc)) from exc
    return reader


def make_dir(path: str) -> None:
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


@contextlib.contextmanager
def open_output(path: str, *, binary: bool = False) -> Iterator[IO[Any]]:
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


def write_file(output: str, write: Callable[[str], Any]) -> None:
    """Write ``output`` through a temporary file beside it, renamed into place when complete.

    A symbolic link is written through: the temporary file goes beside the link's target and
    is renamed onto it, so the link stays a link.
    """
    target = os.path.realpath(output) if os.path.islink(output) else output
    directory = os.path.dirname(os.path.abspath(target))
    try:
        handle, temporary = tempfile.mkstemp(
            dir=directory, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
    except OSError as exc:
        msg = f"{output}: {exc.strerror or exc}"
        raise CommandError(msg) from exc
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, target)
    except OSError as exc:
        msg = f"{output}: {exc.strerror or exc}"
        raise CommandError(msg) from exc
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
