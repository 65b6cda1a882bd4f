"""Worker functions for the multi-process tests (importable, so spawn can start them)."""

from __future__ import annotations

import logging
from typing import Any

import tblog

RECORDS = 200


def queue_worker(queue: Any, worker: int) -> None:
    """Log through the parent's queue: own tag with steps, a shared tag without, a message."""
    tblog.log_to_queue(queue, level=logging.INFO)
    log = logging.getLogger(f"worker{worker}")
    for step in range(RECORDS):
        log.info("own", extra={"tag": f"w{worker}", "value": float(step), "step": step})
        log.info("shared", extra={"tag": "shared", "value": float(worker)})
    log.info("worker %d done", worker)


def inherited_handler_worker(count: int) -> None:
    """Log through the handler inherited by fork, and return without flushing or closing."""
    log = logging.getLogger("child")
    for step in range(count):
        log.info("", extra={"tag": "child", "value": float(step), "step": step})
