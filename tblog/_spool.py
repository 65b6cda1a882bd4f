"""The spool: local directories where a remote run's segments wait, locked, named, removed."""

from __future__ import annotations

import contextlib
import os
import tempfile

TARGET_FILE = "target"  # in a spool directory: the URL its segments belong to
LOCK_FILE = "lock"  # in a spool directory: locked by the process that uploads it
STORE_NAME_PREFIX = "store-name."  # in a spool: the store name chosen for segment <rest>


def default_spool_root() -> str:
    """Where segments wait for upload: ``$TBLOG_SPOOL``, else ``<tmp>/tblog-spool``."""
    return os.environ.get("TBLOG_SPOOL") or os.path.join(tempfile.gettempdir(), "tblog-spool")


def remove_spool(spool: str) -> bool:
    """Remove an empty spool directory (its target and lock files, and itself); True if gone."""
    try:
        names = set(os.listdir(spool))
        # A store-name note outlives its segment when a kill lands between their removals.
        notes = {n for n in names if n.startswith(STORE_NAME_PREFIX)}
        if not names - notes <= {TARGET_FILE, LOCK_FILE}:
            return False
        for name in (*sorted(notes), TARGET_FILE, LOCK_FILE):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(spool, name))
        os.rmdir(spool)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def lock_spool(spool: str) -> int | None:
    """Take a spool's lock without waiting: its descriptor, or None while another process holds it.

    The process writing a run holds its spool's lock until its uploads end (a kill releases
    it); ``tblog upload`` holds it while it uploads. An ``flock`` belongs to the open file, so
    two holders in one process exclude each other too. Closing the descriptor releases it.

    Raises:
        FileNotFoundError: The spool directory is gone (uploaded and removed meanwhile).
    """
    fd = os.open(os.path.join(spool, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        import fcntl
    except ModuleNotFoundError:  # Windows: no advisory locks; spools are not shared there
        return fd
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def write_target(spool: str, url: str, suffix: str) -> None:
    """Say in a spool directory which run its segments belong to (and their name suffix)."""
    with open(os.path.join(spool, TARGET_FILE), "w", encoding="utf-8") as file:
        file.write(f"{url}\n{suffix}\n")


def read_target(spool: str) -> tuple[str, str]:
    """The run URL and the segment name suffix a spool directory names.

    Raises:
        OSError: The ``target`` file cannot be read.
    """
    with open(os.path.join(spool, TARGET_FILE), encoding="utf-8") as file:
        lines = file.read().splitlines()
    return lines[0].strip(), lines[1] if len(lines) > 1 else ""


def remove_segment(local: str) -> None:
    """Remove an uploaded segment from its spool, then its store-name note (if any)."""
    os.remove(local)
    spool, own = os.path.split(local)
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(spool, STORE_NAME_PREFIX + own))
