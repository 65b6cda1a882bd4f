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


def own_run_worker(root: str, opener: str, count: int) -> None:
    """Open a run of the worker's own and return without flushing or closing it."""
    if opener == "get_writer":
        writer = tblog.get_writer(f"{root}/w")
        for step in range(count):
            writer.add_scalar("w", float(step), step)
        return
    if opener == "setup":
        tblog.setup("w", runs_root=root, log_root=root, console=False)
    else:
        logging.getLogger("own").addHandler(tblog.TensorBoardHandler(f"{root}/w"))
    log = logging.getLogger("own")
    log.setLevel(logging.INFO)
    for step in range(count):
        log.info("", extra={"tag": "w", "value": float(step), "step": step})


def setup_in_child(root: str) -> None:
    """A forked child that starts a setup of its own (which closes its copy of the parent's)."""
    with tblog.setup("child", runs_root=root, log_root=root, console=False):
        logging.getLogger("child").info("in the child")


def close_in_child(root: str) -> None:
    """A forked child that closes its copy of the parent's setup."""
    del root
    tblog.close()
