"""The writer options of a run: their defaults, their checks, and what each one means."""

from __future__ import annotations

import dataclasses
import math
import os
import threading
from collections.abc import Mapping
from typing import Any

DEFAULT_FLUSH_SECS = 1.0
DEFAULT_MAX_QUEUE = 200_000
DEFAULT_BLOCK_SECS = 1.0
DEFAULT_TIMEOUT_SECS = 10.0
DEFAULT_UPLOAD_SECS = 30.0
WAIT_MAX = threading.TIMEOUT_MAX  # the longest wait a lock or thread join accepts


@dataclasses.dataclass(frozen=True)
class WriterOptions:
    """How a run writes: every door (handler, writer, processor, setup) takes these keywords.

    The first opener of a run in a process decides them; later openers share the run as it is
    (and are told once when they asked for something else). Constructing one checks every
    option, so a door validates before it starts a thread or opens a file.

    Raises:
        ValueError: An option is not a number in its range, or a suffix holds a separator, a
            control character or ``? #``.
        TypeError: ``storage_options`` is not a mapping, ``spool_dir`` not a path,
            ``filename_suffix`` not a str, or ``nan_warning`` not a bool.
    """

    flush_secs: float = DEFAULT_FLUSH_SECS
    """At most this many seconds pass between a point and its write, a number > 0."""

    max_queue: int = DEFAULT_MAX_QUEUE
    """Points queued for the writer thread before a logging call waits, an int >= 1."""

    block_secs: float = DEFAULT_BLOCK_SECS
    """How long a logging call waits for room in a full queue before the point is dropped and
    counted, a number >= 0 (``math.inf``: as long as it takes); after one such wait, calls drop
    at once until there is room."""

    timeout_secs: float = DEFAULT_TIMEOUT_SECS
    """The longest ``flush()``, ``close()`` and the exit hook wait for the disk, > 0."""

    upload_secs: float = DEFAULT_UPLOAD_SECS
    """A remote run uploads a new segment at least this often, > 0."""

    max_bytes: int | None = None
    """Start a new event file (or segment) before one grows past this many bytes, an int >=
    1024; None: no limit for local runs, 64 MiB segments for remote ones."""

    storage_options: Mapping[str, Any] | None = None
    """fsspec options of a remote run (credentials, endpoint, ...); None: from the environment."""

    spool_dir: str | os.PathLike[str] | None = None
    """Where a remote run's segments wait for upload (None: ``$TBLOG_SPOOL``, else
    ``<tmp>/tblog-spool``)."""

    filename_suffix: str = ""
    """Appended to the names of the event files (segments) this process creates: printable
    characters other than path separators and ``? #``."""

    nan_warning: bool = True
    """The NaN/Inf sentinel: one WARNING through the ``tblog.nan`` logger when a scalar tag
    turns non-finite, and one when it is finite again; the points are written as they are."""

    def __post_init__(self) -> None:
        _check_types(self)
        _check_numbers(self)

    @classmethod
    def pick(cls, arguments: Mapping[str, Any]) -> WriterOptions:
        """The checked writer options among a door's arguments (its ``locals()``), by name."""
        return cls(**{name: arguments[name] for name in OPTION_NAMES if name in arguments})

    def keywords(self) -> dict[str, Any]:
        """The options by name, as a door takes them as keywords."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    def asked(self) -> dict[str, Any]:
        """The options set to something other than their default, by name."""
        return {
            field.name: getattr(self, field.name)
            for field in dataclasses.fields(self)
            if getattr(self, field.name) != field.default
        }

    def conflicts(self, wanted: WriterOptions) -> dict[str, Any]:
        """The options ``wanted`` asks for (not defaults) that differ here, with the values kept."""
        return {
            name: getattr(self, name)
            for name, value in wanted.asked().items()
            if getattr(self, name) != value
        }


#: The names of the writer options, in their declared order.
OPTION_NAMES = tuple(field.name for field in dataclasses.fields(WriterOptions))


def _check_types(options: WriterOptions) -> None:
    """Raise naming the first option of the wrong type (or a suffix with a separator)."""
    suffix = options.filename_suffix
    if not isinstance(suffix, str):
        msg = f"filename_suffix must be a str, got {type(suffix).__name__}"
        raise TypeError(msg)
    odd = [c for c in suffix if c in "/\\?#" or c == os.sep or not c.isprintable()]
    if odd:
        msg = (
            f"filename_suffix must not hold a path separator, a control character, or "
            f"? # (which URLs and stores treat specially), got {suffix!r}"
        )
        raise ValueError(msg)
    if not isinstance(options.nan_warning, bool):
        msg = f"nan_warning must be True or False, got {options.nan_warning!r}"
        raise TypeError(msg)
    max_bytes = options.max_bytes
    if max_bytes is not None and (
        not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1024
    ):
        msg = f"max_bytes must be an int >= 1024 or None, got {max_bytes!r}"
        raise ValueError(msg)
    storage = options.storage_options
    if storage is not None and not isinstance(storage, Mapping):
        msg = f"storage_options must be a mapping, got {type(storage).__name__}"
        raise TypeError(msg)
    if options.spool_dir is not None and not isinstance(options.spool_dir, (str, os.PathLike)):
        msg = f"spool_dir must be a path, got {options.spool_dir!r}"
        raise TypeError(msg)


def _check_numbers(options: WriterOptions) -> None:
    """Raise naming the first number option out of its range."""
    for name, value, strict in (
        ("flush_secs", options.flush_secs, True),
        ("block_secs", options.block_secs, False),  # math.inf: wait as long as it takes
        ("timeout_secs", options.timeout_secs, True),
        ("upload_secs", options.upload_secs, True),
    ):
        number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        bounded = strict and number is not None and 0 < number <= WAIT_MAX
        if number is None or math.isnan(number) or (not bounded if strict else number < 0):
            rule = f"> 0 and at most {WAIT_MAX:g}" if strict else ">= 0"
            msg = f"{name} must be a number {rule}, got {value!r}"
            raise ValueError(msg)
    max_queue = options.max_queue
    if not isinstance(max_queue, int) or isinstance(max_queue, bool) or max_queue < 1:
        msg = f"max_queue must be an int >= 1, got {max_queue!r}"
        raise ValueError(msg)
