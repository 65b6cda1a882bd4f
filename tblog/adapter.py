"""``tblog.adapter``: a LoggerAdapter whose helpers build exactly the records the handler reads."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping
from typing import Any

from tblog._values import check_step, check_tag, classify, metric_points

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
    call, and so are values (a number for ``scalar`` and ``metrics``, an array-like for
    ``histogram``), with the same checks the handler makes, raising a ``ValueError`` that names
    the problem; the record carries the checked value. Extras never collide with LogRecord's own
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

        The record carries ``kind="scalar"`` and the value as a number (a plain int or float as
        given; a numpy scalar or 0-d tensor as a float).

        Raises:
            ValueError: ``tag`` is not a non-empty str, ``step`` not an int >= 0, or ``value``
                not a number (a str is not a number).
        """
        checked = check_tag(tag)
        _, number = classify(value, "scalar")
        shown = value if type(value) is float or type(value) is int else number
        extra: dict[str, Any] = {"tag": checked, "value": shown, "kind": "scalar"}
        if step is not None:
            extra["step"] = check_step(step)
        self._point(level, "%s=%s", (checked, shown), extra)

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
            ValueError: A bad prefix or step, or ``metrics`` is not a mapping of non-empty str
                keys to numbers (the message names the first bad entry).
        """
        points, errors = metric_points(metrics, None, None, None)
        if errors:
            first = errors[0]
            if first.key == "metrics":
                raise first
            msg = f"metrics must be a mapping of non-empty str keys to numbers: {first.reason}"
            raise ValueError(msg) from first
        numbers = {tag: number for _, tag, number, _, _ in points}
        extra: dict[str, Any] = {"metrics": numbers}
        if prefix is not None:
            extra["tag"] = check_tag(prefix)
        if step is not None:
            extra["step"] = check_step(step)
        line = " ".join(f"{k}={v}" for k, v in numbers.items())
        self._point(level, "%s", (line,), extra)

    def text(
        self, tag: str, text: str, step: int | None = None, *, level: int = logging.INFO
    ) -> None:
        """Log Markdown ``text`` under ``tag`` (the file log gets the text too).

        Raises:
            ValueError: A bad tag or step, or ``text`` cannot be made a str.
        """
        checked = check_tag(tag)
        _, plain = classify(text, "text")
        extra: dict[str, Any] = {"tag": checked, "value": plain, "kind": "text"}
        if step is not None:
            extra["step"] = check_step(step)
        self._point(level, "%s", (plain,), extra)

    def histogram(
        self, tag: str, values: Any, step: int | None = None, *, level: int = logging.INFO
    ) -> None:
        """Log a histogram of ``values`` (array, tensor or sequence) under ``tag``.

        The record carries a float64 numpy copy of the values, taken at the call; when
        ``level`` is not enabled, no copy is made and ``values`` is not checked.

        Raises:
            ValueError: A bad tag or step, or ``values`` is not an array-like of numbers.
        """
        checked = check_tag(tag)
        extra: dict[str, Any] = {"tag": checked, "kind": "histogram"}
        if step is not None:
            extra["step"] = check_step(step)
        if self.isEnabledFor(level):
            _, (extra["value"], _, _) = classify(values, "histogram")
            self._point(level, "histogram %s", (checked,), extra)


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
