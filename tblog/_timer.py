"""A timer that logs the seconds a block or a function took as a scalar."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol, TypeVar

_F = TypeVar("_F", bound=Callable[..., Any])


class Scalars(Protocol):
    """Where a timer logs its seconds (a ``RootLogger``)."""

    def scalar(self, tag: str, value: Any, step: int | None = None) -> None:
        """Log ``value`` as scalar ``tag`` at ``step``."""


class Timer:
    """Time a block or a function and log the seconds as a scalar."""

    def __init__(self, owner: Scalars, tag: str, step: int | None) -> None:
        self._owner = owner
        self._tag = tag
        self._step = step
        self._starts: list[float] = []
        self.seconds: float | None = None

    def __enter__(self) -> Timer:
        self._starts.append(time.perf_counter())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._starts.pop()
        self._owner.scalar(self._tag, self.seconds, self._step)

    def __call__(self, func: _F) -> _F:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with Timer(self._owner, self._tag, self._step):
                return func(*args, **kwargs)

        return timed  # type: ignore[return-value]
