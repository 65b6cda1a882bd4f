"""The process's setup: ``setup``/``restore``, the active ``RootLogger``, and worker processes.

The facade lives in ``tblog._facade``, setup and restore in ``tblog._setup``, the files' layout in
``tblog._layout`` and the rank in ``tblog._rank``; this module keeps their public names.
"""

from __future__ import annotations

import logging
from typing import Any

from tblog import _registry
from tblog._facade import ACTIVE, STATE_VERSION, RootLogger
from tblog._layout import RunPath, get_default_log_name
from tblog._rank import get_rank
from tblog._resume import resume_plan
from tblog._setup import DEFAULT_FORMAT, restore, setup
from tblog._table import markdown_table
from tblog.handler import QueueHandler

__all__ = [
    "DEFAULT_FORMAT",
    "STATE_VERSION",
    "RootLogger",
    "RunPath",
    "close",
    "flush",
    "get_default_log_name",
    "get_rank",
    "get_root_logger",
    "is_active",
    "log_to_queue",
    "markdown_table",
    "restore",
    "resume_plan",
    "setup",
]


def log_to_queue(queue: Any, level: int | str = logging.NOTSET) -> Any:
    """Send this worker process's records to ``queue``: the worker half of the recipe.

    The root logger gets a single ``tblog.QueueHandler`` (handlers inherited through ``fork`` are
    removed, not closed, so nothing is written twice), and this process's copy of an active
    ``setup()`` is set aside so it writes no event file of its own. Log with ``extra`` or
    ``tblog.adapter``; the parent's ``RootLogger.log_queue()`` writes the records.

    Args:
        queue: The queue from ``RootLogger.log_queue()`` in the parent.
        level: The worker root logger's level (NOTSET keeps it).

    Returns:
        The installed ``tblog.QueueHandler`` (it keeps structlog event dicts intact).
    """
    import logging.handlers

    with ACTIVE.lock:
        ACTIVE.facade = None
        _registry.set_active_logdir(None)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    queue_handler = QueueHandler(queue)
    root.addHandler(queue_handler)
    if level != logging.NOTSET:
        root.setLevel(level)
    return queue_handler


def get_root_logger() -> RootLogger:
    """Return the active ``RootLogger``, or an inactive one whose TensorBoard helpers do nothing.

    Library code can log through it without caring whether ``setup`` ran yet.
    """
    active = ACTIVE.facade
    return active if active is not None else RootLogger()


def is_active() -> bool:
    """True between ``setup``/``restore`` and ``close``."""
    return ACTIVE.facade is not None


def flush() -> None:
    """Flush the active run's file log and events (nothing to do when none is active)."""
    facade = ACTIVE.facade
    if facade is not None:
        facade.flush()


def close() -> None:
    """Close the active run (idempotent)."""
    facade = ACTIVE.facade
    if facade is not None:
        facade.close()
