"""Encode points into framed TensorBoard event records (runs on the writer thread only)."""

from __future__ import annotations

import itertools
import math
import re
import struct
import time
from collections.abc import Callable, Mapping
from typing import Any

from crc32c import crc32c

from tblog._kinds import EVENT, HISTOGRAM, LOG, SUMMARY, TEXT

_U64 = struct.Struct("<Q").pack
_U32 = struct.Struct("<I").pack
_MASK_DELTA = 0xA282EAD8
_FLOAT32_MAX = 3.4028234663852886e38

FILE_VERSION = "brain.Event:2"
_BACKTICKS = re.compile("`+")


def masked_crc(data: bytes) -> int:
    """Return the masked CRC32C that TFRecord framing stores after the length and the data."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """Frame one serialized Event as a TFRecord: length, its CRC, the data, the data's CRC."""
    header = _U64(len(data))
    return header + _U32(masked_crc(header)) + data + _U32(masked_crc(data))


def varint(n: int) -> bytes:
    """Encode a non-negative int as a protobuf varint."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _len_delimited(field_key: int, payload: bytes) -> bytes:
    return bytes((field_key,)) + varint(len(payload)) + payload


def _scalar_tail(tag: str) -> bytes:
    """The bytes of a scalar Event after its step: Summary{Value{tag, simple_value key}}."""
    # Value{tag=1, simple_value=2 (fixed32)}, in Summary{value=1}, in Event{summary=5}
    value_head = _len_delimited(0x0A, tag.encode("utf-8")) + b"\x15"
    value_len = len(value_head) + 4
    summary_len = 1 + len(varint(value_len)) + value_len
    return b"\x2a" + varint(summary_len) + b"\x0a" + varint(value_len) + value_head


def _framed_header(size: int) -> bytes:
    """The length and length-CRC that frame a record of ``size`` bytes."""
    header = _U64(size)
    return header + _U32(masked_crc(header))


def _clamp_f32(value: Any) -> float:
    """Map a finite value beyond float32's range to +-inf, as a float32 cast does."""
    number = float(value)
    if math.isfinite(number) and abs(number) > _FLOAT32_MAX:
        return math.copysign(math.inf, number)
    return number


class ScalarEncoder:
    """Build scalar Events by hand: the hot path, under 1 us each with per-tag caches.

    The bytes are those of ``Event(wall_time, step, summary=Summary(value=[Value(tag,
    simple_value)]))``, the layout tensorboardX and torch write for ``add_scalar``. For each
    (tag, width of the step's varint) one ``struct.Struct`` packs the whole event in one call,
    the varint's bytes as ``B`` fields, and the framed length header (with its CRC) is computed
    once, as the length is fixed.
    """

    def __init__(self) -> None:
        # tag -> [None, entry for 1-byte steps, ..., entry for 10-byte steps]
        self._tags: dict[str, list[tuple[Callable[..., bytes], bytes, bytes] | None]] = {}

    def _entry(self, tag: str, width: int) -> tuple[Callable[..., bytes], bytes, bytes]:
        entries = self._tags.setdefault(tag, [None] * 11)
        rest = _scalar_tail(tag)
        # wall_time (key 0x09, double), step (key 0x10, varint), the rest, simple_value (float)
        step_format = "B" * width if width <= 4 else f"{width}s"
        packer = struct.Struct(f"<BdB{step_format}{len(rest)}sf")
        entry = (packer.pack, _framed_header(packer.size), rest)
        entries[width] = entry
        return entry

    def encode(self, tag: str, value: float, step: int, walltime: float) -> bytes:
        """Return the framed record of one scalar point."""
        entries = self._tags.get(tag)
        try:
            if step < 0x80:
                entry = entries[1] if entries else None
                pack, header, rest = entry or self._entry(tag, 1)
                data = pack(9, walltime, 0x10, step, rest, value)
            elif step < 0x4000:
                entry = entries[2] if entries else None
                pack, header, rest = entry or self._entry(tag, 2)
                data = pack(9, walltime, 0x10, (step & 0x7F) | 0x80, step >> 7, rest, value)
            elif step < 0x200000:
                entry = entries[3] if entries else None
                pack, header, rest = entry or self._entry(tag, 3)
                data = pack(
                    9,
                    walltime,
                    0x10,
                    (step & 0x7F) | 0x80,
                    ((step >> 7) & 0x7F) | 0x80,
                    step >> 14,
                    rest,
                    value,
                )
            else:
                v = varint(step)
                entry = entries[len(v)] if entries else None
                pack, header, rest = entry or self._entry(tag, len(v))
                data = pack(9, walltime, 0x10, *(v if len(v) <= 4 else (v,)), rest, value)
        except (OverflowError, struct.error):
            clamped = _clamp_f32(value)
            if clamped == value:  # not the value's range: a bad step or walltime
                raise
            return self.encode(tag, clamped, step, walltime)
        crc = crc32c(data)
        return header + data + _U32((((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF)


class BatchScalarEncoder:
    """Encode many scalar points at once with numpy: the writer thread's usual work.

    Points are grouped by tag with a stable sort (readers need step order within a tag, not
    across tags), split into runs of equal step-varint width, and each run is laid out as one
    packed numpy record array holding whole framed records; only the CRC32C of each record is a
    Python-level call. Anything numpy cannot take (an int beyond float64) falls back to
    ``ScalarEncoder`` point by point.
    """

    def __init__(self, single: ScalarEncoder) -> None:
        import numpy as np

        self._np = np
        self._single = single
        self._layouts: dict[tuple[str, int], tuple[Any, bytes, bytes]] = {}
        self._powers = np.array([1 << (7 * k) for k in range(1, 10)], dtype=np.uint64)

    def encode(
        self,
        tags: tuple[str, ...],
        values: tuple[Any, ...],
        steps: tuple[int, ...],
        walls: tuple[float, ...],
    ) -> list[bytes]:
        """Return framed records for the points (tags[i], values[i], steps[i], walls[i])."""
        n = len(tags)
        if n < 8:
            return [self._single.encode(*p) for p in zip(tags, values, steps, walls, strict=True)]
        np = self._np
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                value_arr = np.array(values, dtype=np.float64).astype(np.float32)
            step_arr = np.array(steps, dtype=np.uint64)
            wall_arr = np.array(walls, dtype=np.float64)
        except (OverflowError, ValueError, TypeError):
            return [self._single.encode(*p) for p in zip(tags, values, steps, walls, strict=True)]
        first = tags[0]
        if tags.count(first) == n:
            groups: list[tuple[str, Any]] = [(first, None)]
        else:
            order = sorted(range(n), key=tags.__getitem__)  # stable: keeps each tag's order
            groups = []
            start = 0
            for i in range(1, n + 1):
                if i == n or tags[order[i]] != tags[order[start]]:
                    groups.append((tags[order[start]], np.array(order[start:i])))
                    start = i
        out: list[bytes] = []
        for tag, index in groups:
            if index is None:
                g_steps, g_walls, g_values = step_arr, wall_arr, value_arr
            else:
                g_steps, g_walls, g_values = step_arr[index], wall_arr[index], value_arr[index]
            widths = 1 + np.searchsorted(self._powers, g_steps, side="right")
            cuts = np.flatnonzero(widths[1:] != widths[:-1]) + 1
            bounds = [0, *cuts.tolist(), len(widths)]
            for lo, hi in itertools.pairwise(bounds):
                out.append(
                    self._run(tag, int(widths[lo]), g_steps[lo:hi], g_walls[lo:hi], g_values[lo:hi])
                )
        return out

    def _layout(self, tag: str, width: int) -> tuple[Any, bytes, bytes]:
        key = (tag, width)
        layout = self._layouts.get(key)
        if layout is None:
            np = self._np
            rest = _scalar_tail(tag)
            size = 1 + 8 + 1 + width + len(rest) + 4
            dtype = np.dtype(
                [
                    ("header", "V12"),
                    ("wall_key", "u1"),
                    ("wall", "<f8"),
                    ("step_key", "u1"),
                    ("step", "u1", (width,)),
                    ("rest", f"V{len(rest)}"),
                    ("value", "<f4"),
                    ("crc", "<u4"),
                ]
            )
            layout = self._layouts[key] = (dtype, _framed_header(size), rest)
        return layout

    def _run(self, tag: str, width: int, steps: Any, walls: Any, values: Any) -> bytes:
        np = self._np
        dtype, header, rest = self._layout(tag, width)
        records = np.empty(len(steps), dtype=dtype)
        records["header"] = np.void(header)
        records["wall_key"] = 0x09
        records["wall"] = walls
        records["step_key"] = 0x10
        step_bytes = records["step"]
        for k in range(width):
            byte = (steps >> np.uint64(7 * k)) & np.uint64(0x7F)
            step_bytes[:, k] = byte | np.uint64(0x80) if k < width - 1 else byte
        records["rest"] = np.void(rest)
        records["value"] = values
        view = memoryview(records).cast("B")
        record_size = dtype.itemsize
        data_size = record_size - 16
        crcs = np.array(
            [crc32c(view[o : o + data_size]) for o in range(12, len(view), record_size)],
            dtype=np.uint64,
        )
        records["crc"] = (((crcs >> np.uint64(15)) | (crcs << np.uint64(17))) + _MASK_DELTA) & (
            0xFFFFFFFF
        )
        return bytes(records.tobytes())


class ProtoEncoder:
    """Build every other kind with tensorboardX's protos and summary builders.

    Constructing it imports tensorboardX and numpy: do it before the writer thread starts, so a
    fork never catches the thread half-way through an import.
    """

    def __init__(self) -> None:
        import numpy as np
        from tensorboardX import summary as tbx_summary
        from tensorboardX.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2
        from tensorboardX.proto.plugin_text_pb2 import TextPluginData

        self._np = np
        self._summary = tbx_summary
        self._event_pb2 = event_pb2
        self._summary_pb2 = summary_pb2
        self._tensor_pb2 = tensor_pb2
        self._shape_pb2 = tensor_shape_pb2
        self._text_metadata = summary_pb2.SummaryMetadata(
            plugin_data=summary_pb2.SummaryMetadata.PluginData(
                plugin_name="text", content=TextPluginData(version=0).SerializeToString()
            )
        )
        self._default_bins: list[float] | None = None

    def file_version(self) -> bytes:
        """Return the framed first record every event file starts with."""
        event = self._event_pb2.Event(wall_time=time.time(), file_version=FILE_VERSION)
        return frame(event.SerializeToString())

    def event(self, kind: int, tag: str, payload: Any, step: int, walltime: float) -> bytes:
        """Return the framed record of one non-scalar point."""
        if kind == EVENT:
            return frame(payload().SerializeToString())
        if kind == TEXT:
            summary = self.text_summary(tag, payload)
        elif kind == LOG:
            summary = self.text_summary(tag, code_block(payload))
        elif kind == HISTOGRAM:
            values, bins, max_bins = payload
            summary = self.histogram_summary(tag, values, bins, max_bins)
        elif kind == SUMMARY:
            summary = payload()
        else:  # pragma: no cover - kinds are internal constants
            msg = f"unknown point kind {kind}"
            raise ValueError(msg)
        event = self._event_pb2.Event(summary=summary, step=step, wall_time=walltime)
        return frame(event.SerializeToString())

    def text_summary(self, tag: str, text: str) -> Any:
        """Build a text Summary as a 0-d string tensor, which TensorBoard renders as Markdown."""
        tensor = self._tensor_pb2.TensorProto(
            dtype="DT_STRING",
            string_val=[text.encode("utf-8", "replace")],
            tensor_shape=self._shape_pb2.TensorShapeProto(),
        )
        return self._summary_pb2.Summary(
            value=[
                self._summary_pb2.Summary.Value(
                    tag=tag, metadata=self._text_metadata, tensor=tensor
                )
            ]
        )

    def histogram_summary(self, tag: str, values: Any, bins: Any, max_bins: int | None) -> Any:
        """Build a histogram Summary of the finite values (NaN and inf are left out).

        With ``bins="tensorflow"`` every finite value lands in a bucket: the exponential
        buckets end at +-1e20, so the outermost edges are moved out to the data's min and max
        when the data reach beyond them, like TensorFlow's own edge buckets. min, max, num and
        sum are those of the finite values; a sum or sum of squares beyond float64 is inf.
        """
        np = self._np
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        values = values[np.isfinite(values)]
        if values.size == 0:
            return self._summary.histogram_raw(tag, 0.0, 0.0, 0, 0.0, 0.0, [0.0], [0.0])
        low, high = float(values.min()), float(values.max())
        if isinstance(bins, str) and bins == "tensorflow":
            bins = self._tensorflow_bins(low, high)
        counts, limits = np.histogram(values, bins=bins)
        counts, limits = _merge_buckets(np, counts, limits, max_bins)
        # TensorBoard reads bucket_limit[i] as the right edge of bucket i, the left edge of the
        # first bucket being ``min``: keep the non-empty span plus one empty bucket on its left
        # whose right edge is the span's left edge (tensorboardX's layout).
        nonzero = np.flatnonzero(counts)
        first, last = int(nonzero[0]), int(nonzero[-1])
        bucket = [0, *counts[first : last + 1].tolist()]
        bucket_limit = limits[first : last + 2].tolist()
        with np.errstate(over="ignore"):
            total = float(values.sum())
            squares = float(values.dot(values))
        histo = self._summary_pb2.HistogramProto(
            min=low,
            max=high,
            num=int(values.size),
            sum=total,
            sum_squares=squares,
            bucket_limit=bucket_limit,
            bucket=bucket,
        )
        return self._summary_pb2.Summary(
            value=[self._summary_pb2.Summary.Value(tag=tag, histo=histo)]
        )

    def _tensorflow_bins(self, low: float, high: float) -> list[float]:
        """TensorFlow's default edges, stretched out to ``low`` and ``high`` beyond +-1e20."""
        edges = self._default_bins
        if edges is None:
            # Exponential buckets 1e-12 * 1.1**k on both sides of zero, as TensorFlow uses.
            positive = []
            v = 1e-12
            while v < 1e20:
                positive.append(v)
                v *= 1.1
            edges = self._default_bins = [-e for e in reversed(positive)] + [0.0] + positive
        if low < edges[0]:
            edges = [low, *edges]
        if high > edges[-1]:
            edges = [*edges, high]
        return edges


def _merge_buckets(np: Any, counts: Any, limits: Any, max_bins: int | None) -> tuple[Any, Any]:
    """Merge neighbouring buckets so that at most ``max_bins`` remain (None: keep them all)."""
    if max_bins is None:
        return counts, limits
    if type(max_bins) is not int or max_bins < 1:
        shown = max_bins if type(max_bins) is int else type(max_bins).__name__
        msg = f"max_bins must be an int >= 1 or None, got {shown}"
        raise ValueError(msg)
    n = len(counts)
    if n <= max_bins:
        return counts, limits
    group = -(-n // max_bins)  # ceil: at most max_bins groups
    padded = np.pad(counts, (0, -n % group))
    merged = padded.reshape(-1, group).sum(axis=1)
    return merged, np.append(limits[:-1:group], limits[-1])


def code_block(text: str) -> str:
    """Wrap a log line in a Markdown code fence that no backtick run inside it can close."""
    longest = max(map(len, _BACKTICKS.findall(text)), default=0) if "`" in text else 0
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text}\n{fence}"


def constant(proto: Any) -> Callable[[], Any]:
    """Wrap an already built proto as a SUMMARY or EVENT payload."""
    return lambda: proto


def hparams_summaries(
    hparam_dict: Mapping[str, Any], metric_dict: Mapping[str, Any]
) -> tuple[Any, Any, Any]:
    """Return tensorboardX's (experiment, session start, session end) hparams summaries.

    An int outside int64 (``2**70``) is passed as a float: tensorboardX's NaN check fails on
    it, TensorBoard stores every number as a double anyway, and torch stores
    ``float(2**70)`` too.
    """
    from tensorboardX.summary import hparams

    values = {
        key: float(value) if type(value) is int and not -(2**63) <= value < 2**63 else value
        for key, value in hparam_dict.items()
    }
    return hparams(values, dict(metric_dict))  # type: ignore[no-any-return]


def as_summary(summary: Any) -> Any:
    """Return tensorboardX's ``Summary`` of any Summary message, or of its serialized bytes.

    ``torch.utils.tensorboard.summary`` and ``tensorboard.summary`` build
    ``tensorboard.compat.proto`` messages, another class with the same wire format: they are
    read back through their bytes. A class is recognised by its name and ``SerializeToString``,
    so neither torch nor tensorboard is imported here.

    Raises:
        TypeError: ``summary`` is neither a Summary message nor bytes.
    """
    from tensorboardX.proto.summary_pb2 import Summary

    return _as_message(summary, Summary, "summary")


def as_event(event: Any) -> Any:
    """Return tensorboardX's ``Event`` of any Event message, or of its serialized bytes.

    Raises:
        TypeError: ``event`` is neither an Event message nor bytes.
    """
    from tensorboardX.proto.event_pb2 import Event

    return _as_message(event, Event, "event")


def _as_message(message: Any, cls: Any, what: str) -> Any:
    if isinstance(message, cls):
        return message
    if isinstance(message, bytes | bytearray | memoryview):
        return cls.FromString(bytes(message))
    serialize = getattr(message, "SerializeToString", None)
    if type(message).__name__ == cls.__name__ and callable(serialize):
        return cls.FromString(serialize())
    msg = f"{what} must be a {cls.__name__} proto or its bytes, got {type(message).__name__}"
    raise TypeError(msg)
