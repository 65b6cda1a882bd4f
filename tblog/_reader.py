"""Read event files back fast, showing what TensorBoard shows (the engine of ``tblog.read``).

A record is ``uint64 length | uint32 masked crc32c(length) | data | uint32 masked crc32c(data)``.
Reading is done in large chunks; in each chunk the record boundaries are found by speculating
that record lengths repeat (one length, or a short cycle of lengths, as writers produce) and
checking the guess for many records at once, so Python touches a record only where the pattern
breaks. Data CRCs are checked in bulk (CRC32C is affine: the XOR of equal-length records has the
XOR of their CRCs, up to a constant), and the common scalar layouts (``simple_value`` as tblog,
tensorboardX and torch write it; float and double scalar tensors as TensorFlow writes them) are
decoded with numpy from one template per layout. Everything else goes through protobuf.

Semantics follow TensorBoard's Python loader (``EventAccumulator``), the one TensorBoard's own
Python API and tbparse use:

* A file ends at a torn record (the rest may still be written: a later read resumes there), at
  a record whose length or data CRC is wrong, and at the end; the run goes on with its next file.
  The Rust data server does the same.
* With ``file_version`` 2 (every modern writer), the first ``SessionLog.START`` of a run opens
  it, and every later START at step ``s`` purges the points written before it at steps ``>= s``,
  in every tag. The Rust server ignores STARTs and drops a tag's points when that tag's step goes
  back; it also keeps only the last point of a repeated step, where the Python loader keeps all.
* Without ``file_version`` 2, an event whose step is below the previous summary event's step
  purges the points of its own tags at steps ``>=`` its step (the Python loader's older rule).
* A record that passes its CRCs but is no ``Event`` raises (the Python loader raises too; the
  Rust server drops the rest of that file).
"""

from __future__ import annotations

import dataclasses
import os
import struct
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

import numpy as np
from crc32c import crc32c
from numpy.lib.stride_tricks import as_strided

from tblog._location import is_event_file, is_url, local_path, open_store
from tblog._record import MASK_DELTA, masked_crc
from tblog._tags import tag_matches

_HEAD = struct.Struct("<QI")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_CHUNK = 1 << 21  # bytes read at a time; a larger record grows the buffer
_MIN_BLOCK = 16  # fewer records of one length are decoded one by one
_MIN_RUN = 48  # shorter repeating runs are gathered with the other short ones
_MAX_TEMPLATES = 8
_MIN_SCALAR = 36  # bytes of the smallest scalar record: an upper bound on a file's points
_COLUMN_TYPES = (
    np.int64,
    np.float64,
    np.float64,
    np.int32,
)  # step, wall_time, value, tag  # layouts tried per block before the rest goes to protobuf
_START = 1  # SessionLog.START

SCALARS = "scalars"
TEXT = "text"
HISTOGRAMS = "histograms"


class NotAnEventError(ValueError):
    """A record passes its CRC checks but is no ``Event`` protocol buffer."""


# ---- where files live: the local disk, or an fsspec filesystem ------------------------------


class Source:
    """Lists directories and opens event files, locally with ``os`` or through fsspec."""

    def __init__(self, fs: Any = None) -> None:
        self.fs = fs

    @classmethod
    def for_path(cls, path: str | os.PathLike[str]) -> tuple[Source, str]:
        """The source of ``path`` and the path as that source names it.

        Raises:
            ModuleNotFoundError: ``path`` is a URL and fsspec or the store's package is missing.
            ValueError: fsspec knows no filesystem for the URL's scheme.
        """
        text = os.fspath(path)
        if not is_url(text):
            return cls(), local_path(text)
        fs, root = open_store(text)
        source = cls(fs)
        source.forget_listings()
        return source, root.rstrip("/") or root

    def forget_listings(self) -> None:
        """Drop the filesystem's cached listings, so that the next one is read afresh.

        fsspec filesystems (s3fs, gcsfs, ...) are shared per process and cache what they list:
        without this, a second read in one process would not see objects uploaded since the
        first. Every listing this class makes calls it first.
        """
        if self.fs is None:
            return
        invalidate = getattr(self.fs, "invalidate_cache", None)
        if invalidate is not None:
            invalidate()

    def isfile(self, path: str) -> bool:
        """True if ``path`` is a file."""
        return bool(self.fs.isfile(path)) if self.fs is not None else os.path.isfile(path)

    def isdir(self, path: str) -> bool:
        """True if ``path`` is a directory."""
        return bool(self.fs.isdir(path)) if self.fs is not None else os.path.isdir(path)

    def exists(self, path: str) -> bool:
        """True if ``path`` exists."""
        return bool(self.fs.exists(path)) if self.fs is not None else os.path.exists(path)

    def event_files(self, directory: str) -> list[str]:
        """The event files directly in ``directory``, in the name order TensorBoard reads them."""
        if self.fs is None:
            return event_files(directory)
        self.forget_listings()
        try:
            entries = self.fs.ls(directory, detail=True)
        except (OSError, ValueError):
            return []
        names = [
            e["name"]
            for e in entries
            if e.get("type") == "file" and is_event_file(e["name"].rsplit("/", 1)[-1])
        ]
        return sorted(names)

    def runs(self, root: str) -> list[tuple[str, str]]:
        """(run name, directory) for ``root`` and every directory below it with event files."""
        if self.fs is None:
            return find_runs(root)
        self.forget_listings()
        found = []
        for directory, _, files in self.fs.walk(root):
            if any(is_event_file(name) for name in files):
                rel = directory[len(root) :].strip("/") if directory != root else ""
                found.append((rel or ".", directory))
        return sorted(found)

    def open(self, path: str) -> IO[bytes]:
        """Open an event file for reading."""
        if self.fs is None:
            return open(path, "rb", buffering=0)
        return self.fs.open(path, "rb")  # type: ignore[no-any-return]


def event_files(run_dir: str | os.PathLike[str]) -> list[str]:
    """The event files directly in ``run_dir``, in the name order TensorBoard reads them."""
    try:
        names = os.listdir(run_dir)
    except OSError:
        return []
    return [
        os.path.join(run_dir, name)
        for name in sorted(names)
        if is_event_file(name) and os.path.isfile(os.path.join(run_dir, name))
    ]


def find_runs(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Return (run name, directory) for ``root`` and every directory below it with event files.

    Names are paths relative to ``root`` with ``/`` separators (``.`` for ``root`` itself), as
    TensorBoard names runs, in sorted order. Symbolic links to directories are followed, as both
    TensorBoard loaders follow them (a run reached through a link is named by the link's path);
    a link back to a directory the walk came through (a loop) is not followed again.
    """
    runs = []
    top = _identity(root)
    ancestors = {os.fspath(root): frozenset([top] if top is not None else [])}
    for directory, dirnames, _ in os.walk(root, followlinks=True):
        chain = ancestors.pop(directory, frozenset())
        kept = []
        for name in sorted(dirnames):
            path = os.path.join(directory, name)
            identity = _identity(path)
            if identity is None or identity in chain:
                continue  # gone, or a loop
            ancestors[path] = chain | {identity}
            kept.append(name)
        dirnames[:] = kept
        if event_files(directory):
            name = os.path.relpath(directory, root).replace(os.sep, "/")
            runs.append((name, directory))
    return sorted(runs)


def _identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(device, inode) of the directory ``path`` names, links followed; None if unreachable."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


# ---- the Event protocol buffer, without importing tensorboardX (which imports torch) --------

_DOUBLE, _FLOAT, _INT64, _UINT64, _INT32, _BOOL, _STRING, _MESSAGE, _BYTES, _UINT32 = (
    1, 2, 3, 4, 5, 8, 9, 11, 12, 13
)  # fmt: skip
_PROTOS: dict[str, Any] = {}
# message -> fields (name, number, type, repeated, message type, in the oneof)
_MESSAGES: dict[str, list[tuple[str, int, int, bool, str, bool]]] = {
    "Event": [
        ("wall_time", 1, _DOUBLE, False, "", False),
        ("step", 2, _INT64, False, "", False),
        ("file_version", 3, _STRING, False, "", True),
        ("graph_def", 4, _BYTES, False, "", True),
        ("summary", 5, _MESSAGE, False, "Summary", True),
        ("log_message", 6, _BYTES, False, "", True),
        ("session_log", 7, _MESSAGE, False, "SessionLog", True),
        ("tagged_run_metadata", 8, _BYTES, False, "", True),
        ("meta_graph_def", 9, _BYTES, False, "", True),
        ("source_metadata", 10, _BYTES, False, "", False),
    ],
    "SessionLog": [
        ("status", 1, _INT32, False, "", False),
        ("checkpoint_path", 2, _STRING, False, "", False),
        ("msg", 3, _STRING, False, "", False),
    ],
    "Summary": [("value", 1, _MESSAGE, True, "Value", False)],
    "Value": [
        ("node_name", 7, _STRING, False, "", False),
        ("tag", 1, _STRING, False, "", False),
        ("metadata", 9, _MESSAGE, False, "SummaryMetadata", False),
        ("simple_value", 2, _FLOAT, False, "", True),
        ("obsolete_old_style_histogram", 3, _BYTES, False, "", True),
        ("image", 4, _BYTES, False, "", True),
        ("histo", 5, _MESSAGE, False, "HistogramProto", True),
        ("audio", 6, _BYTES, False, "", True),
        ("tensor", 8, _MESSAGE, False, "TensorProto", True),
    ],
    "SummaryMetadata": [
        ("plugin_data", 1, _MESSAGE, False, "PluginData", False),
        ("display_name", 2, _STRING, False, "", False),
        ("summary_description", 3, _STRING, False, "", False),
        ("data_class", 4, _INT32, False, "", False),
    ],
    "PluginData": [
        ("plugin_name", 1, _STRING, False, "", False),
        ("content", 2, _BYTES, False, "", False),
    ],
    "HistogramProto": [
        ("min", 1, _DOUBLE, False, "", False),
        ("max", 2, _DOUBLE, False, "", False),
        ("num", 3, _DOUBLE, False, "", False),
        ("sum", 4, _DOUBLE, False, "", False),
        ("sum_squares", 5, _DOUBLE, False, "", False),
        ("bucket_limit", 6, _DOUBLE, True, "", False),
        ("bucket", 7, _DOUBLE, True, "", False),
    ],
    "TensorProto": [
        ("dtype", 1, _INT32, False, "", False),
        ("tensor_shape", 2, _MESSAGE, False, "TensorShapeProto", False),
        ("version_number", 3, _INT32, False, "", False),
        ("tensor_content", 4, _BYTES, False, "", False),
        ("half_val", 13, _INT32, True, "", False),
        ("float_val", 5, _FLOAT, True, "", False),
        ("double_val", 6, _DOUBLE, True, "", False),
        ("int_val", 7, _INT32, True, "", False),
        ("string_val", 8, _BYTES, True, "", False),
        ("scomplex_val", 9, _FLOAT, True, "", False),
        ("int64_val", 10, _INT64, True, "", False),
        ("bool_val", 11, _BOOL, True, "", False),
        ("dcomplex_val", 12, _DOUBLE, True, "", False),
        ("resource_handle_val", 14, _BYTES, True, "", False),
        ("variant_val", 15, _BYTES, True, "", False),
        ("uint32_val", 16, _UINT32, True, "", False),
        ("uint64_val", 17, _UINT64, True, "", False),
    ],
    "TensorShapeProto": [
        ("dim", 2, _MESSAGE, True, "Dim", False),
        ("unknown_rank", 3, _BOOL, False, "", False),
    ],
    "Dim": [("size", 1, _INT64, False, "", False), ("name", 2, _STRING, False, "", False)],
}


def event_class() -> Any:
    """The ``Event`` message class, wire-compatible with TensorBoard's (built once)."""
    found = _PROTOS.get("Event")
    if found is not None:
        return found
    from google.protobuf import (  # type: ignore[import-untyped, unused-ignore]
        descriptor_pb2,
        descriptor_pool,
        message_factory,
    )

    package = "tblog_reader"
    file = descriptor_pb2.FileDescriptorProto(
        name="tblog_reader_event.proto", package=package, syntax="proto3"
    )
    for name, fields in _MESSAGES.items():
        message = file.message_type.add(name=name)
        if any(in_oneof for *_, in_oneof in fields):
            message.oneof_decl.add(name="what" if name == "Event" else "value")
        for field_name, number, kind, repeated, type_name, in_oneof in fields:
            field = message.field.add(name=field_name, number=number, type=kind)
            field.label = 3 if repeated else 1
            if type_name:
                field.type_name = f".{package}.{type_name}"
            if in_oneof:
                field.oneof_index = 0
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    event = message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.Event"))
    _PROTOS["Event"] = event
    return event


# ---- the record framing ---------------------------------------------------------------------


def iter_records(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """Yield each whole record's data; stop at the first torn or corrupt record, as readers do.

    A length larger than what the file still holds is a torn record: nothing is allocated for it.
    """
    with open(path, "rb") as file:
        while True:
            header = file.read(_HEAD.size)
            if len(header) < _HEAD.size:
                return
            size, header_crc = _HEAD.unpack(header)
            if masked_crc(header[:8]) != header_crc:
                return
            if size + _U32.size > os.fstat(file.fileno()).st_size - file.tell():
                return
            data = file.read(size)
            footer = file.read(_U32.size)
            if len(data) < size or len(footer) < _U32.size:
                return
            if masked_crc(data) != _U32.unpack(footer)[0]:
                return
            yield data


def iter_events(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Yield the parsed ``Event`` protos of one event file."""
    for data in iter_records(path):
        yield _parse_event(data, os.fspath(path))


def _parse_event(data: bytes, path: str) -> Any:
    """One record's ``Event``.

    Raises:
        NotAnEventError: protobuf rejects the record (the message names ``path``).
    """
    from google.protobuf.message import (  # type: ignore[import-untyped, unused-ignore]
        DecodeError,
    )

    try:
        return event_class().FromString(data)
    except DecodeError as exc:
        msg = f"{path}: not a valid event file (a record is not an Event: {exc})"
        raise NotAnEventError(msg) from exc


@dataclasses.dataclass
class _Frames:
    """Whole records found in a buffer: repeating runs, and records found one by one."""

    runs: list[tuple[int, int, int, int, int, int]]  # (pos, stride, count, length, rec0, rec_step)
    singles: list[tuple[int, int, int]]  # (pos, length, rec)
    records: int
    end: int  # the position after the last whole record
    bad_length_crc: bool


class _Framer:
    """Finds record boundaries; remembers each length's header CRC across chunks."""

    def __init__(self) -> None:
        self._header_crc: dict[int, int] = {}
        self._budget = 0  # records to step through one by one before speculating again
        self._fail_budget = 8

    def header_crc(self, length: int) -> int:
        crc = self._header_crc.get(length)
        if crc is None:
            crc = self._header_crc[length] = masked_crc(_U64.pack(length))
        return crc

    def frame(self, buf: bytearray, end: int) -> _Frames:
        """Find the whole records of ``buf[:end]`` (which starts at a record)."""
        u64 = np.ndarray(shape=(max(end - 7, 0),), dtype="<u8", buffer=buf, strides=(1,))
        u32 = np.ndarray(shape=(max(end - 3, 0),), dtype="<u4", buffer=buf, strides=(1,))
        runs: list[tuple[int, int, int, int, int, int]] = []
        singles: list[tuple[int, int, int]] = []
        history: list[int] = []
        pos = rec = 0
        unpack = _HEAD.unpack_from
        while pos + 12 <= end:
            length, crc = unpack(buf, pos)
            if crc != self.header_crc(length):
                return _Frames(runs, singles, rec, pos, bad_length_crc=True)
            if pos + 16 + length > end:
                break
            if self._budget > 0:
                self._budget -= 1
            else:
                pattern = _pattern(history, length)
                periods = self._probe(u64, u32, pattern, pos, end)
                count = periods * len(pattern)
                if count >= _MIN_RUN:
                    period = sum(pattern) + 16 * len(pattern)
                    offset = 0
                    for phase, size in enumerate(pattern):
                        runs.append(
                            (pos + offset, period, periods, size, rec + phase, len(pattern))
                        )
                        offset += 16 + size
                    pos += period * periods
                    rec += count
                    history = (history + pattern * min(periods, 2))[-128:]
                    self._fail_budget = 8
                    continue
                self._budget = self._fail_budget
                self._fail_budget = min(self._fail_budget * 2, 1024)
            singles.append((pos, length, rec))
            history.append(length)
            if len(history) > 256:
                del history[:128]
            pos += 16 + length
            rec += 1
        return _Frames(runs, singles, rec, pos, bad_length_crc=False)

    def _probe(self, u64: Any, u32: Any, pattern: list[int], pos: int, end: int) -> int:
        """How many whole repeats of ``pattern`` (record lengths) start at ``pos``."""
        period = sum(pattern) + 16 * len(pattern)
        most = (end - pos) // period
        if most < 2:
            return 0
        offsets = np.cumsum([0] + [16 + size for size in pattern[:-1]])
        lengths = np.array(pattern, dtype=np.uint64)
        crcs = np.array([self.header_crc(size) for size in pattern], dtype=np.uint32)
        done, batch = 0, 32
        while done < most:
            count = min(batch, most - done)
            where = (pos + (done + np.arange(count)) * period)[:, None] + offsets[None, :]
            good = (u64[where] == lengths) & (u32[where + 8] == crcs)
            ok = good.all(axis=1)
            if not ok.all():
                return done + int(np.argmin(ok))
            done += count
            batch *= 4
        return done


def _pattern(history: list[int], length: int) -> list[int]:
    """Guess the record lengths that follow: the shortest cycle the recent ones repeat.

    The cycle must explain the last 64 lengths (or twice its own length), so that a run of
    equal lengths inside a longer cycle (ten tags of one name length, then ten of another) is
    not taken for a cycle of one.
    """
    for period in range(1, min(64, len(history) // 2) + 1):
        if history[-period] != length:
            continue
        window = min(len(history), max(2 * period, 64))
        if history[-window + period :] == history[-window:-period]:
            return history[-period:]
    return [length]


def _unmask(masked: Any) -> Any:
    """The CRC32C values behind masked ones (uint32 arrays)."""
    x = masked.astype(np.uint32) - np.uint32(MASK_DELTA)
    return (x << np.uint32(15)) | (x >> np.uint32(17))


# ---- scalar templates: one per record layout ------------------------------------------------


@dataclasses.dataclass
class _Template:
    """Where a scalar event's variable fields sit, and the bytes everything else must have."""

    const_at: Any  # positions that must equal const
    const: Any
    step: tuple[int, int]  # (start, width) of the step varint; width 0: no step (0)
    tag: tuple[int, int]  # (start, length)
    value: tuple[int, str]  # (start, numpy dtype)
    tensor: bool
    plugin: str | None


def _varint(data: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(data) or shift > 63:
            raise IndexError
        byte = data[i]
        result |= (byte & 0x7F) << shift
        i += 1
        if byte < 0x80:
            return result, i
        shift += 7


def _template(row: bytes, event: Any) -> _Template | None:
    """The template of a one-value scalar event like ``row``, or None if it is something else.

    A row protobuf rejects gets no template: it goes the slow way, which names its file.
    """
    from google.protobuf.message import (  # type: ignore[import-untyped, unused-ignore]
        DecodeError,
    )

    try:
        return _parse_template(row, event)
    except (IndexError, ValueError, DecodeError):
        return None


def _parse_template(row: bytes, event: Any) -> _Template | None:  # noqa: PLR0911, PLR0912 - a branch per field of the layout
    size = len(row)
    if size < 12 or row[0] != 0x09:
        return None
    i, step = 9, (9, 0)
    if row[i] == 0x10:
        end = _varint(row, i + 1)[1]
        step = (i + 1, end - i - 1)
        i = end
    if row[i] != 0x2A:
        return None
    length, i = _varint(row, i + 1)
    if i + length != size or row[i] != 0x0A:
        return None
    length, i = _varint(row, i + 1)
    if i + length != size:
        return None
    free: list[tuple[int, int]] = [(1, 8), step]
    tag = value = None
    tensor = False
    plugin = None
    while i < size:
        key = row[i]
        if key == 0x0A and tag is None:  # tag
            length, i = _varint(row, i + 1)
            tag = (i, length)
            free.append(tag)
            i += length
        elif key == 0x15 and value is None:  # simple_value
            value = (i + 1, "<f4")
            free.append((i + 1, 4))
            i += 5
        elif key == 0x42 and value is None:  # tensor
            length, i = _varint(row, i + 1)
            value = _tensor_value(row, i, i + length)
            if value is None:
                return None
            free.append((value[0], 4 if value[1] == "<f4" else 8))
            tensor = True
            i += length
        elif key == 0x4A and plugin is None:  # metadata
            length, i = _varint(row, i + 1)
            meta = event.FromString(row).summary.value[0].metadata
            plugin = meta.plugin_data.plugin_name
            i += length
        else:
            return None
    if tag is None or value is None or i != size:
        return None
    mask = np.ones(size, dtype=bool)
    for start, width in free:
        mask[start : start + width] = False
    const_at = np.flatnonzero(mask)
    const = np.frombuffer(row, dtype=np.uint8)[const_at]
    event.FromString(row)  # a template is only made from a record protobuf accepts
    return _Template(const_at, const, step, tag, value, tensor, plugin)


def _tensor_value(row: bytes, i: int, end: int) -> tuple[int, str] | None:
    """Where the one float or double of a scalar TensorProto is, or None."""
    dtype = value = None
    while i < end:
        key = row[i]
        if key == 0x08 and dtype is None:
            dtype, i = _varint(row, i + 1)
        elif key == 0x12:  # tensor_shape: a scalar has no dims or dims of size 1
            length, i = _varint(row, i + 1)
            if not _unit_shape(row[i : i + length]):
                return None
            i += length
        elif key in (0x2A, 0x32, 0x22) and value is None:  # float_val, double_val, content
            length, i = _varint(row, i + 1)
            value = (i, length, key)
            i += length
        else:
            return None
    if value is None or i != end:
        return None
    start, length, key = value
    if dtype == 1 and length == 4 and key in (0x2A, 0x22):
        return (start, "<f4")
    if dtype == 2 and length == 8 and key in (0x32, 0x22):
        return (start, "<f8")
    return None


def _unit_shape(shape: bytes) -> bool:
    i = 0
    while i < len(shape):
        if shape[i] != 0x12:
            return False
        length, i = _varint(shape, i + 1)
        dim = shape[i : i + length]
        if dim not in (b"\x08\x01", b""):
            return False
        i += length
    return True


# ---- what a run holds -----------------------------------------------------------------------


@dataclasses.dataclass
class Scalars:
    """Scalar points of one run, as parallel arrays, and the names of the tag codes."""

    step: Any
    wall_time: Any
    value: Any
    tag: Any  # int32 codes into tags
    tags: list[str]


@dataclasses.dataclass
class Texts:
    """Text points of one run."""

    step: list[int]
    wall_time: list[float]
    tag: list[str]
    value: list[str]


@dataclasses.dataclass
class Histograms:
    """Histogram points of one run; limits are the right bucket edges, counts their counts."""

    step: list[int]
    wall_time: list[float]
    tag: list[str]
    min: list[float]
    max: list[float]
    num: list[float]
    sum: list[float]
    sum_squares: list[float]
    limits: list[Any]
    counts: list[Any]


@dataclasses.dataclass
class _Control:
    """A file_version or START event and how many points of each kind came before it."""

    seq: int
    version: float | None
    start_step: int | None
    cuts: tuple[int, int, int] = (0, 0, 0)


class _RunState:
    """Everything read so far from one run's files, in reading order."""

    def __init__(self) -> None:
        self.seq = 0  # records read so far
        self.tag_ids: dict[tuple[str, bool], int] = {}
        self.tag_names: list[tuple[str, bool]] = []
        # scalar points, column by column (step, wall, value, tag id); capacity grows ahead
        self.columns: list[Any] = [np.empty(0, dtype=t) for t in _COLUMN_TYPES]
        self.points = 0
        self.texts = Texts([], [], [], [])
        self.hists = Histograms([], [], [], [], [], [], [], [], [], [])
        self.tensor_hists: set[int] = set()  # histogram points that came from tensors
        self.controls: list[_Control] = []
        self.plugins: dict[str, tuple[int, str]] = {}  # tag -> (seq, plugin) of its first metadata
        self.other_steps: dict[str, int] = {}
        self.first_summary = -1
        self.legacy = False

    def expect(self, points: int) -> None:
        """Make room for ``points`` more scalar points (pages are only touched when used)."""
        need = self.points + points
        if need > len(self.columns[0]):
            capacity = max(need, 2 * len(self.columns[0]))
            for i, column in enumerate(self.columns):
                grown = np.empty(capacity, dtype=column.dtype)
                grown[: self.points] = column[: self.points]
                self.columns[i] = grown

    def add_points(self, step: Any, wall: Any, value: Any, tid: Any) -> None:
        """Append scalar points (arrays of equal length)."""
        count = len(step)
        self.expect(count)
        at = slice(self.points, self.points + count)
        for column, part in zip(self.columns, (step, wall, value, tid), strict=True):
            column[at] = part
        self.points += count

    def tag_id(self, tag: str, *, tensor: bool) -> int:
        key = (tag, tensor)
        found = self.tag_ids.get(key)
        if found is None:
            found = self.tag_ids[key] = len(self.tag_names)
            self.tag_names.append(key)
        return found

    def plugin(self, tag: str, seq: int, name: str) -> None:
        known = self.plugins.get(tag)
        if known is None or seq < known[0]:
            self.plugins[tag] = (seq, name)

    def summary_at(self, seq: int) -> None:
        if self.first_summary < 0 or seq < self.first_summary:
            self.first_summary = seq


class _Chunk:
    """The points of one chunk of records, put back in record order at the end."""

    def __init__(self, run: _RunState, records: int, want: frozenset[str]) -> None:
        self.run = run
        self.base = run.seq
        self.want = want
        self.records = records
        self.blocks: list[tuple[Any, Any, Any, Any, Any]] = []  # (recs, step, wall, value, id)
        self.extra: list[tuple[int, int, float, float, int]] = []
        self.controls: list[tuple[_Control, int]] = []  # with the record index

    def finish(self) -> None:
        run = self.run
        if self.blocks:
            if len(self.blocks) == 1:
                recs, step, wall, value, tid = self.blocks[0]
            else:
                n = self.records
                tid_all = np.full(n, -1, dtype=np.int32)
                step_all = np.empty(n, dtype=np.int64)
                wall_all = np.empty(n, dtype=np.float64)
                value_all = np.empty(n, dtype=np.result_type(*(b[3] for b in self.blocks)))
                for b_recs, b_step, b_wall, b_value, b_tid in self.blocks:
                    tid_all[b_recs] = b_tid
                    step_all[b_recs] = b_step
                    wall_all[b_recs] = b_wall
                    value_all[b_recs] = b_value
                recs = np.flatnonzero(tid_all >= 0)
                step, wall = step_all[recs], wall_all[recs]
                value, tid = value_all[recs], tid_all[recs]
                del tid_all, step_all, wall_all, value_all
        else:
            recs = np.empty(0, dtype=np.int64)
            step = np.empty(0, dtype=np.int64)
            wall = np.empty(0, dtype=np.float64)
            value = np.empty(0, dtype=np.float64)
            tid = np.empty(0, dtype=np.int32)
        if self.extra:
            e_recs, e_step, e_wall, e_value, e_tid = (
                np.array(c) for c in zip(*self.extra, strict=True)
            )
            at = np.searchsorted(recs, e_recs, side="right")
            recs = np.insert(recs, at, e_recs)
            step = np.insert(step, at, e_step.astype(np.int64))
            wall = np.insert(wall, at, e_wall.astype(np.float64))
            value = np.insert(value.astype(np.float64, copy=False), at, e_value.astype(np.float64))
            tid = np.insert(tid, at, e_tid.astype(np.int32))
        for control, rec in self.controls:
            before = int(np.searchsorted(recs, rec))
            control.cuts = (run.points + before, *control.cuts[1:])
            run.controls.append(control)
        if len(step):
            run.add_points(step, wall, value, tid)
        run.seq += self.records


# ---- reading one file -----------------------------------------------------------------------


class _FileReader:
    """Reads one event file from where the last read stopped (a torn tail is retried)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.dead = False
        self.damage: str | None = None  # why the file was read only up to some record
        self._framer = _Framer()
        self._templates: dict[tuple[int, int], list[_Template]] = {}

    def read(self, source: Source, run: _RunState, want: frozenset[str]) -> None:
        """Read the records added since the last call into ``run``.

        Raises:
            OSError: The file cannot be read (the error names it).
            NotAnEventError: A record is no Event.
        """
        if self.dead:
            return
        try:
            with source.open(self.path) as file:
                self._read_from(file, run, want)
        except FileNotFoundError:
            return  # gone since it was listed: nothing more to read there
        except OSError as exc:
            if exc.filename is None:
                raise OSError(exc.errno, exc.strerror or str(exc), self.path) from exc
            raise

    def _read_from(self, file: IO[bytes], run: _RunState, want: frozenset[str]) -> None:
        size = file.seek(0, os.SEEK_END)
        file.seek(self.offset)
        run.expect((size - self.offset) // _MIN_SCALAR + 1)
        buf = bytearray(min(_CHUNK, max(size - self.offset, 0) + 1))  # small files, small buffer
        held = 0
        while True:
            end = held + _fill(file, buf, held)
            frames = self._framer.frame(buf, end)
            bad = self._decode(buf, end, frames, run, want) if frames.records else None
            if bad is not None or frames.bad_length_crc:
                self.dead = True  # a corrupt record ends the file, as in TensorBoard
                where = frames.end if bad is None else _position(frames, bad)
                what = "length" if bad is None else "data"
                self.damage = (
                    f"{self.path}: bad {what} CRC in the record at byte {self.offset + where};"
                    " the file is read up to there (TensorBoard reads it the same way)"
                )
                return
            self.offset += frames.end
            if end < len(buf):
                return  # the end of the file; a torn record there is retried next time
            rest = end - frames.end
            need = _U64.unpack_from(buf, frames.end)[0] + 16 if rest >= 12 else 0  # CRC-checked
            if need > size - self.offset:
                return  # a record longer than what the file holds: torn (for now); no buffer
            if need > len(buf) or len(buf) < _CHUNK:  # a record larger than the buffer
                bigger = bytearray(max(need, _CHUNK))
                bigger[:rest] = buf[frames.end : end]
                buf = bigger
            else:
                buf[:rest] = buf[frames.end : end]
            held = rest

    def _decode(
        self, buf: bytearray, end: int, frames: _Frames, run: _RunState, want: frozenset[str]
    ) -> int | None:
        """Check the data CRCs and decode the records; return the first bad record, if any."""
        arr = np.frombuffer(buf, dtype=np.uint8, count=end)
        blocks: list[tuple[int, Any, Any, Any]] = []  # (length, rows, recs, footers)
        one_by_one: list[tuple[int, int, int]] = []
        by_length: dict[int, list[tuple[int, int, int]]] = {}
        for pos, stride, count, length, rec0, rec_step in frames.runs:
            rows = as_strided(arr[pos + 12 :], shape=(count, length), strides=(stride, 1))
            footer = as_strided(arr[pos + 12 + length :], shape=(count, 4), strides=(stride, 1))
            recs = rec0 + rec_step * np.arange(count)
            blocks.append((length, rows, recs, footer))
        for single in frames.singles:
            by_length.setdefault(single[1], []).append(single)
        for length, group in by_length.items():
            if len(group) < _MIN_BLOCK or length < 12:
                one_by_one.extend(group)
                continue
            starts = np.array([p for p, _, _ in group], dtype=np.int64) + 12
            window = as_strided(arr, shape=(end - length - 3, length + 4), strides=(1, 1))
            both = window[starts]
            recs = np.array([r for _, _, r in group], dtype=np.int64)
            blocks.append((length, both[:, :length], recs, both[:, length:]))
        bad = self._check_crcs(buf, blocks, one_by_one)
        chunk = _Chunk(run, frames.records if bad is None else bad, want)
        fallback: list[tuple[int, bytes]] = []
        for length, rows, recs, _ in blocks:
            keep = len(recs) if bad is None else int(np.searchsorted(recs, bad))
            if keep:
                self._decode_block(length, rows[:keep], recs[:keep], chunk, fallback)
        for pos, length, rec in one_by_one:
            if bad is None or rec < bad:
                fallback.append((rec, bytes(buf[pos + 12 : pos + 12 + length])))
        fallback.sort(key=lambda item: item[0])
        for rec, data in fallback:
            self._event(rec, data, chunk)
        chunk.finish()
        return bad

    def _check_crcs(
        self,
        buf: bytearray,
        blocks: list[tuple[int, Any, Any, Any]],
        one_by_one: list[tuple[int, int, int]],
    ) -> int | None:
        bad: int | None = None
        for length, rows, recs, footer in blocks:
            crcs = _unmask(np.ascontiguousarray(footer).view("<u4").ravel())
            folded = np.bitwise_xor.reduce(rows, axis=0)
            got = crc32c(folded.tobytes())
            if len(recs) % 2 == 0:
                got ^= crc32c(bytes(length))
            if got == int(np.bitwise_xor.reduce(crcs)):
                continue
            for i in range(len(recs)):  # find the culprit
                if crc32c(rows[i].tobytes()) != int(crcs[i]):
                    rec = int(recs[i])
                    bad = rec if bad is None else min(bad, rec)
                    break
        for pos, length, rec in one_by_one:
            if bad is not None and rec >= bad:
                continue
            footer = _U32.unpack_from(buf, pos + 12 + length)[0]
            if masked_crc(bytes(buf[pos + 12 : pos + 12 + length])) != footer:
                bad = rec if bad is None else min(bad, rec)
        return bad

    def _decode_block(
        self,
        length: int,
        rows: Any,
        recs: Any,
        chunk: _Chunk,
        fallback: list[tuple[int, bytes]],
    ) -> None:
        """Decode the scalar events among equal-length records; queue the rest for protobuf."""
        event = event_class()
        run = chunk.run
        todo = np.arange(len(recs))
        known = self._templates.setdefault((length, 0), [])
        tried = 0
        while len(todo):
            sub = rows[todo] if len(todo) != len(recs) else rows
            matched = None
            for template in known:
                ok = _matches(sub, template)
                if ok.any():
                    matched = (template, ok)
                    break
            if matched is None:
                if tried >= _MAX_TEMPLATES:
                    break
                tried += 1
                template_or_none = _template(sub[0].tobytes(), event)
                if template_or_none is None:
                    fallback.append((int(recs[todo[0]]), sub[0].tobytes()))
                    todo = todo[1:]
                    continue
                known.append(template_or_none)
                matched = (template_or_none, _matches(sub, template_or_none))
                if not matched[1].any():  # should not happen: the row made the template
                    fallback.append((int(recs[todo[0]]), sub[0].tobytes()))
                    todo = todo[1:]
                    continue
            template, ok = matched
            which = todo[ok] if not ok.all() else todo
            picked = sub[ok] if not ok.all() else sub
            leftover = self._emit(template, picked, recs[which], chunk)
            fallback.extend((int(recs[which[i]]), picked[i].tobytes()) for i in leftover)
            todo = todo[~ok]
            run.summary_at(chunk.base + int(recs[which[0]]))
        fallback.extend((int(recs[i]), rows[i].tobytes()) for i in todo)

    def _emit(self, template: _Template, rows: Any, recs: Any, chunk: _Chunk) -> list[int]:
        """Turn rows matching ``template`` into points; return rows whose tag is no UTF-8."""
        run = chunk.run
        start, width = template.tag
        codes, firsts = _factorize(_tag_keys(rows, start, width))
        names: list[int] = []
        rejected: list[int] = []
        for code, first in enumerate(firsts):
            raw = rows[first, start : start + width].tobytes()
            try:
                tag = raw.decode("utf-8")
            except UnicodeDecodeError:
                names.append(-1)
                rejected.append(code)
                continue
            names.append(run.tag_id(tag, tensor=template.tensor))
            if template.plugin is not None:
                run.plugin(tag, chunk.base + int(recs[first]), template.plugin)
        ids = np.array(names, dtype=np.int32)[codes]
        at, kind = template.value
        size = 4 if kind == "<f4" else 8
        value = np.ascontiguousarray(rows[:, at : at + size]).view(kind).ravel()
        wall = np.ascontiguousarray(rows[:, 1:9]).view("<f8").ravel()
        s_at, s_width = template.step
        if s_width == 0:
            step = np.zeros(len(rows), dtype=np.int64)
        else:
            acc = rows[:, s_at].astype(np.uint64) & np.uint64(0x7F)
            for k in range(1, s_width):
                byte = rows[:, s_at + k].astype(np.uint64) & np.uint64(0x7F)
                acc |= byte << np.uint64(7 * k)
            step = acc.view(np.int64)
        if rejected:
            good = ids >= 0
            leftover = [int(i) for i in np.flatnonzero(~good)]
            recs, step, wall, value, ids = (
                recs[good],
                step[good],
                wall[good],
                value[good],
                ids[good],
            )
        else:
            leftover = []
        chunk.blocks.append((recs, step, wall, value, ids))  # float32 kept until the end
        return leftover

    def _event(self, rec: int, data: bytes, chunk: _Chunk) -> None:
        """Decode one record with protobuf."""
        run = chunk.run
        seq = chunk.base + rec
        event = _parse_event(data, self.path)
        what = event.WhichOneof("what")
        if what == "file_version":
            version = _file_version(event.file_version)
            chunk.controls.append((_Control(seq, version, None, self._cuts(run)), rec))
            if version < 2:
                run.legacy = True
            return
        if what == "session_log":
            if event.session_log.status == _START:
                chunk.controls.append((_Control(seq, None, event.step, self._cuts(run)), rec))
            return
        if what != "summary":
            return
        run.summary_at(seq)
        for value in event.summary.value:
            self._value(rec, seq, event, value, chunk)

    @staticmethod
    def _cuts(run: _RunState) -> tuple[int, int, int]:
        return (0, len(run.texts.step), len(run.hists.step))

    def _value(self, rec: int, seq: int, event: Any, value: Any, chunk: _Chunk) -> None:
        run = chunk.run
        kind = value.WhichOneof("value")
        tag = value.tag
        if kind == "tensor" and not tag:
            tag = value.node_name
        if value.HasField("metadata"):
            run.plugin(tag, seq, value.metadata.plugin_data.plugin_name)
        if kind == "simple_value":
            point = (
                rec,
                event.step,
                event.wall_time,
                value.simple_value,
                run.tag_id(tag, tensor=False),
            )
            chunk.extra.append(point)
        elif kind == "histo" and HISTOGRAMS in chunk.want:
            _add_histogram(run.hists, event, tag, value.histo)
        elif kind == "tensor":
            self._tensor(rec, event, tag, value.tensor, chunk)
        else:
            run.other_steps[tag] = max(event.step, run.other_steps.get(tag, event.step))

    def _tensor(self, rec: int, event: Any, tag: str, tensor: Any, chunk: _Chunk) -> None:
        run = chunk.run
        if tensor.dtype == 7:  # DT_STRING: text, if the tag's plugin says so
            if TEXT in chunk.want:
                texts = run.texts
                texts.step.append(event.step)
                texts.wall_time.append(event.wall_time)
                texts.tag.append(tag)
                texts.value.append(_text(tensor))
                return
        else:
            array = _tensor_array(tensor)
            if array is not None and array.size == 1:
                point = (rec, event.step, event.wall_time, float(array.reshape(-1)[0]))
                chunk.extra.append((*point, run.tag_id(tag, tensor=True)))
                return
            histogram = array is not None and array.ndim == 2 and array.shape[1] == 3
            if histogram and HISTOGRAMS in chunk.want:
                _add_tensor_histogram(run.hists, event, tag, array)
                run.tensor_hists.add(len(run.hists.step) - 1)
                return
        run.other_steps[tag] = max(event.step, run.other_steps.get(tag, event.step))


def _position(frames: _Frames, rec: int) -> int:
    """The byte position of record ``rec`` among ``frames``."""
    for pos, stride, count, _, rec0, rec_step in frames.runs:
        k, phase = divmod(rec - rec0, rec_step)
        if phase == 0 and 0 <= k < count:
            return pos + k * stride
    return next((pos for pos, _, single in frames.singles if single == rec), frames.end)


def _fill(file: IO[bytes], buf: bytearray, held: int) -> int:
    """Read into ``buf`` after its first ``held`` bytes until it is full or the file ends."""
    view = memoryview(buf)
    total = 0
    while held + total < len(buf):
        got = file.readinto(view[held + total :])  # type: ignore[attr-defined]
        if not got:
            break
        total += got
    return total


def _matches(rows: Any, template: _Template) -> Any:
    """Which rows have the template's constant bytes and a well-formed step varint."""
    ok = (rows[:, template.const_at] == template.const).all(axis=1)
    s_at, s_width = template.step
    for k in range(s_width):
        byte = rows[:, s_at + k]
        ok &= (byte >= 0x80) if k < s_width - 1 else (byte < 0x80)
    return ok


def _tag_keys(rows: Any, start: int, width: int) -> Any:
    """A uint64 per row that equals between rows exactly when their tag bytes do (checked)."""
    words = -(-width // 8) if width else 1
    padded = np.zeros((len(rows), words * 8), dtype=np.uint8)
    padded[:, :width] = rows[:, start : start + width]
    as_words = padded.view("<u8")
    if words == 1:
        return as_words.ravel()
    key = as_words[:, 0].copy()
    for k in range(1, words):
        key = key * np.uint64(0x100000001B3) ^ as_words[:, k]
    codes, firsts = _factorize(key)
    if not (as_words == as_words[np.asarray(firsts)[codes]]).all():  # a hash collision
        _, inverse = np.unique(padded.view(f"V{words * 8}").ravel(), return_inverse=True)
        return inverse.astype(np.uint64)
    return key


def _factorize(keys: Any) -> tuple[Any, list[int]]:
    """Codes 0.. for the distinct keys (in order of first appearance) and each one's first row."""
    n = len(keys)
    if n == 0:
        return np.empty(0, dtype=np.intp), []
    change = np.flatnonzero(keys[1:] != keys[:-1]) + 1
    if len(change) < n // 8:  # long runs of one key: factorize the run heads only
        heads = np.concatenate(([0], change))
        uniq, first, inverse = np.unique(keys[heads], return_index=True, return_inverse=True)
        order = np.argsort(first)
        rank = np.empty(len(uniq), dtype=np.intp)
        rank[order] = np.arange(len(uniq))
        codes = np.repeat(rank[inverse], np.diff(np.append(heads, n)))
        return codes, heads[first[order]].tolist()
    codes = np.empty(n, dtype=np.intp)
    firsts: list[int] = []
    rest = np.arange(n)
    rest_keys = keys
    while len(rest) and len(firsts) < 32:
        same = rest_keys == rest_keys[0]
        codes[rest[same]] = len(firsts)
        firsts.append(int(rest[0]))
        rest, rest_keys = rest[~same], rest_keys[~same]
    if len(rest):
        uniq, first, inverse = np.unique(rest_keys, return_index=True, return_inverse=True)
        order = np.argsort(first)
        rank = np.empty(len(uniq), dtype=np.intp)
        rank[order] = np.arange(len(uniq)) + len(firsts)
        codes[rest] = rank[inverse]
        firsts += rest[first[order]].tolist()
    return codes, firsts


def _file_version(text: str) -> float:
    try:
        return float(text.rsplit("brain.Event:", maxsplit=1)[-1])
    except ValueError:
        return -1.0


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


def _tensor_array(tensor: Any) -> Any:
    """A numeric TensorProto as a float64 array, or None if it is not numeric."""
    shape = [d.size for d in tensor.tensor_shape.dim]
    count = int(np.prod(shape)) if shape else 1
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
    if array.size == 1 and count > 1:
        array = np.repeat(array, count)  # a proto may hold one value for a filled tensor
    if array.size != count:
        return None
    return array.reshape(shape)


def _text(tensor: Any) -> str:
    """A string tensor as text: one element as it is, a table row per line, cells by tab."""
    shape = [d.size for d in tensor.tensor_shape.dim]
    cells = [s.decode("utf-8", "replace") for s in tensor.string_val]
    if len(cells) <= 1:
        return cells[0] if cells else ""
    if len(shape) >= 2 and shape[-1] > 0:
        width = shape[-1]
        return "\n".join("\t".join(cells[i : i + width]) for i in range(0, len(cells), width))
    return "\n".join(cells)


def _add_histogram(hists: Histograms, event: Any, tag: str, histo: Any) -> None:
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


def _add_tensor_histogram(hists: Histograms, event: Any, tag: str, array: Any) -> None:
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


# ---- a run: its files, read incrementally, and the view TensorBoard gives of them -----------


class RunReader:
    """One run directory (or one event file); ``update()`` reads what was added since."""

    def __init__(
        self,
        source: Source,
        path: str,
        want: Sequence[str] = (SCALARS, TEXT, HISTOGRAMS),
        single_file: bool = False,
    ) -> None:
        self.source = source
        self.path = path
        self.want = frozenset(want)
        self._single_file = single_file
        self._files: dict[str, _FileReader] = {}
        self._order: list[str] = []
        self.state = _RunState()

    def update(self) -> bool:
        """Read new records of known files and any new event files; True if anything was read.

        Raises:
            OSError: A file cannot be read.
            NotAnEventError: A record that passes its CRC checks is no Event.
        """
        files = [self.path] if self._single_file else self.source.event_files(self.path)
        for path in files:
            if path not in self._files:
                self._files[path] = _FileReader(path)
                self._order.append(path)
        before = self.state.seq
        for path in self._order:
            self._files[path].read(self.source, self.state, self.want)
        return self.state.seq != before

    @property
    def damaged(self) -> dict[str, str]:
        """Files read only up to a corrupt record: path -> one line naming the file and where.

        A corrupt record (a wrong length or data CRC) ends its file for both TensorBoard
        loaders too; the rest of the run is read. A torn last record is no damage: it is the
        part of a file still being written, and is read once complete.
        """
        return {path: f.damage for path, f in self._files.items() if f.damage is not None}

    @property
    def legacy(self) -> bool:
        """True if some events came before a ``file_version`` 2 (older purge rule applies)."""
        state = self.state
        if state.legacy:
            return True
        if state.first_summary < 0:
            return False
        first_v2 = next(
            (c.seq for c in state.controls if c.version is not None and c.version >= 2), None
        )
        return first_v2 is None or state.first_summary < first_v2

    def _purges(self) -> list[_Control]:
        """The STARTs that purge: every one after the first, counted once file_version 2 is seen."""
        purges = []
        versioned = seen_start = False
        for control in sorted(self.state.controls, key=lambda c: c.seq):
            if control.version is not None:
                versioned = control.version >= 2
            elif versioned:
                if seen_start:
                    purges.append(control)
                seen_start = True
        return purges

    def scalars(self, raw: bool = False, any_plugin: bool = False) -> Scalars:
        """The scalar points in reading order; tag codes number tags in first-seen order.

        Args:
            raw: Every point read, no purges.
            any_plugin: Keep number tensors of every tag, not only of "scalars" tags.
        """
        if self.legacy and not raw:
            return _legacy_view(self).scalars(raw=True)
        state = self.state
        step, wall, value, tid = (column[: state.points] for column in state.columns)
        keep = None
        if not raw:
            for control in self._purges():
                cut = control.cuts[0]
                start_step = control.start_step
                assert start_step is not None  # noqa: S101 - purges are STARTs
                if keep is None:
                    keep = np.ones(len(step), dtype=bool)
                keep[:cut] &= step[:cut] < start_step
        # tensor points count as scalars only for tags whose plugin is "scalars"
        names = state.tag_names
        scalar_plugin = [
            not tensor or state.plugins.get(tag, (0, ""))[1] == SCALARS for tag, tensor in names
        ]
        if not any_plugin and not all(scalar_plugin):
            allowed = np.array(scalar_plugin, dtype=bool)[tid]
            keep = allowed if keep is None else keep & allowed
        if keep is not None and not keep.all():
            step, wall, value, tid = step[keep], wall[keep], value[keep], tid[keep]
        # merge the two kinds of a tag (simple_value and tensor) under one code
        tags: list[str] = []
        index: dict[str, int] = {}
        remap = np.empty(max(len(names), 1), dtype=np.int32)
        for i, (tag, _) in enumerate(names):
            remap[i] = index.setdefault(tag, len(index))
            if remap[i] == len(tags):
                tags.append(tag)
        return Scalars(step, wall, value, remap[tid] if len(names) else tid, tags)

    def texts(self, raw: bool = False) -> Texts:
        """The text points of tags whose plugin is "text", in reading order."""
        if self.legacy and not raw:
            return _legacy_view(self).texts(raw=True)
        state = self.state
        texts = state.texts
        purges = [] if raw else self._purges()
        out = Texts([], [], [], [])
        for i, tag in enumerate(texts.tag):
            if state.plugins.get(tag, (0, ""))[1] != TEXT:
                continue
            step = texts.step[i]
            if any(i < p.cuts[1] and step >= (p.start_step or 0) for p in purges):
                continue
            out.step.append(step)
            out.wall_time.append(texts.wall_time[i])
            out.tag.append(tag)
            out.value.append(texts.value[i])
        return out

    def histograms(self, raw: bool = False) -> Histograms:
        """The histogram points (``histo`` values and histogram tensors), in reading order."""
        if self.legacy and not raw:
            return _legacy_view(self).histograms(raw=True)
        state = self.state
        hists = state.hists
        purges = [] if raw else self._purges()
        keep = [
            i
            for i, step in enumerate(hists.step)
            if not any(i < p.cuts[2] and step >= (p.start_step or 0) for p in purges)
            # a (k, 3) tensor is a histogram only for tags whose plugin is "histograms"
            and (
                i not in state.tensor_hists
                or state.plugins.get(hists.tag[i], (0, ""))[1] == HISTOGRAMS
            )
        ]
        fields = dataclasses.fields(Histograms)
        return Histograms(*([getattr(hists, f.name)[i] for i in keep] for f in fields))

    def last_steps(self) -> dict[str, int]:
        """The highest step of every tag written (any kind, purges ignored)."""
        scalars = self.scalars(raw=True, any_plugin=True)
        steps: dict[str, int] = {}
        if len(scalars.step):
            lowest = np.iinfo(np.int64).min
            highest = np.full(len(scalars.tags), lowest, dtype=np.int64)
            np.maximum.at(highest, scalars.tag, scalars.step)
            steps = {t: int(h) for t, h in zip(scalars.tags, highest, strict=True) if h > lowest}
        state = self.state
        extra = list(zip(state.texts.tag, state.texts.step, strict=True))
        extra += list(zip(state.hists.tag, state.hists.step, strict=True))
        extra += list(state.other_steps.items())
        for tag, step in extra:
            if step >= steps.get(tag, step):
                steps[tag] = step
        return steps


def _legacy_view(reader: RunReader) -> RunReader:
    """Re-read a run with events before any file_version 2, applying the older purge rule.

    The Python loader then purges, for an event whose step is below the previous summary
    event's, the points of that event's tags at or after its step. This path is slow (protobuf
    for every record) and only taken for such runs.
    """
    view = RunReader(reader.source, reader.path, sorted(reader.want))
    chunk = _Chunk(view.state, 0, view.want)
    version: float | None = None
    seen_start = False
    recent = -1
    kept: list[tuple[int, Any, Any]] = []  # (record, event, value) that survive so far
    files = reader._order
    records = ((path, data) for path in files for data in source_records(reader.source, path))
    for rec, (path, data) in enumerate(records):
        event = _parse_event(data, path)
        if event.HasField("file_version"):
            version = _file_version(event.file_version)
        if version is not None and version >= 2:
            if event.HasField("session_log") and event.session_log.status == _START:
                if seen_start:
                    kept = [k for k in kept if k[1].step < event.step]
                seen_start = True
        elif event.step < recent and event.HasField("summary"):
            tags = {v.tag for v in event.summary.value}
            kept = [k for k in kept if k[1].step < event.step or k[2].tag not in tags]
        if event.HasField("summary"):
            recent = event.step
            for value in event.summary.value:
                if value.HasField("metadata"):
                    view.state.plugin(value.tag, rec, value.metadata.plugin_data.plugin_name)
                kept.append((rec, event, value))
    file_reader = _FileReader(reader.path)
    for rec, event, value in kept:
        chunk.records = rec + 1
        file_reader._value(rec, rec, event, value, chunk)
    chunk.finish()
    return view


def source_records(source: Source, path: str) -> Iterator[bytes]:
    """Every whole record's data of one file, as the fast reader finds them (slow path)."""
    with source.open(path) as file:
        data = file.read()
    pos = 0
    while pos + 12 <= len(data):
        length, crc = _HEAD.unpack_from(data, pos)
        if masked_crc(data[pos : pos + 8]) != crc or pos + 16 + length > len(data):
            return
        record = data[pos + 12 : pos + 12 + length]
        if masked_crc(record) != _U32.unpack_from(data, pos + 12 + length)[0]:
            return
        yield record
        pos += 16 + length


def last_steps(run_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Return the highest step written to each tag of a run directory (not its sub-runs)."""
    reader = RunReader(Source(), os.fspath(run_dir), want=())
    reader.update()
    return reader.last_steps()


def open_runs(
    path: str | os.PathLike[str], want: Sequence[str]
) -> tuple[Source, list[tuple[str, RunReader]]]:
    """The runs at ``path`` (an event file, a run, or a root of runs), not read yet.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ModuleNotFoundError: ``path`` is a URL and fsspec is missing.
    """
    source, root = Source.for_path(path)
    if source.isfile(root):
        return source, [(".", RunReader(source, root, want, single_file=True))]
    if not source.isdir(root):
        raise FileNotFoundError(2, "No such file or directory", os.fspath(path))
    return source, [(name, RunReader(source, d, want)) for name, d in source.runs(root)]


def tag_filter(tags: str | Sequence[str] | None) -> Callable[[str], bool]:
    """A predicate for tag names from names or glob patterns (None: every tag).

    A tag is kept if it equals one of ``tags`` (so ``"acc[0]"`` keeps the tag named ``acc[0]``)
    or matches one as a glob pattern.
    """
    if tags is None:
        return lambda _tag: True
    patterns = [tags] if isinstance(tags, str) else list(tags)
    for pattern in patterns:
        if not isinstance(pattern, str):
            msg = f"tags must be glob patterns (str), got {pattern!r}"
            raise TypeError(msg)
    names = frozenset(patterns)  # exact names first, then globs (their order does not matter)
    cache: dict[str, bool] = {}

    def keep(tag: str) -> bool:
        found = cache.get(tag)
        if found is None:
            found = tag_matches(tag, names)
            cache[tag] = found
        return found

    return keep
