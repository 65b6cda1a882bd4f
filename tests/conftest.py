"""Shared fixtures: a clean logging and tblog state per test, and TensorBoard's own reader."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import tblog
from tblog import _registry

#: Python 3.12+ warns when a process with threads forks: tests marked ``forks`` do that on
#: purpose (tblog promises to survive it), so the warning is expected there and only there.
FORK_WARNING = (
    r"ignore:This process .* is multi-threaded, use of fork\(\) may lead to deadlocks"
    ":DeprecationWarning"
)


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    """A run directory that does not exist yet (tblog creates it on the first point)."""
    return tmp_path / "runs" / "exp1"


@pytest.fixture(autouse=True)
def _clean_logging_and_runs() -> Iterator[None]:
    """Restore the root logger and close every run a test left open."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    loggers = dict(logging.Logger.manager.loggerDict)
    raise_exceptions = logging.raiseExceptions
    yield
    tblog.close()  # a facade a failed test left active
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    for name in set(logging.Logger.manager.loggerDict) - set(loggers):
        logger = logging.Logger.manager.loggerDict[name]
        if isinstance(logger, logging.Logger):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
                handler.close()
    logging.raiseExceptions = raise_exceptions
    _registry.close_all()
    _registry.set_active_logdir(None)


@pytest.fixture
def logger(request: pytest.FixtureRequest) -> logging.Logger:
    """A fresh logger at INFO that does not propagate to the root."""
    log = logging.getLogger(f"test.{request.node.name}")
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def pytest_configure(config: Any) -> None:
    """Keep tests independent of a user's TensorBoard environment."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Expect the fork-with-threads warning in the tests marked ``forks``, and only there."""
    for item in items:
        if item.get_closest_marker("forks") is not None:
            item.add_marker(pytest.mark.filterwarnings(FORK_WARNING))
