"""Read many runs at once: from object storage, every event file is fetched concurrently first.

A root of runs in a bucket is listed with one recursive listing, and its event files are fetched
in large batches with fsspec's own concurrency (``fs.cat`` on many paths, which async
filesystems such as s3fs run at once), then decoded by tblog's reader from memory. Local runs
are read from disk as they are. Progress shows on stderr once reading takes over a second.
"""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any

from tblog import _read
from tblog._location import is_event_file

#: Seconds a read may take before its progress shows.
PROGRESS_AFTER = 1.0
_BATCH_FILES = 256  # files fetched per fs.cat call (fsspec runs them concurrently)
_BATCH_BYTES = 256 << 20  # bytes held in memory at most per batch (one larger file is fine)


class FetchedSource(_read.Source):
    """A Source whose listing and file contents were fetched ahead, in bulk.

    Files not fetched (or fetched with an error) are opened through fsspec as usual, so the
    reader sees the same errors it would see without fetching.
    """

    def __init__(self, fs: Any, files: dict[str, list[str]]) -> None:
        super().__init__(fs)
        self._files = files
        self._data: dict[str, bytes] = {}

    def event_files(self, directory: str) -> list[str]:
        """The event files of ``directory``, from the listing made ahead."""
        return list(self._files.get(directory, []))

    def fetch(self, paths: Sequence[str]) -> None:
        """Fetch ``paths`` concurrently (one fsspec call) and keep their bytes until dropped."""
        if not paths:
            return
        found = self.fs.cat(list(paths), on_error="return")
        if not isinstance(found, dict):  # one path may come back bare
            found = {paths[0]: found}
        for path, data in found.items():
            if isinstance(data, bytes):
                self._data[path] = data

    def drop(self, paths: Sequence[str]) -> None:
        """Let go of fetched bytes (memory)."""
        for path in paths:
            self._data.pop(path, None)

    def open(self, path: str) -> IO[bytes]:
        """The fetched bytes of ``path``, else the file itself through fsspec."""
        data = self._data.get(path)
        return io.BytesIO(data) if data is not None else super().open(path)


class Progress:
    """``tblog: read N/M runs`` on stderr, shown once reading takes over ``PROGRESS_AFTER``.

    Args:
        total: Runs to read.
        enabled: True always shows (after the delay), False never, None when stderr is a
            terminal.
    """

    def __init__(self, total: int, enabled: bool | None) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.started = time.monotonic()
        self.shown = False

    def update(self, done: int) -> None:
        """Show that ``done`` runs are read, if reading has taken long enough."""
        if not self.enabled or time.monotonic() - self.started < PROGRESS_AFTER:
            return
        end = "\n" if not sys.stderr.isatty() else ""
        sys.stderr.write(f"\rtblog: read {done}/{self.total} runs{end}")
        sys.stderr.flush()
        self.shown = True

    def finish(self) -> None:
        """End the progress line."""
        if self.shown and sys.stderr.isatty():
            sys.stderr.write("\n")
            sys.stderr.flush()


def read_runs(
    path: str | os.PathLike[str], want: Sequence[str], progress: bool | None = None
) -> Iterator[tuple[str, _read.RunReader]]:
    """Yield (run name, reader with everything read) for every run at ``path``, in name order.

    Args:
        path: A run directory, a root of runs, an event file, or an fsspec URL of one.
        want: What the readers keep (``_read.SCALARS``, ...).
        progress: Progress on stderr (see ``Progress``).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ModuleNotFoundError: ``path`` is a URL and fsspec is missing.
        OSError: An event file cannot be read.
        NotAnEventError: A record that passes its CRC checks is no Event.
    """
    source, root = _read.Source.for_path(path)
    if source.fs is None:
        _, runs = _read.open_runs(path, want)
        shown = Progress(len(runs), progress)
        runs.reverse()
        while runs:  # each reader is let go once the caller is done with it (memory)
            name, reader = runs.pop()
            reader.update()
            yield name, reader
            del reader
            shown.update(shown.total - len(runs))
        shown.finish()
        return
    yield from _read_remote(source.fs, root, os.fspath(path), want, progress)


def _read_remote(
    fs: Any, root: str, path: str, want: Sequence[str], progress: bool | None
) -> Iterator[tuple[str, _read.RunReader]]:
    """The runs below ``root`` in a filesystem: one listing, then batches fetched at once."""
    if fs.isfile(root):
        source = FetchedSource(fs, {})
        source.fetch([root])
        reader = _read.RunReader(source, root, want, single_file=True)
        reader.update()
        yield ".", reader
        return
    if not fs.isdir(root):
        raise FileNotFoundError(2, "No such file or directory", path)
    runs, sizes = _listing(fs, root)
    source = FetchedSource(fs, {directory: files for _, directory, files in runs})
    shown = Progress(len(runs), progress)
    done = 0
    for batch in _batches(runs, sizes):
        paths = [f for _, _, files in batch for f in files]
        source.fetch(paths)
        for name, directory, _ in batch:
            reader = _read.RunReader(source, directory, want)
            reader.update()
            done += 1
            yield name, reader
            shown.update(done)
        source.drop(paths)
    shown.finish()


def _listing(fs: Any, root: str) -> tuple[list[tuple[str, str, list[str]]], dict[str, int]]:
    """(run name, directory, event files) of every run below ``root``, and the files' sizes."""
    found = fs.find(root, detail=True)
    by_dir: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for name, info in found.items():
        if info.get("type", "file") != "file":
            continue
        directory, _, base = name.rpartition("/")
        if is_event_file(base):
            by_dir.setdefault(directory, []).append(name)
            sizes[name] = int(info.get("size") or 0)
    runs = []
    for directory, files in by_dir.items():
        rel = directory[len(root) :].strip("/") if directory != root else ""
        runs.append((rel or ".", directory, sorted(files)))
    return sorted(runs), sizes


def _batches(
    runs: list[tuple[str, str, list[str]]], sizes: dict[str, int]
) -> Iterator[list[tuple[str, str, list[str]]]]:
    """Runs in groups whose files are fetched together (bounded in count and bytes)."""
    batch: list[tuple[str, str, list[str]]] = []
    files = held = 0
    for run in runs:
        batch.append(run)
        files += len(run[2])
        held += sum(sizes.get(f, 0) for f in run[2])
        if files >= _BATCH_FILES or held >= _BATCH_BYTES:
            yield batch
            batch, files, held = [], 0, 0
    if batch:
        yield batch
