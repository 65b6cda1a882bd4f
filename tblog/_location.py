"""Where runs live: local paths or store URLs, the store behind a URL, and event file names.

One rule decides "is this a URL" for the writer, the uploader, the reader and the CLI: fsspec's
own (``fsspec.core.split_protocol``): ``<protocol>://...`` with a protocol of two or more
characters, whatever they are. ``file://`` (in any case) is a local path in URL form.
"""

from __future__ import annotations

import errno
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_LOCAL_SCHEME = "file://"
EVENT_PREFIX = "events.out.tfevents."


def scheme(path: str | os.PathLike[str]) -> str | None:
    """The protocol of ``path`` as fsspec parses it (``s3``, ``FILE``, ...); None for a path."""
    text = os.fspath(path)
    head, sep, _ = text.partition("://")
    return head if sep and len(head) > 1 else None


def is_url(path: str | os.PathLike[str]) -> bool:
    """True for a URL fsspec opens (``scheme://...``), False for a local path or ``file://``."""
    found = scheme(path)
    return found is not None and found.lower() != "file"


def local_path(path: str) -> str:
    """``file:///x`` (in any case) as ``/x``; any other path as it is."""
    head = path[: len(_LOCAL_SCHEME)]
    return path[len(_LOCAL_SCHEME) :] if head.lower() == _LOCAL_SCHEME else path


def join(url: str, name: str) -> str:
    """``url/name`` with exactly one slash between them."""
    return f"{url.rstrip('/')}/{name}"


def child(root: str, name: str) -> str:
    """``name`` inside ``root``: joined with ``/`` in a URL, with the OS's separator in a path."""
    return join(root, name) if is_url(root) else os.path.join(root, name)


def open_store(url: str, storage_options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """Return the fsspec filesystem of ``url`` and the path in it; nothing is read or written.

    Credentials and endpoints come from the environment (``AWS_ENDPOINT_URL``, ...) or from
    ``storage_options``, as fsspec and the store's own package read them.

    Raises:
        ModuleNotFoundError: fsspec, or the store's package (``s3fs``, ``gcsfs``, ...), is missing.
        ValueError: fsspec knows no filesystem for the URL's scheme.
    """
    protocol = url.split("://", 1)[0].lower()
    try:
        import fsspec
    except ModuleNotFoundError as exc:
        msg = f'{url}: remote runs need fsspec: pip install "tblog[remote]"'
        raise ModuleNotFoundError(msg, name="fsspec") from exc
    from fsspec.registry import known_implementations

    known = known_implementations.get(protocol)
    try:
        fsspec.get_filesystem_class(protocol)
    except ValueError as exc:
        msg = f"{url}: fsspec knows no filesystem for {protocol}:// (a typo in the URL?)"
        raise ValueError(msg) from exc
    except ImportError as exc:
        hint = (known or {}).get("err") or f"the package for {protocol}:// is not installed"
        msg = f"{url}: {hint}"
        raise ModuleNotFoundError(msg, name=getattr(exc, "name", None)) from exc
    fs, path = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    return fs, path


def is_event_file(name: str) -> bool:
    """Whether a file name is an event file's, by TensorBoard's rule (profiler stubs aside)."""
    return "tfevents" in name and not name.endswith(".profile-empty")


def newest_event_file(names: Iterable[str]) -> str:
    """The greatest name among ``names`` made by the naming rule below ("" for none)."""
    return max((name for name in names if name.startswith(EVENT_PREFIX)), default="")


_file_seq = 0  # a process-wide sequence in event file names: two files never share a name
_seq_lock = threading.Lock()  # the writer and uploader threads both take names


def event_file_name(newest: str, exists: Callable[[str], bool], suffix: str = "") -> str:
    """Return a new event file name that sorts after ``newest`` (TensorBoard reads by name).

    The one naming rule of local event files and remote segments:
    ``events.out.tfevents.<seconds, 10 digits>.<host>.<pid>.<n><suffix>``. The seconds are the
    clock's, but never less than those of ``newest``, and one more when that name would still
    not sort after it. So a name sorts after every earlier one and keeps its length whatever the
    clock does (stepped back, or another host's clock ahead: the stamp follows the later one).

    After a name no clock of ours sorts after (no 10-digit stamp: ``events.out.tfevents.zzz``,
    an 11-digit stamp), names take a short prefix that sorts after it, chosen once:
    ``events.out.tfevents.<prefix>.<seconds>.<host>.<pid>.<n><suffix>``; later names keep that
    prefix and follow the same rule, so they stay bounded too.

    Args:
        newest: The greatest event file name already there ("" for none).
        exists: Tells whether a name is taken.
        suffix: Appended to the name (``SummaryWriter(filename_suffix=...)``).
    """
    global _file_seq
    host = socket.gethostname()
    pid = os.getpid()
    prefix, floor = _family_of(newest)
    stamp = min(int(time.time()), 10**10 - 1)  # ten digits, even on a clock past 2286
    if floor is not None:
        stamp = max(stamp, floor)
    for _ in range(1000):
        with _seq_lock:
            _file_seq += 1
            seq = _file_seq
        name = f"{EVENT_PREFIX}{prefix}{stamp:010d}.{host}.{pid}.{seq}{suffix}"
        if name <= newest:
            if floor is None or floor + 1 >= 10**10:
                prefix, floor = _prefix_after(newest[len(EVENT_PREFIX) :]), None
                continue
            stamp = max(stamp, floor + 1)  # the same second as newest, which sorts after ours
            continue
        if not exists(name):
            return name
    msg = f"no free event file name after {newest!r}"
    raise OSError(errno.EEXIST, msg)


_MAX_PREFIX = 16  # the longest prefix chosen to sort after a foreign name


def _family_of(newest: str) -> tuple[str, int | None]:
    """The prefix (with its dot) and the seconds of ``newest`` if it follows our rule."""
    floor = stamp_of(newest)
    if floor is not None or not newest.startswith(EVENT_PREFIX):
        return "", floor
    head, _, rest = newest[len(EVENT_PREFIX) :].partition(".")
    stamp = rest.split(".", 1)[0]
    if 0 < len(head) <= _MAX_PREFIX and len(stamp) == 10 and stamp.isdigit():
        return f"{head}.", int(stamp)  # a name made after a foreign one: the same prefix
    return "", None


def _prefix_after(tail: str) -> str:
    """A short prefix (with its dot) that sorts after ``tail``: its head up to a "z" or past."""
    for i, char in enumerate(tail[:_MAX_PREFIX]):
        if char < "z":
            return f"{tail[:i]}z."
    if len(tail) < _MAX_PREFIX:
        return f"{tail}z."
    last = ord(tail[_MAX_PREFIX - 1]) + 1
    while not chr(last).isprintable():  # DEL and the C1 controls: no name holds those
        last += 1
    return f"{tail[: _MAX_PREFIX - 1]}{chr(last)}."


def stamp_of(name: str) -> int | None:
    """The seconds field of an event file name, or None when it has none."""
    if not name.startswith(EVENT_PREFIX):
        return None
    head = name[len(EVENT_PREFIX) :].split(".", 1)[0]
    return int(head) if head.isdigit() and len(head) <= 10 else None
