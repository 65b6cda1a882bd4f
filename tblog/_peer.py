"""The peers' argument conventions: float steps, one-element values, image layouts, proto bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def parsed(convert: Callable[[Any], Any], message: Any, what: str) -> Any:
    """``convert(message)`` (``as_summary``, ``as_event``), protobuf's DecodeError as ValueError."""
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped, unused-ignore]

    try:
        return convert(message)
    except DecodeError as exc:
        msg = f"the bytes given are no serialized {what}: {exc}"
        raise ValueError(msg) from None


def peer_step(step: Any) -> Any:
    """A float step (``3.0``, ``np.float32(3)``, a float tensor) as the int the peers write.

    tensorboardX and torch store ``int(step)``, so a one-element tensor or array
    (``torch.tensor([7.0])``) is taken too; anything else is returned as it is, for
    ``check_step`` to take or reject.
    """
    if step is None or type(step) is int or isinstance(step, str | bytes | bool):
        return step
    if type(step).__module__.startswith(("numpy", "torch")):
        step = one_element(step)
    if isinstance(step, float) or (
        type(step).__module__.startswith(("numpy", "torch"))
        and getattr(step, "ndim", 0) == 0
        and "float" in str(getattr(step, "dtype", ""))
    ):
        try:
            return int(step)
        except (ValueError, OverflowError):  # NaN or inf: check_step names the bad step
            return step
    return step


# The layouts the peers' image encoder takes, by number of dimensions (any letter order).
_IMAGE_LETTERS = {4: frozenset("NCHW"), 3: frozenset("CHW"), 2: frozenset("HW")}


def check_image_layout(shape: Any, dataformats: Any) -> None:
    """Raise ValueError unless ``dataformats`` names each dimension of an image of ``shape``.

    The peers' checks, made at the call: distinct letters, one per dimension, NCHW / CHW / HW
    in any order (upper or lower case).
    """
    letters = dataformats.upper() if isinstance(dataformats, str) else None
    ndim = len(shape) if isinstance(shape, tuple) else -1
    if (
        letters is None
        or len(letters) != ndim
        or frozenset(letters) != _IMAGE_LETTERS.get(ndim)
        or 0 in shape
    ):
        msg = f"dataformats {dataformats!r} does not fit an image of shape {shape}"
        raise ValueError(msg)


def one_element(value: Any) -> Any:
    """A one-element array or tensor (shape ``(1,)``, ``(1, 1)``) as a 0-d one, as the peers take.

    Other values are returned as they are.
    """
    shape = getattr(value, "shape", None)
    if type(value) in _PLAIN or not shape or not isinstance(shape, tuple | list):
        return value
    if all(n == 1 for n in shape):
        return value.reshape(())
    return value


_PLAIN = frozenset((float, int, bool, str))
