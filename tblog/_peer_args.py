"""Arguments in the peers' forms (tensorboardX's and torch's orders and types) made tblog's."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping
from typing import Any

from tblog._values import snapshot
from tblog.writer import one_element

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


def boxes_arguments(args: tuple[Any, ...]) -> dict[str, Any]:
    """``add_image_with_boxes``' positional arguments after ``walltime``, by name.

    tensorboardX's are ``(dataformats, labels)``, torch's ``(rescale, dataformats, labels)``:
    a str first is read as ``dataformats``.

    Raises:
        TypeError: Too many positional arguments.
    """
    names = ("dataformats", "labels") if isinstance(args[0], str) else _BOXES_TORCH
    if len(args) > len(names):
        msg = f"add_image_with_boxes takes at most {5 + len(names)} positional arguments"
        raise TypeError(msg)
    return dict(zip(names, args, strict=False))


def hparams_arguments(args: tuple[Any, ...]) -> dict[str, Any]:
    """``add_hparams``' positional arguments after the dicts, by name.

    tensorboardX's are ``(name, step)``, torch's ``(domain, run_name, step)``.

    Raises:
        TypeError: Too many positional arguments.
    """
    torch_order = isinstance(args[0], Mapping) or len(args) == 3
    torch_order = torch_order or (len(args) == 2 and isinstance(args[1], str))
    names = ("domain", "run_name", "step") if torch_order else ("name", "step")
    if len(args) > len(names):
        msg = "add_hparams takes at most 5 positional arguments"
        raise TypeError(msg)
    return dict(zip(names, args, strict=False))
