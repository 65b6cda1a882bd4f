"""The ``tblog.step`` context: a step for every point logged inside a ``with`` block."""

from __future__ import annotations

import contextvars
from types import TracebackType

from tblog._values import check_step

#: The step set by ``with tblog.step(n):`` in the current context (thread or task).
STEP: contextvars.ContextVar[int | None] = contextvars.ContextVar("tblog_step", default=None)


class step:  # noqa: N801 - used like a function: ``with tblog.step(10):``
    """Give every point logged in a ``with`` block that names no step of its own this step.

    The step lives in a context variable, so threads and asyncio tasks each see their own.
    Plain log messages turned into text keep their own per-tag counter (several lines at one
    step would collapse into one in TensorBoard).

    Args:
        n: The step, an int >= 0.

    Raises:
        ValueError: ``n`` is not an int >= 0.

    Example:
        >>> with tblog.step(11):
        ...     log.info("lr", extra={"tag": "lr", "value": 3e-4})  # written at step 11
    """

    def __init__(self, n: int) -> None:
        checked = check_step(n)
        if checked is None:
            msg = "step must be an int >= 0, got None"
            raise ValueError(msg)
        self.n = checked
        self._token: contextvars.Token[int | None] | None = None

    def __enter__(self) -> int:
        self._token = STEP.set(self.n)
        return self.n

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            STEP.reset(self._token)
            self._token = None
