"""``tblog.adapter``: a LoggerAdapter whose helpers build exactly the records the handler reads."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

from tblog._values import check_step, check_tag

#: LogRecord attributes an ``extra`` key may not overwrite (stdlib raises KeyError for them).
RESERVED = frozenset(logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None).__dict__) | {
    "message",
    "asctime",
}


class TensorBoardAdapter(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A ``logging.LoggerAdapter`` with TensorBoard helpers.

    ``scalar``, ``metrics``, ``text`` and ``histogram`` each log one record (at INFO unless
    ``level=`` says otherwise) that carries exactly the keys ``TensorBoardHandler`` reads, so the
    file log gets a readable line and TensorBoard the point. Tags and steps are checked at the
    call, with a ``ValueError`` naming the problem, and extras never collide with LogRecord's own
    attributes (stdlib's ``KeyError: "Attempt to overwrite 'message' in LogRecord"``). The
    adapter's defaults are merged into every record's ``extra``; a call's own ``extra`` wins.

    Args:
        logger: The logger to wrap.
        defaults: Extra attributes for every record (not LogRecord attribute names).

    Raises:
        ValueError: A default key is a LogRecord attribute name.
    """

    def __init__(self, logger: logging.Logger, defaults: Mapping[str, Any] | None = None) -> None:
        extra = dict(defaults or {})
        _check_extra(extra, "adapter default")
        super().__init__(logger, extra)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        """Merge the adapter's defaults under the call's own ``extra``."""
        extra = kwargs.get("extra")
        if extra is not None:
            _check_extra(extra, "extra")
        kwargs["extra"] = {**(self.extra or {}), **(extra or {})}
        return msg, kwargs

    def _point(self, level: int, msg: str, args: tuple[Any, ...], extra: dict[str, Any]) -> None:
        if self.isEnabledFor(level):
            self.logger.log(level, msg, *args, extra={**(self.extra or {}), **extra}, stacklevel=3)

    def scalar(
        self, tag: str, value: Any, step: int | None = None, *, level: int = logging.INFO
    ) -> None:
        """Log scalar ``value`` under ``tag``; the file log reads ``tag=value``.

        Raises:
            ValueError: ``tag`` is not a non-empty str or ``step`` not an int >= 0.
        """
        extra: dict[str, Any] = {"tag": check_tag(tag), "value": value}
        if step is not None:
            extra["step"] = check_step(step)
        self._point(level, "%s=%s", (tag, value), extra)

    def metrics(
        self,
        metrics: Mapping[str, Any],
        step: int | None = None,
        *,
        prefix: str | None = None,
        level: int = logging.INFO,
    ) -> None:
        """Log several scalars at once (``prefix/name`` with a prefix).

        Raises:
            ValueError: A bad prefix or step, or ``metrics`` is not a mapping with str keys.
        """
        if not isinstance(metrics, Mapping) or not all(isinstance(k, str) and k for k in metrics):
            msg = "metrics must be a mapping with non-empty str keys"
            raise ValueError(msg)
        extra: dict[str, Any] = {"metrics": dict(metrics)}
        if prefix is not None:
            extra["tag"] = check_tag(prefix)
        if step is not None:
            extra["step"] = check_step(step)
        line = " ".join(f"{k}={v}" for k, v in metrics.items())
        self._point(level, "%s", (line,), extra)

    def text(
        self, tag: str, text: str, step: int | None = None, *, level: int = logging.INFO
    ) -> None:
        """Log Markdown ``text`` under ``tag`` (the file log gets the text too).

        Raises:
            ValueError: A bad tag or step.
        """
        extra: dict[str, Any] = {"tag": check_tag(tag), "value": str(text), "kind": "text"}
        if step is not None:
            extra["step"] = check_step(step)
        self._point(level, "%s", (text,), extra)

    def histogram(
        self, tag: str, values: Any, step: int | None = None, *, level: int = logging.INFO
    ) -> None:
        """Log a histogram of ``values`` (array, tensor or sequence) under ``tag``.

        Raises:
            ValueError: A bad tag or step.
        """
        extra: dict[str, Any] = {"tag": check_tag(tag), "value": values, "kind": "histogram"}
        if step is not None:
            extra["step"] = check_step(step)
        self._point(level, "histogram %s", (tag,), extra)


def _check_extra(extra: Mapping[str, Any], what: str) -> None:
    clash = sorted(k for k in extra if k in RESERVED)
    if clash:
        msg = f"{what} keys {clash} are LogRecord attributes and cannot be set through extra"
        raise ValueError(msg)


def adapter(logger: logging.Logger | str, **defaults: Any) -> TensorBoardAdapter:
    """Wrap ``logger`` (or the logger of that name) in a ``TensorBoardAdapter``.

    Example:
        >>> tlog = tblog.adapter(logging.getLogger("train"), run="baseline")
        >>> tlog.scalar("loss", 0.3, step=5)
        >>> tlog.metrics({"acc": 0.9}, step=5)
        >>> tlog.info("plain")

    Raises:
        ValueError: A default is a LogRecord attribute name.
    """
    if isinstance(logger, str):
        logger = logging.getLogger(logger)
    return TensorBoardAdapter(logger, defaults)
