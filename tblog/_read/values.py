"""Decode what takes the slow path through protobuf: file versions, tensors, text, histograms."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tblog._read.points import Histograms

START = 1  # SessionLog.START


def version_of(text: str) -> float:
    """The number of a ``file_version`` (``brain.Event:2`` -> 2.0); -1.0 if it has none."""
    try:
        return float(text.rsplit("brain.Event:", maxsplit=1)[-1])
    except ValueError:
        return -1.0


#: The largest tensor built from one value repeated: the reader needs scalars and histogram
#: tensors (rows of 3), and a declared shape must never make it allocate more than that.
_MAX_FILLED = 3 * 1024

_DT_HALF = 19
# number dtypes TensorBoard's loader turns into values (tensor_util.make_ndarray):
# dtype -> (the repeated field holding values, or None: tensor_content only; content's type)
_NUMBER_TENSORS: dict[int, tuple[str | None, str]] = {
    1: ("float_val", "<f4"),
    2: ("double_val", "<f8"),
    3: ("int_val", "<i4"),
    4: ("int_val", "<u1"),
    5: ("int_val", "<i2"),
    6: ("int_val", "<i1"),
    9: ("int64_val", "<i8"),
    10: ("bool_val", "?"),
    17: ("int_val", "<u2"),
    _DT_HALF: ("half_val", "<f2"),
    22: (None, "<u4"),
    23: (None, "<u8"),
}


def tensor_array(tensor: Any) -> Any:
    """A numeric TensorProto as a float64 array, or None if it is not numeric."""
    shape = [d.size for d in tensor.tensor_shape.dim]
    if any(size < 0 for size in shape):
        return None  # an unknown dimension: no values TensorBoard can show
    count = math.prod(shape)  # Python ints: a hostile shape cannot overflow
    found = _NUMBER_TENSORS.get(tensor.dtype)
    if found is None:
        return None
    name, content_dtype = found
    if tensor.tensor_content:
        if len(tensor.tensor_content) % np.dtype(content_dtype).itemsize:
            return None
        array = np.frombuffer(tensor.tensor_content, dtype=content_dtype).astype(np.float64)
    elif name is None:
        return None  # TensorBoard's loader reads these types from tensor_content only
    elif tensor.dtype == _DT_HALF:  # half_val holds the float16 bits
        array = np.array(tensor.half_val, dtype=np.uint16).view(np.float16).astype(np.float64)
    else:
        array = np.array(getattr(tensor, name), dtype=np.float64)
    if array.size == 1 and 1 < count <= _MAX_FILLED:
        array = np.repeat(array, count)  # a proto may hold one value for a filled tensor
    if array.size != count:
        return None
    return array.reshape(shape)


def text_of(tensor: Any) -> str:
    """A string tensor as text: one element as it is, a table row per line, cells by tab."""
    shape = [d.size for d in tensor.tensor_shape.dim]
    cells = [s.decode("utf-8", "replace") for s in tensor.string_val]
    if len(cells) <= 1:
        return cells[0] if cells else ""
    if len(shape) >= 2 and shape[-1] > 0:
        width = shape[-1]
        return "\n".join("\t".join(cells[i : i + width]) for i in range(0, len(cells), width))
    return "\n".join(cells)


def add_histogram(hists: Histograms, event: Any, tag: str, histo: Any) -> None:
    """A ``HistogramProto`` value."""
    hists.step.append(event.step)
    hists.wall_time.append(event.wall_time)
    hists.tag.append(tag)
    hists.min.append(histo.min)
    hists.max.append(histo.max)
    hists.num.append(histo.num)
    hists.sum.append(histo.sum)
    hists.sum_squares.append(histo.sum_squares)
    hists.limits.append(np.array(histo.bucket_limit, dtype=np.float64))
    hists.counts.append(np.array(histo.bucket, dtype=np.float64))


def add_tensor_histogram(hists: Histograms, event: Any, tag: str, array: Any) -> None:
    """A TF2 histogram tensor (rows of left edge, right edge, count)."""
    hists.step.append(event.step)
    hists.wall_time.append(event.wall_time)
    hists.tag.append(tag)
    counts = array[:, 2].copy()
    hists.min.append(float(array[0, 0]) if len(array) else 0.0)
    hists.max.append(float(array[-1, 1]) if len(array) else 0.0)
    hists.num.append(float(counts.sum()))
    hists.sum.append(float("nan"))
    hists.sum_squares.append(float("nan"))
    hists.limits.append(array[:, 1].copy())
    hists.counts.append(counts)
