"""Logging filters for training loops: ``SampleFilter`` thins out frequent metric records."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

from tblog._step import STEP
from tblog._tags import tag_matches
from tblog._values import PointError, check_step

_NO_RULE: Any = object()  # a tag that no pattern matches (cached like a rule)
_UNRESOLVED: Any = object()  # a tag not looked at yet
_MAX_CACHED = 10_000  # tags whose rule is remembered
_clock = time.monotonic


class SampleFilter(logging.Filter):
    """A ``logging.Filter`` that lets through every N-th step of the tags it samples.

    A record with a TensorBoard payload (``extra={"tag", "value", "step"}``, or ``metrics``)
    whose tag matches one of ``tags`` passes only when its step is a multiple of ``every``
    (``step % every == 0``); the step is the record's ``step``, else the ``tblog.step``
    context's, else the record is counted per tag and the 1st, (N+1)-th, ... pass. With
    ``max_per_second``, a record of a matching tag passes only when at least
    ``1 / max_per_second`` seconds went by since the last one of that tag that passed (their
    steps aside; with ``every`` too, a record must pass both). Records of other tags and plain
    messages always pass, so the file log and the console keep their lines when the filter
    sits on the TensorBoard handler only.

    A ``metrics`` record is sampled as a whole, by the first of its tags that matches (its tags
    are ``f"{tag}/{key}"`` with a ``tag`` prefix, else its keys). Event dicts carried in
    ``record.msg`` (structlog's ``ProcessorFormatter.wrap_for_formatter``) are read the same way.

    Use it on a handler (``handler.addFilter``) to thin out one destination, or on a logger to
    thin out the records themselves. In ``dictConfig``::

        "filters": {"sample": {"()": "tblog.SampleFilter", "every": 10, "tags": ["train/*"]}},
        "handlers": {"tb": {"class": "tblog.TensorBoardHandler", "logdir": "runs/exp1",
                            "filters": ["sample"]}},

    Args:
        every: Let through the steps that are multiples of this, an int >= 1 (None: no step
            rule; give ``max_per_second`` then).
        tags: names or ``fnmatch`` patterns of the tags to sample (``"train/*"``, ``"loss"``); None
            samples every tagged record.
        max_per_second: Let through at most one record of each matching tag per
            ``1 / max_per_second`` seconds, a number > 0 (None: no rate limit).

    Raises:
        ValueError: Neither ``every`` nor ``max_per_second`` is given, or one is out of range.
        TypeError: ``tags`` is a str (give a list) or holds something other than str.
    """

    def __init__(
        self,
        every: int | None = None,
        tags: Iterable[str] | None = None,
        max_per_second: float | None = None,
    ) -> None:
        if every is None and max_per_second is None:
            msg = "SampleFilter needs every= (steps) or max_per_second= (a rate), or both"
            raise ValueError(msg)
        patterns = None if tags is None else _check_patterns(tags)
        checked = None if every is None else _check_every(every, "every")
        rate = _check_rate(max_per_second)
        super().__init__()
        self._rules: list[tuple[tuple[str, ...] | None, int | None]] = [(patterns, checked)]
        self._max_per_second = rate
        self._lock = threading.Lock()
        self._resolved: dict[str, Any] = {}  # tag -> its rule's every (None: rate only) or _NO_RULE
        self._counts: dict[str, int] = {}
        self._passed_at: dict[str, float] = {}

    @classmethod
    def from_mapping(cls, sample: Mapping[str, int]) -> SampleFilter:
        """Build one filter from ``{pattern: every}``; a tag follows the first pattern it matches.

        This is what ``tblog.setup(sample={"train/*": 10, "eval/*": 2})`` installs.

        Raises:
            ValueError: The mapping is empty, or a value is not an int >= 1.
            TypeError: ``sample`` is not a mapping, or a key is not a non-empty str.
        """
        if not isinstance(sample, Mapping):
            msg = f"sample must be a mapping of tag patterns to every-N-steps, got {sample!r}"
            raise TypeError(msg)
        if not sample:
            msg = "sample must name at least one tag pattern"
            raise ValueError(msg)
        rules = [
            (_check_patterns([pattern]), _check_every(every, f"sample[{pattern!r}]"))
            for pattern, every in sample.items()
        ]
        made = cls(every=1)
        made._rules = list(rules)
        return made

    def filter(self, record: logging.LogRecord) -> bool:
        """Return True if the record passes (see the class docstring)."""
        source = record.msg if record.msg.__class__ is dict else record.__dict__
        tag = source.get("tag")
        if "value" in source:
            if tag.__class__ is not str:
                return True  # no tag to sample by (the handler reports a bad one)
        elif "metrics" in source:
            tag = self._metrics_tag(tag if isinstance(tag, str) else None, source.get("metrics"))
            if tag is None:
                return True
        else:
            return True  # a plain message
        every = self._resolved.get(tag, _UNRESOLVED)
        if every is _UNRESOLVED:
            every = self._resolve(tag)
        if every is _NO_RULE:
            return True
        if every is not None and not self._on_step(tag, source.get("step"), every):
            return False
        return self._max_per_second is None or self._in_rate(tag, self._max_per_second)

    def _resolve(self, tag: str) -> Any:
        """The ``every`` of the first rule matching ``tag`` (cached), or ``_NO_RULE``."""
        found: Any = _NO_RULE
        for patterns, every in self._rules:
            if patterns is None or tag_matches(tag, patterns):
                found = every
                break
        if len(self._resolved) < _MAX_CACHED:  # a bound, should tags be made per record
            self._resolved[tag] = found
        return found

    def _metrics_tag(self, prefix: str | None, metrics: Any) -> str | None:
        """The first tag of a ``metrics`` record (``prefix/key``, or ``key``) a rule samples."""
        if not isinstance(metrics, Mapping):
            return None
        for key in metrics:
            if isinstance(key, str):
                tag = f"{prefix}/{key}" if prefix else key
                every = self._resolved.get(tag, _UNRESOLVED)
                if (every if every is not _UNRESOLVED else self._resolve(tag)) is not _NO_RULE:
                    return tag
        return None

    def _on_step(self, tag: str, step: Any, every: int) -> bool:
        """True if ``step`` (else the context's) is a multiple of ``every``; else count."""
        if step is None:
            step = STEP.get()
        if step is not None:
            try:
                checked = check_step(step)
            except PointError:
                return True  # a bad step: the handler reports it
            return checked is not None and checked % every == 0
        with self._lock:
            count = self._counts.get(tag, 0)
            self._counts[tag] = count + 1
        return count % every == 0

    def _in_rate(self, tag: str, max_per_second: float) -> bool:
        """True if no record of ``tag`` passed within the last ``1 / max_per_second`` seconds."""
        now = _clock()
        interval = 1.0 / max_per_second
        with self._lock:
            last = self._passed_at.get(tag)
            if last is not None and now - last < interval:
                return False
            self._passed_at[tag] = now
        return True

    def __repr__(self) -> str:
        rules = ", ".join(f"{list(p) if p else '*'}: every {e}" for p, e in self._rules)
        return f"<SampleFilter {rules} max_per_second={self._max_per_second}>"


def _check_every(every: Any, what: str) -> int:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        msg = f"{what} must be an int >= 1, got {every!r}"
        raise ValueError(msg)
    return every


def _check_rate(rate: Any) -> float | None:
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not rate > 0:
        msg = f"max_per_second must be a number > 0 or None, got {rate!r}"
        raise ValueError(msg)
    return float(rate)


def _check_patterns(tags: Any) -> tuple[str, ...]:
    if isinstance(tags, str):
        msg = f"tags must be a list of tag patterns, not the str {tags!r}"
        raise TypeError(msg)
    patterns = tuple(tags)
    for pattern in patterns:
        if not isinstance(pattern, str) or not pattern:
            msg = f"tags must hold non-empty str patterns, got {pattern!r}"
            raise TypeError(msg)
    return patterns
