"""The peers' argument conventions (tensorboardX's and torch's orders and types) made tblog's.

The constructor's forms (``comment=None``, ``flush_secs=0``), float steps, one-element values,
image layouts, proto bytes, walltimes, sample rates, image lists, torch's positional flags of
``add_scalar``, and the positional orders of ``add_image_with_boxes`` and ``add_hparams``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from typing import Any

from tblog._values import Point, check_step, check_tag, check_walltime, classify, snapshot

#: The period of a writer made with ``flush_secs=0`` (the peers' "write at once").
FASTEST_FLUSH_SECS = 0.05


def writer_arguments(
    comment: Any, flush_secs: Any, filename_suffix: Any, purge_step: Any
) -> tuple[str, Any, int | None]:
    """The constructor's ``comment``, ``flush_secs`` and checked ``purge_step``, the peers' way.

    ``comment=None`` is no comment (tensorboardX); ``flush_secs=0`` writes as often as tblog
    does at most, every ``FASTEST_FLUSH_SECS``. Other ``flush_secs`` are checked later, with
    the writer options.

    Raises:
        TypeError: ``comment`` or ``filename_suffix`` is not a str.
        ValueError: ``purge_step`` is not an int >= 0 or None.
    """
    if comment is None:
        comment = ""
    if type(flush_secs) in (int, float) and flush_secs == 0:
        flush_secs = FASTEST_FLUSH_SECS
    for name, value in (("comment", comment), ("filename_suffix", filename_suffix)):
        if not isinstance(value, str):
            msg = f"{name} must be a str, got {type(value).__name__}"
            raise TypeError(msg)
    try:
        purge = check_step(purge_step)
    except ValueError:
        msg = f"purge_step must be an int >= 0 or None, got {purge_step!r}"
        raise ValueError(msg) from None
    return comment, flush_secs, purge


def parsed(convert: Callable[[Any], Any], message: Any, what: str) -> Any:
    """``convert(message)`` (``as_summary``, ``as_event``), protobuf's DecodeError as ValueError."""
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped, unused-ignore]

    try:
        return convert(message)
    except DecodeError as exc:
        msg = f"the bytes given are no serialized {what}: {exc}"
        raise ValueError(msg) from None


def checked_when(
    step: Any, walltime: Any, defaults: tuple[int | None, float | None] | None = None
) -> tuple[int | None, float | None]:
    """A call's step and walltime in any of the peers' forms, checked (None: resolved later).

    ``defaults`` (a writer's ``use_metadata``) stand in for a step or walltime not given.

    Raises:
        ValueError: A bad step or walltime (the message names it).
    """
    if defaults is not None:
        step = defaults[0] if step is None else step
        walltime = defaults[1] if walltime is None else walltime
    return check_step(peer_step(step)), check_walltime(peer_walltime(walltime))


def checked_scalar(value: Any) -> tuple[int, Any]:
    """A scalar value in any of the peers' forms (a one-element tensor too) as kind and payload.

    Raises:
        ValueError: The value is no number.
    """
    return classify(one_element(value), "scalar")


def scalar_points(
    values: Mapping[Any, Any], prefix: str, step: int | None, walltime: float | None
) -> list[Point]:
    """Checked scalar points of ``{key: value}``, tagged ``prefix + key``, raising at a bad one.

    Raises:
        ValueError: A key is no tag, or a value no number (the message names it).
    """
    points: list[Point] = []
    for key, value in values.items():
        kind, number = checked_scalar(value)
        points.append((kind, prefix + check_tag(key), number, step, walltime))
    return points


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

_BOXES_TORCH = ("rescale", "dataformats", "labels")


def peer_walltime(walltime: Any) -> Any:
    """A numpy number or one-element array/tensor walltime as the float the peers write.

    Anything else is returned as it is, for ``check_walltime`` to take or reject.
    """
    if walltime is None or type(walltime) is float:
        return walltime
    if type(walltime).__module__.startswith(("numpy", "torch")):
        with contextlib.suppress(TypeError, ValueError, RuntimeError, OverflowError):
            return float(one_element(walltime))
    return walltime


def whole_number(value: Any) -> int | None:
    """An int-valued number (int, float, numpy or 0-d tensor) as an int; None for others."""
    if isinstance(value, bool | str | bytes):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, RuntimeError, OverflowError):  # RuntimeError: torch's
        return None
    if not math.isfinite(number) or not number.is_integer():
        return None
    return int(number)


def sample_rate(value: Any) -> int:
    """An audio sample rate in any whole-number form (``16e3``, a 0-d tensor) as torch takes it.

    Raises:
        ValueError: Not a whole number >= 1 and < 2**32 (a WAV header holds 32 bits).
    """
    rate = whole_number(value)
    if rate is None or not 1 <= rate < 2**32:
        msg = f"sample_rate must be a whole number >= 1 and < 2**32, got {value!r}"
        raise ValueError(msg)
    return rate


def scalar_arguments(
    display_name: Any, description: Any, new_style: bool, double_precision: bool
) -> tuple[Any, Any, bool, bool]:
    """``add_scalar``'s extras by name: tensorboardX's ``display_name, summary_description``.

    A bool in ``display_name``'s place is torch's positional ``new_style`` (and then the next
    one its ``double_precision``).
    """
    if isinstance(display_name, bool):
        return "", "", display_name, bool(description)
    return display_name, description, new_style, double_precision


def stacked_images(images: Any, dataformats: Any) -> tuple[Any, str]:
    """A list of CHW or HWC images as one NCHW/NHWC array and its ``dataformats``.

    Raises:
        ValueError: ``dataformats`` is not CHW or HWC (an ``N`` prefix is taken).
    """
    each = dataformats.upper().removeprefix("N") if isinstance(dataformats, str) else None
    if each not in {"CHW", "HWC"}:
        msg = f"a list of images needs dataformats CHW or HWC, got {dataformats!r}"
        raise ValueError(msg)
    import numpy as np

    return np.stack([snapshot(image) for image in images]), "N" + each


def boxes_arguments(
    args: tuple[Any, ...], rescale: Any, dataformats: Any, labels: Any
) -> tuple[Any, Any, Any]:
    """``add_image_with_boxes``' ``rescale, dataformats, labels``, positional ones taken first.

    The positional ones come after ``walltime``: tensorboardX's are ``(dataformats, labels)``,
    torch's ``(rescale, dataformats, labels)``; a str first is read as ``dataformats``. Those
    not given positionally keep the keyword values.

    Raises:
        TypeError: Too many positional arguments.
    """
    if not args:
        return rescale, dataformats, labels
    names = ("dataformats", "labels") if isinstance(args[0], str) else _BOXES_TORCH
    if len(args) > len(names):
        msg = f"add_image_with_boxes takes at most {5 + len(names)} positional arguments"
        raise TypeError(msg)
    given = dict(zip(names, args, strict=False))
    return (
        given.get("rescale", rescale),
        given.get("dataformats", dataformats),
        given.get("labels", labels),
    )


def hparams_arguments(
    args: tuple[Any, ...], domain: Any, name: Any, step: Any
) -> tuple[Any, Any, Any]:
    """``add_hparams``' domain, session name and step, positional ones after the dicts first.

    tensorboardX's are ``(name, step)``, torch's ``(domain, run_name, step)``: a positional
    ``run_name`` is the session's name. Those not given positionally keep the keyword values.

    Raises:
        TypeError: Too many positional arguments.
    """
    if not args:
        return domain, name, step
    torch_order = isinstance(args[0], Mapping) or len(args) == 3
    torch_order = torch_order or (len(args) == 2 and isinstance(args[1], str))
    names = ("domain", "run_name", "step") if torch_order else ("name", "step")
    if len(args) > len(names):
        msg = "add_hparams takes at most 5 positional arguments"
        raise TypeError(msg)
    given = dict(zip(names, args, strict=False))
    named = given.get("name", given.get("run_name", name))
    return given.get("domain", domain), named, given.get("step", step)
