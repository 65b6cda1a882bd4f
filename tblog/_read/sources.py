"""Where a run's files live (the local disk or an fsspec filesystem), listed as TensorBoard does."""

from __future__ import annotations

import os
from typing import IO, Any

from tblog._location import is_event_file, is_url, local_path, open_store


class Source:
    """Lists directories and opens event files, locally with ``os`` or through fsspec."""

    def __init__(self, fs: Any = None) -> None:
        self.fs = fs

    @classmethod
    def for_path(cls, path: str | os.PathLike[str]) -> tuple[Source, str]:
        """The source of ``path`` and the path as that source names it.

        Raises:
            ModuleNotFoundError: ``path`` is a URL and fsspec or the store's package is missing.
            ValueError: fsspec knows no filesystem for the URL's scheme.
        """
        text = os.fspath(path)
        if not is_url(text):
            return cls(), local_path(text)
        fs, root = open_store(text)
        source = cls(fs)
        source.forget_listings()
        return source, root.rstrip("/") or root

    def forget_listings(self) -> None:
        """Drop the filesystem's cached listings, so that the next one is read afresh.

        fsspec filesystems (s3fs, gcsfs, ...) are shared per process and cache what they list:
        without this, a second read in one process would not see objects uploaded since the
        first. Every listing this class makes calls it first.
        """
        if self.fs is None:
            return
        invalidate = getattr(self.fs, "invalidate_cache", None)
        if invalidate is not None:
            invalidate()

    def isfile(self, path: str) -> bool:
        """True if ``path`` is a file."""
        return bool(self.fs.isfile(path)) if self.fs is not None else os.path.isfile(path)

    def isdir(self, path: str) -> bool:
        """True if ``path`` is a directory."""
        return bool(self.fs.isdir(path)) if self.fs is not None else os.path.isdir(path)

    def exists(self, path: str) -> bool:
        """True if ``path`` exists."""
        return bool(self.fs.exists(path)) if self.fs is not None else os.path.exists(path)

    def event_files(self, directory: str) -> list[str]:
        """The event files directly in ``directory``, in the name order TensorBoard reads them."""
        if self.fs is None:
            return event_files(directory)
        self.forget_listings()
        try:
            entries = self.fs.ls(directory, detail=True)
        except (OSError, ValueError):
            return []
        names = [
            e["name"]
            for e in entries
            if e.get("type") == "file" and is_event_file(e["name"].rsplit("/", 1)[-1])
        ]
        return sorted(names)

    def runs(self, root: str) -> list[tuple[str, str]]:
        """(run name, directory) for ``root`` and every directory below it with event files."""
        if self.fs is None:
            return find_runs(root)
        self.forget_listings()
        found = []
        for directory, _, files in self.fs.walk(root):
            if any(is_event_file(name) for name in files):
                rel = directory[len(root) :].strip("/") if directory != root else ""
                found.append((rel or ".", directory))
        return sorted(found)

    def open(self, path: str) -> IO[bytes]:
        """Open an event file for reading."""
        if self.fs is None:
            return open(path, "rb", buffering=0)
        return self.fs.open(path, "rb")  # type: ignore[no-any-return]


def event_files(run_dir: str | os.PathLike[str]) -> list[str]:
    """The event files directly in ``run_dir``, in the name order TensorBoard reads them."""
    try:
        names = os.listdir(run_dir)
    except OSError:
        return []
    return [
        os.path.join(run_dir, name)
        for name in sorted(names)
        if is_event_file(name) and os.path.isfile(os.path.join(run_dir, name))
    ]


def find_runs(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Return (run name, directory) for ``root`` and every directory below it with event files.

    Names are paths relative to ``root`` with ``/`` separators (``.`` for ``root`` itself), as
    TensorBoard names runs, in sorted order. Symbolic links to directories are followed, as both
    TensorBoard loaders follow them (a run reached through a link is named by the link's path);
    a link back to a directory the walk came through (a loop) is not followed again.
    """
    runs = []
    top = _identity(root)
    ancestors = {os.fspath(root): frozenset([top] if top is not None else [])}
    for directory, dirnames, _ in os.walk(root, followlinks=True):
        chain = ancestors.pop(directory, frozenset())
        kept = []
        for name in sorted(dirnames):
            path = os.path.join(directory, name)
            identity = _identity(path)
            if identity is None or identity in chain:
                continue  # gone, or a loop
            ancestors[path] = chain | {identity}
            kept.append(name)
        dirnames[:] = kept
        if event_files(directory):
            name = os.path.relpath(directory, root).replace(os.sep, "/")
            runs.append((name, directory))
    return sorted(runs)


def _identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(device, inode) of the directory ``path`` names, links followed; None if unreachable."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)
