"""Validate and classify the values a record or event carries, without importing numpy or torch."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any

from tblog._encode import HISTOGRAM, SCALAR, TEXT

KINDS = {"scalar": SCALAR, "text": TEXT, "histogram": HISTOGRAM}
MISSING: Any = object()  # a key that is absent, as opposed to present with None

# A point as it travels to the writer: (kind, tag, payload, step or None, walltime or None).
Point = tuple[int, str, Any, "int | None", "float | None"]


class PointError(ValueError):
    """A value, tag or step that cannot become a point; ``reason`` is its one-line description."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def check_tag(tag: Any) -> str:
    """Return ``tag`` if it is a non-empty str, else raise PointError naming it."""
    if type(tag) is str and tag:
        return tag
    raise PointError("tag", f"tag must be a non-empty str, got {_short(tag)}")


def check_step(step: Any) -> int | None:
    """Return ``step`` as an int (None stays None); reject negatives, bools and non-integers."""
    if step is None:
        return None
    if type(step) is int:
        if step >= 0:
            return step
    elif not isinstance(step, bool) and _is_integral(step):
        number = int(step)
        if number >= 0:
            return number
    raise PointError("step", f"step must be an int >= 0, got {_short(step)}")


def _is_integral(value: Any) -> bool:
    if isinstance(value, numbers.Integral):
        return True
    module = type(value).__module__
    if module.startswith(("numpy", "torch")):
        try:
            return getattr(value, "ndim", 0) == 0 and float(value) == int(value)
        except (TypeError, ValueError, OverflowError):
            return False
    return False


def check_walltime(walltime: Any) -> float | None:
    """Return ``walltime`` as float seconds since the epoch (None stays None)."""
    if walltime is None:
        return None
    if isinstance(walltime, (int, float)) and not isinstance(walltime, bool):
        return float(walltime)
    raise PointError("walltime", f"walltime must be float seconds, got {_short(walltime)}")


def classify(value: Any, kind: Any = None) -> tuple[int, Any]:  # noqa: PLR0911 - one per kind
    """Return (point kind, payload) for a record's ``value``, honouring a forced ``kind``.

    int, float, bool, numpy scalars and 0-d arrays or tensors become scalars (NaN and inf are
    kept), str becomes text, arrays, tensors and lists of numbers with ndim >= 1 become histograms,
    whose payload is (values, bins, max_bins) with the values copied here, so later in-place
    updates by the caller do not change what is written.
    """
    if kind is not None:
        forced = KINDS.get(kind) if isinstance(kind, str) else None
        if forced is None:
            raise PointError("kind", f"kind must be one of {sorted(KINDS)}, got {_short(kind)}")
        if forced == TEXT:
            return TEXT, value if isinstance(value, str) else str(value)
        if forced == HISTOGRAM:
            return HISTOGRAM, (_array_copy(value), "tensorflow", None)
        return SCALAR, _scalar(value)
    t = type(value)
    if t is float or t is int:
        return SCALAR, value
    if t is str:
        return TEXT, value
    if t is bool:
        return SCALAR, float(value)
    module = t.__module__
    if module.startswith(("numpy", "torch", "jax")):
        ndim = getattr(value, "ndim", 0)
        if ndim == 0:
            return SCALAR, _scalar(value)
        return HISTOGRAM, (_array_copy(value), "tensorflow", None)
    if isinstance(value, numbers.Real):
        return SCALAR, float(value)
    if isinstance(value, (list, tuple)):
        return HISTOGRAM, (_array_copy(value), "tensorflow", None)
    raise PointError(
        "value",
        f"value of type {t.__name__} is not a number, str, array or tensor: {_short(value)}",
    )


def _on_host(value: Any) -> Any:
    """A torch tensor as a host numpy array (recognised by module name, torch never imported)."""
    if type(value).__module__.startswith("torch"):
        return value.detach().cpu().numpy()
    return value


def _scalar(value: Any) -> float:
    try:
        return float(_on_host(value))
    except (TypeError, ValueError, RuntimeError) as exc:
        raise PointError("value", f"value is not a scalar number: {_short(value)}") from exc


def _array_copy(value: Any) -> Any:
    import numpy as np

    try:
        array = np.array(_on_host(value), dtype=np.float64, copy=True)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise PointError("value", f"value is not an array of numbers: {_short(value)}") from exc
    if array.ndim == 0:
        array = array.reshape(1)
    return array


def snapshot(value: Any) -> Any:
    """Return a numpy copy of an array or tensor, keeping its dtype (images depend on it)."""
    import numpy as np

    return np.array(_on_host(value), copy=True)


def metric_points(
    metrics: Any, prefix: str | None, step: int | None, walltime: float | None
) -> tuple[list[Point], list[PointError]]:
    """Turn a ``metrics`` mapping into scalar points; bad entries are returned, not raised."""
    if not isinstance(metrics, Mapping):
        bad = PointError("metrics", f"metrics must be a mapping of numbers, got {_short(metrics)}")
        return [], [bad]
    points: list[Point] = []
    errors: list[PointError] = []
    for name, value in metrics.items():
        if not (isinstance(name, str) and name):
            reason = f"metrics keys must be non-empty str, got {_short(name)}"
            errors.append(PointError("metrics-key", reason))
            continue
        try:
            kind, payload = classify(value)
        except PointError:
            kind = None
        if kind != SCALAR:
            reason = f"metrics[{name!r}] must be a number, got {_short(value)}"
            errors.append(PointError("metrics-value", reason))
            continue
        points.append((SCALAR, f"{prefix}/{name}" if prefix else name, payload, step, walltime))
    return points, errors


def read_payload(
    get: Any, default_walltime: float | None
) -> tuple[list[Point], list[PointError]] | None:
    """Read tag/value/step/walltime/kind/metrics through ``get(key, default)``.

    Returns None when the source carries neither ``value`` nor ``metrics`` (a plain message),
    else the points and the problems found. Shared by the handler and the structlog processor.
    """
    value = get("value", MISSING)
    metrics = get("metrics", MISSING)
    if value is MISSING and metrics is MISSING:
        return None
    errors: list[PointError] = []
    try:
        step = check_step(get("step", None))
        walltime = check_walltime(get("walltime", None))
    except PointError as exc:
        return [], [exc]
    if walltime is None:
        walltime = default_walltime
    points: list[Point] = []
    tag = get("tag", None)
    if value is not MISSING:
        try:
            checked = check_tag(tag)
            kind, payload = classify(value, get("kind", None))
            points.append((kind, checked, payload, step, walltime))
        except PointError as exc:
            errors.append(exc)
    if metrics is not MISSING:
        prefix = tag if isinstance(tag, str) and tag and value is MISSING else None
        more, bad = metric_points(metrics, prefix, step, walltime)
        points.extend(more)
        errors.extend(bad)
    return points, errors
