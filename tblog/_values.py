"""Validate and classify the values a record or event carries, without importing numpy or torch."""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Mapping
from typing import Any

from tblog._kinds import HISTOGRAM, SCALAR, TEXT

KINDS = {"scalar": SCALAR, "text": TEXT, "histogram": HISTOGRAM}
MISSING: Any = object()  # a key that is absent, as opposed to present with None
_BIG_INT = 2**1023  # smaller ints convert to float; larger ones are checked by float() itself

# A point as it travels to the writer: (kind, tag, payload, step or None, walltime or None).
Point = tuple[int, str, Any, "int | None", "float | None"]


class PointError(ValueError):
    """A value, tag or step that cannot become a point; ``reason`` is its one-line description."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


def safe_repr(value: Any) -> str:
    """``repr(value)`` that never raises: a broken ``__repr__`` gives ``<Type object>``."""
    try:
        return str.__str__(repr(value))
    except Exception:  # noqa: BLE001 - any __repr__ may fail; the message must still be made
        return f"<{_type_name(value)} object>"


def _short(value: Any) -> str:
    """``safe_repr(value)``, cut to 60 characters."""
    text = safe_repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _type_name(value: Any) -> str:
    try:
        return str.__str__(type(value).__name__)
    except Exception:  # noqa: BLE001 - a metaclass may break even __name__
        return "object"


def describe(exc: BaseException) -> str:
    """``"TypeName: message"`` of an exception; never raises (its ``__str__`` may)."""
    try:
        text = str.__str__(str(exc))
    except Exception:  # noqa: BLE001 - an exception raised by user code may not print
        text = ""
    name = _type_name(exc)
    return f"{name}: {text}" if text else name


def plain_str(value: str) -> str:
    """The exact ``str`` a str subclass holds (``np.str_``, a ``(str, Enum)`` member ...).

    ``str(member)`` of a str-mixin Enum is ``"Cls.NAME"`` on some Python versions; this is the
    underlying string on all of them, and no method of the subclass is called.
    """
    return value if type(value) is str else str.__str__(value)


def check_tag(tag: Any) -> str:
    """Return ``tag`` as a plain str if it is a non-empty str (or subclass); else PointError."""
    if type(tag) is str:
        if tag:
            return tag
    elif isinstance(tag, str):
        plain = str.__str__(tag)
        if plain:
            return plain
    raise PointError("tag", f"tag must be a non-empty str, got {_short(tag)}")


#: The largest step TensorBoard can show: steps are int64 in its protos (2**63 shows negative).
MAX_STEP = 2**63 - 1


def check_step(step: Any) -> int | None:
    """Return ``step`` as an int (None stays None); reject negatives, bools and non-integers.

    A step must fit TensorBoard's int64 steps: 0 <= step <= 2**63 - 1.
    """
    if step is None:
        return None
    if type(step) is int:
        if 0 <= step <= MAX_STEP:
            return step
    elif not isinstance(step, bool):
        number = _as_int(step)
        if number is not None and 0 <= number <= MAX_STEP:
            return number
    raise PointError("step", f"step must be an int >= 0 and < 2**63, got {_short(step)}")


def _as_int(value: Any) -> int | None:
    """An integral number (Python, numpy or 0-d torch) as an int; None for anything else."""
    try:
        if isinstance(value, numbers.Integral):
            return int(value)
        module = type(value).__module__
        numeric = isinstance(module, str) and module.startswith(("numpy", "torch"))
        if numeric and getattr(value, "ndim", 0) == 0:
            number = int(value)
            return number if float(value) == number else None
    except Exception:  # noqa: BLE001 - any conversion of a user object may fail: not a step
        return None
    return None


def check_walltime(walltime: Any) -> float | None:
    """Return ``walltime`` as finite float seconds since the epoch (None stays None)."""
    if walltime is None:
        return None
    if isinstance(walltime, (int, float)) and not isinstance(walltime, bool):
        try:
            seconds = float(walltime)
        except Exception:  # noqa: BLE001 - beyond float range, or a broken __float__
            seconds = math.nan
        if math.isfinite(seconds):
            return seconds
    reason = f"walltime must be finite float seconds, got {_short(walltime)}"
    raise PointError("walltime", reason)


def classify(value: Any, kind: Any = None) -> tuple[int, Any]:
    """Return (point kind, payload) for a record's ``value``, honouring a forced ``kind``.

    int, float, bool, numpy scalars and 0-d arrays or tensors become scalars (NaN and inf are
    kept), str (and its subclasses, as a plain str) becomes text, arrays, tensors and lists of
    numbers with ndim >= 1 become histograms, whose payload is (values, bins, max_bins) with the
    values copied here, so later in-place updates by the caller do not change what is written.
    A forced ``"scalar"`` takes a number only (no str), ``"histogram"`` an array-like (no str).

    Raises:
        PointError: The value cannot be of that kind, or ``kind`` is unknown. Nothing else: a
            value whose conversions raise (a broken ``__float__``, ``__len__`` ...) is a
            PointError too.
    """
    t = type(value)
    if kind is None:
        if t is float or (t is int and -_BIG_INT < value < _BIG_INT):
            return SCALAR, value
        if t is str:
            return TEXT, value
    try:
        return _classify(value, kind)
    except PointError:
        raise
    except Exception as exc:  # whatever a user object raises, it is bad input
        reason = f"value {_short(value)} cannot be read: {describe(exc)}"
        raise PointError("value", reason) from exc


def _classify(value: Any, kind: Any) -> tuple[int, Any]:  # noqa: PLR0911 - one per kind
    if kind is not None:
        forced = KINDS.get(plain_str(kind)) if isinstance(kind, str) else None
        if forced is None:
            raise PointError("kind", f"kind must be one of {sorted(KINDS)}, got {_short(kind)}")
        if forced == TEXT:
            return TEXT, plain_str(value if isinstance(value, str) else str(value))
        _refuse_complex(value)
        if forced == HISTOGRAM:
            return HISTOGRAM, (_array_copy(value), "tensorflow", None)
        return SCALAR, _scalar(value)
    if isinstance(value, str):  # a subclass: np.str_, a (str, Enum) member
        return TEXT, plain_str(value)
    t = type(value)
    if t is bool:
        return SCALAR, float(value)
    module = t.__module__
    if isinstance(module, str) and module.startswith(("numpy", "torch", "jax")):
        _refuse_complex(value)
        ndim = getattr(value, "ndim", 0)
        if ndim == 0:
            return SCALAR, _scalar(value)
        return HISTOGRAM, (_array_copy(value), "tensorflow", None)
    if isinstance(value, numbers.Real):
        return SCALAR, _scalar(value)
    if isinstance(value, (list, tuple)):
        return HISTOGRAM, (_array_copy(value), "tensorflow", None)
    raise PointError(
        "value",
        f"value of type {_type_name(value)} is not a number, str, array or tensor: {_short(value)}",
    )


def _refuse_complex(value: Any) -> None:
    """Raise PointError for a complex number or array (numpy, torch, jax), as for ``complex``.

    Converting one to float would keep its real part and drop the rest with only numpy's
    ComplexWarning; TensorBoard shows real numbers.
    """
    if "complex" in str(getattr(value, "dtype", "")):
        reason = f"value is complex, and TensorBoard shows real numbers: {_short(value)}"
        raise PointError("value", reason)


def check_number(value: Any) -> Any:
    """Return the scalar payload of ``value`` (a number), or raise PointError.

    The payload is the value itself for an int or float, else a float.
    """
    kind, payload = classify(value)
    if kind != SCALAR:
        raise PointError("value", f"value must be a number, got {_short(value)}")
    return payload


def _on_host(value: Any) -> Any:
    """A torch tensor as a host numpy array (recognised by module name, torch never imported)."""
    if type(value).__module__.startswith("torch"):
        tensor = value.detach().cpu()
        if str(tensor.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            tensor = tensor.float()
        return tensor.numpy()
    return value


def _scalar(value: Any) -> float:
    if isinstance(value, (str, bytes)):
        raise PointError("value", f"value is not a scalar number (a str): {_short(value)}")
    try:
        return float(_on_host(value))
    except OverflowError as exc:
        reason = f"value is not a scalar number (beyond float range): {_short(value)}"
        raise PointError("value", reason) from exc
    except Exception as exc:  # a broken __float__ is a bad value, like any other
        raise PointError("value", f"value is not a scalar number: {_short(value)}") from exc


def _array_copy(value: Any) -> Any:
    import numpy as np

    if isinstance(value, (str, bytes)):
        raise PointError("value", f"value is not an array of numbers (a str): {_short(value)}")
    try:
        array = np.array(_on_host(value), dtype=np.float64, copy=True)
    except Exception as exc:  # ragged, non-numeric, beyond float64, broken ...
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
    """Turn a ``metrics`` mapping into scalar points; bad entries are returned, not raised.

    ``prefix`` must already be checked (``check_tag``); keys become plain str tags.
    """
    if not isinstance(metrics, Mapping):
        bad = PointError("metrics", f"metrics must be a mapping of numbers, got {_short(metrics)}")
        return [], [bad]
    try:
        items = list(metrics.items())
    except Exception as exc:  # noqa: BLE001 - a user Mapping may fail to iterate
        return [], [PointError("metrics", f"metrics cannot be read: {describe(exc)}")]
    points: list[Point] = []
    errors: list[PointError] = []
    for name, value in items:
        try:
            key = check_tag(name)
        except PointError:
            reason = f"metrics keys must be non-empty str, got {_short(name)}"
            errors.append(PointError("metrics-key", reason))
            continue
        try:
            payload = check_number(value)
        except PointError:
            reason = f"metrics[{key!r}] must be a number, got {_short(value)}"
            errors.append(PointError("metrics-value", reason))
            continue
        points.append((SCALAR, f"{prefix}/{key}" if prefix else key, payload, step, walltime))
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
        prefix = None
        if value is MISSING and isinstance(tag, str):
            with contextlib.suppress(PointError):  # an empty tag is no prefix, as before
                prefix = check_tag(tag)
        more, bad = metric_points(metrics, prefix, step, walltime)
        points.extend(more)
        errors.extend(bad)
    return points, errors
