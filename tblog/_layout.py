"""Where setup puts a run's files: default names, per-rank layout, and the claim on disk."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import itertools
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tblog._location import is_url, open_store
from tblog._rank import torch_distributed
from tblog.exceptions import SetupError

#: A run's location: a local directory, or (a str) the URL of a run in object storage.
RunPath = Path | str


def get_default_log_name(run_name: str) -> str:
    """Return the default name of a run's file log and run directory: ``<run_name>_<stamp>``.

    The stamp is the local time as ``YYYYmmdd-HHMMSS``. Under ``torch.distributed`` every rank
    gets rank 0's name (``setup`` broadcasts it); pass ``log_name=`` to ``setup`` to choose one.
    """
    return f"{run_name}_{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def usable_dir(path: Path, what: str) -> None:
    """Create ``path`` if needed; raise SetupError naming ``what`` when it cannot be."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"{what} {str(path)!r} cannot be created: {exc.strerror or exc}"
        raise SetupError(msg) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        msg = f"{what} {str(path)!r} is not writable"
        raise SetupError(msg)


@dataclasses.dataclass(frozen=True)
class Layout:
    """How ``setup`` named a run's files, for every rank: what lets one rank's state restore all."""

    run_name: str
    log_name: str
    log_root: str
    runs_root: str
    per_rank: bool

    def files(self, rank: int) -> tuple[Path, RunPath | None]:
        """Return rank ``rank``'s file log and run (None: the rank writes no events)."""
        name = self.log_name
        log_file = Path(self.log_root) / (f"{name}.log" if rank == 0 else f"{name}.rank{rank}.log")
        if self.per_rank:
            return log_file, location(self.runs_root, name, f"rank_{rank}")
        return log_file, location(self.runs_root, name) if rank == 0 else None


def location(root: str | os.PathLike[str], *names: str) -> RunPath:
    """``root/names...``: a str for a URL (a Path would fold its ``//``), else a Path."""
    text = os.fspath(root)
    if is_url(text):
        return "/".join([text.rstrip("/"), *names])
    return Path(text).joinpath(*names)


def shared_log_name(
    run_name: str,
    log_root: Path,
    runs_root: RunPath,
    rank: int,
    claimed: list[Path],
    storage_options: Mapping[str, Any] | None,
) -> str:
    """A fresh ``log_name`` for a new run, claimed on disk; under torch.distributed, rank 0's."""
    dist = torch_distributed()
    if dist is not None and dist.get_world_size() > 1:
        mine = (
            _claim_name(run_name, log_root, runs_root, claimed, storage_options)
            if rank == 0
            else None
        )
        names = [mine]
        dist.broadcast_object_list(names, src=0)
        return str(names[0])
    if rank != 0:  # ranks without torch.distributed cannot agree on a claim: pass log_name
        return get_default_log_name(run_name)
    return _claim_name(run_name, log_root, runs_root, claimed, storage_options)


def _claim_name(
    run_name: str,
    log_root: Path,
    runs_root: RunPath,
    claimed: list[Path],
    storage_options: Mapping[str, Any] | None,
) -> str:
    """Return ``<run_name>_<stamp>`` (``_2``, ``_3``, ... when taken), claimed atomically.

    The claim creates the run directory and the file log exclusively, so two processes (or a
    quick sweep in one) starting in the same second never share a run or a log by accident.
    In object storage, which has no directories to create, a run that already has objects
    counts as taken (checked once; the file log's claim stays atomic).

    Raises:
        SetupError: A root cannot be created or written.
    """
    usable_dir(log_root, "log_root")
    if isinstance(runs_root, Path):
        usable_dir(runs_root, "runs_root")
    base = get_default_log_name(run_name)
    for number in itertools.count(1):
        name = base if number == 1 else f"{base}_{number}"
        run_dir = runs_root / name if isinstance(runs_root, Path) else None
        if not _claim_run(runs_root, name, storage_options):
            continue
        log_file = log_root / f"{name}.log"
        if not _claim_log(log_file, log_root, run_dir):
            continue
        claimed += [log_file] if run_dir is None else [log_file, run_dir]
        return name
    raise AssertionError  # pragma: no cover - itertools.count never ends


def _claim_run(runs_root: RunPath, name: str, storage_options: Mapping[str, Any] | None) -> bool:
    """Create run ``name`` below ``runs_root`` exclusively; False if it is taken.

    In object storage a run that has objects is taken; there is nothing to create.

    Raises:
        SetupError: The run directory cannot be created.
    """
    if not isinstance(runs_root, Path):
        return not _remote_run_exists(f"{runs_root}/{name}", storage_options)
    try:
        (runs_root / name).mkdir()
    except FileExistsError:
        return False
    except OSError as exc:
        msg = f"runs_root {str(runs_root)!r}: cannot create {name!r}: {exc.strerror}"
        raise SetupError(msg) from exc
    return True


def _claim_log(log_file: Path, log_root: Path, run_dir: Path | None) -> bool:
    """Create ``log_file`` exclusively; False if it is taken (``run_dir``, claimed, is given back).

    Raises:
        SetupError: The file log cannot be created (``run_dir`` is given back too).
    """
    try:
        os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    except FileExistsError:
        if run_dir is not None:
            run_dir.rmdir()
        return False
    except OSError as exc:
        if run_dir is not None:
            run_dir.rmdir()
        msg = f"log_root {str(log_root)!r}: cannot create {log_file.name!r}: {exc.strerror}"
        raise SetupError(msg) from exc
    return True


def _remote_run_exists(url: str, storage_options: Mapping[str, Any] | None) -> bool:
    """True if the store already holds objects under ``url`` (False when it cannot tell)."""
    try:
        fs, path = open_store(url, storage_options)
        return bool(fs.exists(path))
    except Exception:  # noqa: BLE001 - an unreachable store: the writer will say so itself
        return False


def missing_dirs(*paths: RunPath | None) -> list[Path]:
    """The local directories on the way to ``paths`` that do not exist yet, deepest first."""
    missing: list[Path] = []
    for path in paths:
        if not isinstance(path, Path):
            continue
        for directory in (path, *path.parents):
            if directory.exists():
                break
            missing.append(directory)
    return sorted(set(missing), key=lambda p: len(p.parts), reverse=True)


def unclaim(claimed: list[Path]) -> None:
    """Remove a claimed file log and run directory again if nothing was written into them."""
    for path in claimed:
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()  # only while empty
            elif path.stat().st_size == 0:
                path.unlink()
