"""The NaN/Inf sentinel: a warning when a scalar tag turns non-finite, and when it recovers."""

from __future__ import annotations

import logging
import math
from typing import Any

#: The logger of the NaN/Inf sentinel's warnings (its records never feed a run back).
NAN_LOGGER = "tblog.nan"


class NanSentinel:
    """Watches the scalar batches of one run on its writer thread; the points stay as they are."""

    def __init__(self) -> None:
        import numpy as np  # imported by the run's encoder already: a dict lookup

        self._np = np
        self._nonfinite: set[str] = set()  # scalar tags whose last value was NaN or inf

    def watch(self, logdir: str, tags: Any, values: Any, steps: Any) -> None:
        """Warn when a scalar tag of ``logdir`` turns non-finite, and when it recovers.

        One numpy pass over the batch: nothing more happens while every value is finite and no
        tag is in the non-finite state. The points themselves are written as they are.
        """
        finite: Any
        if len(values) < 8:  # a few points: cheaper in Python than a numpy round trip
            finite = [is_finite(value) for value in values]
            all_finite = all(finite)
        else:
            np = self._np
            try:
                finite = np.isfinite(np.array(values, dtype=np.float64))
            except (OverflowError, TypeError, ValueError):  # an int beyond float64 is finite
                finite = np.array([is_finite(value) for value in values], dtype=bool)
            all_finite = bool(finite.all())
        nonfinite = self._nonfinite
        if all_finite and not nonfinite:
            return
        for i, tag in enumerate(tags):
            if not finite[i]:
                if tag not in nonfinite:
                    nonfinite.add(tag)
                    nan_warning(
                        "%s: tag %r got the non-finite value %r at step %d (its points are "
                        "written as they are)",
                        logdir, tag, values[i], steps[i],
                    )  # fmt: skip
            elif tag in nonfinite:
                nonfinite.discard(tag)
                nan_warning(
                    "%s: tag %r is finite again at step %d (value %r)",
                    logdir, tag, steps[i], values[i],
                )  # fmt: skip


def nan_warning(msg: str, *args: Any) -> None:
    """Log a WARNING through ``tblog.nan`` from the writer thread, without logging's module lock.

    ``Logger.warning`` may take that lock (its level cache), which ``dictConfig`` holds while it
    flushes the handlers it replaces, waiting for this very thread. The logger is made once,
    at the first warning of the process; a logger ``dictConfig`` disabled stays silent.
    """
    logger = logging.Logger.manager.loggerDict.get(NAN_LOGGER)
    if not isinstance(logger, logging.Logger):
        logger = logging.getLogger(NAN_LOGGER)
    disabled = logger.disabled or logger.manager.disable >= logging.WARNING
    if disabled or logger.getEffectiveLevel() > logging.WARNING:
        return
    logger.handle(logger.makeRecord(NAN_LOGGER, logging.WARNING, __file__, 0, msg, args, None))


def is_finite(value: Any) -> bool:
    """True unless ``value`` is a NaN or an infinity (a non-number counts as finite here)."""
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float is still a finite number
        return True
    except (TypeError, ValueError):  # not a number at all: the encoder reports it
        return True
