"""How tblog tells about a problem: one ``tblog:`` line on stderr, once per problem."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Hashable


def report(message: str) -> None:
    """Write one ``tblog:`` line on stderr; never raises (stderr may be closed at exit).

    Like ``logging.Handler.handleError``, it is silent when ``logging.raiseExceptions`` is False
    (what production code sets to keep logging quiet about its own troubles).
    """
    if not logging.raiseExceptions:
        return
    with contextlib.suppress(Exception):  # a report must never become an error of its own
        stream = sys.stderr
        if stream is not None:
            stream.write(f"tblog: {message}\n")
            stream.flush()


class Once:
    """Report each problem once: the first ``report(key, message)`` of a key is written."""

    def __init__(self) -> None:
        self._seen: set[Hashable] = set()

    def __call__(self, key: Hashable, message: str) -> None:
        """Write ``message`` unless ``key`` was reported before."""
        if key not in self._seen:
            self._seen.add(key)
            report(message)
