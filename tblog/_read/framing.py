"""Find the record boundaries of a buffer fast, by speculating that record lengths repeat."""

from __future__ import annotations

import dataclasses
from typing import IO, Any

import numpy as np
from crc32c import crc32c

from tblog._record import HEADER, LENGTH, MASK_DELTA, masked_crc

_MIN_RUN = 48  # shorter repeating runs are gathered with the other short ones


@dataclasses.dataclass
class Frames:
    """Whole records found in a buffer: repeating runs, and records found one by one."""

    runs: list[tuple[int, int, int, int, int, int]]  # (pos, stride, count, length, rec0, rec_step)
    singles: list[tuple[int, int, int]]  # (pos, length, rec)
    records: int
    end: int  # the position after the last whole record
    bad_length_crc: bool


class Framer:
    """Finds record boundaries; remembers each length's header CRC across chunks."""

    def __init__(self) -> None:
        self._header_crc: dict[int, int] = {}
        self._budget = 0  # records to step through one by one before speculating again
        self._fail_budget = 8

    def header_crc(self, length: int) -> int:
        """The masked CRC of a record length's header (remembered)."""
        crc = self._header_crc.get(length)
        if crc is None:
            crc = self._header_crc[length] = masked_crc(LENGTH.pack(length))
        return crc

    def frame(self, buf: bytearray, end: int) -> Frames:
        """Find the whole records of ``buf[:end]`` (which starts at a record)."""
        u64 = np.ndarray(shape=(max(end - 7, 0),), dtype="<u8", buffer=buf, strides=(1,))
        u32 = np.ndarray(shape=(max(end - 3, 0),), dtype="<u4", buffer=buf, strides=(1,))
        runs: list[tuple[int, int, int, int, int, int]] = []
        singles: list[tuple[int, int, int]] = []
        history: list[int] = []
        pos = rec = 0
        unpack = HEADER.unpack_from
        while pos + 12 <= end:
            length, crc = unpack(buf, pos)
            if crc != self.header_crc(length):
                return Frames(runs, singles, rec, pos, bad_length_crc=True)
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
        return Frames(runs, singles, rec, pos, bad_length_crc=False)

    def _probe(self, u64: Any, u32: Any, pattern: list[int], pos: int, end: int) -> int:
        """How many whole repeats of ``pattern`` (record lengths) start at ``pos``."""
        period = sum(pattern) + 16 * len(pattern)
        most = (end - pos) // period
        if most < 2:
            return 0
        offsets = np.cumsum([0] + [16 + size for size in pattern[:-1]])
        lengths = np.array(pattern, dtype=np.uint64)
        crcs = np.array([self.header_crc(size) for size in pattern], dtype=np.uint32)
        done, batch = 0, 256
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


def unmask(masked: Any) -> Any:
    """The CRC32C values behind masked ones (uint32 arrays)."""
    x = masked.astype(np.uint32) - np.uint32(MASK_DELTA)
    return (x << np.uint32(15)) | (x >> np.uint32(17))


def position(frames: Frames, rec: int) -> int:
    """The byte position of record ``rec`` among ``frames``."""
    for pos, stride, count, _, rec0, rec_step in frames.runs:
        k, phase = divmod(rec - rec0, rec_step)
        if phase == 0 and 0 <= k < count:
            return pos + k * stride
    return next((pos for pos, _, single in frames.singles if single == rec), frames.end)


def fill(file: IO[bytes], buf: bytearray, held: int) -> int:
    """Read into ``buf`` after its first ``held`` bytes until it is full or the file ends."""
    view = memoryview(buf)
    total = 0
    while held + total < len(buf):
        got = file.readinto(view[held + total :])  # type: ignore[attr-defined]
        if not got:
            break
        total += got
    return total


_CRC32C_POLY = 0x82F63B78  # CRC32C (Castagnoli), reflected
_CRC_TABLE: list[Any] = []


def _crc_table() -> Any:
    """The byte table of CRC32C as a uint32 array (built once)."""
    if not _CRC_TABLE:
        table = np.zeros(256, dtype=np.uint32)
        for i in range(256):
            crc = i
            for _ in range(8):
                crc = (crc >> 1) ^ _CRC32C_POLY if crc & 1 else crc >> 1
            table[i] = crc
        _CRC_TABLE.append(table)
    return _CRC_TABLE[0]


_LONG = 128  # longer records are checked one by one with the C CRC32C (faster than columns)
_ALIGN = 32  # rows are padded at most this much to share a pass with longer ones
_PAD_STARTS: list[Any] = []


def _zero_prefix_starts() -> Any:
    """For k = 0.._LONG, the CRC register that ``k`` zero bytes carry to CRC32C's start value.

    A row padded on the left with ``k`` zero bytes and begun from ``starts[k]`` has the CRC of
    the row alone, so rows of several lengths can share one pass. A CRC step on a zero byte is
    ``c -> (c >> 8) ^ table[c & 0xFF]``; the table's top bytes are all different, so the step
    can be undone from the result's top byte.
    """
    if not _PAD_STARTS:
        table = [int(v) for v in _crc_table()]
        low_of_top = {value >> 24: i for i, value in enumerate(table)}
        starts = [0xFFFFFFFF]
        for _ in range(_LONG):
            after = starts[-1]
            low = low_of_top[after >> 24]
            starts.append((((after ^ table[low]) << 8) | low) & 0xFFFFFFFF)
        _PAD_STARTS.append(np.array(starts, dtype=np.uint32))
    return _PAD_STARTS[0]


def block_crcs(blocks: list[Any]) -> list[Any]:
    """The CRC32C of every row of each 2-d uint8 array in ``blocks`` (records of one length each).

    Short rows of nearby lengths are right-aligned in one matrix and checked in one pass over
    its columns, each row started where its zero padding leaves CRC32C's start value; long rows
    go one by one through the C CRC32C.
    """
    found: list[Any] = [None] * len(blocks)
    classes: dict[int, list[int]] = {}
    for i, rows in enumerate(blocks):
        length = rows.shape[1]
        if length > _LONG:
            found[i] = np.fromiter(
                (crc32c(row.tobytes()) for row in rows), dtype=np.uint32, count=len(rows)
            )
        else:
            classes.setdefault(-(-length // _ALIGN), []).append(i)
    for members in classes.values():
        if len(members) == 1:
            found[members[0]] = row_crcs(blocks[members[0]])
            continue
        width = max(blocks[i].shape[1] for i in members)
        count = sum(len(blocks[i]) for i in members)
        matrix = np.zeros((width, count), dtype=np.uint8)  # one column of bytes per position
        pads = np.empty(count, dtype=np.int64)
        at = 0
        for i in members:
            rows = blocks[i]
            matrix[width - rows.shape[1] :, at : at + len(rows)] = rows.T
            pads[at : at + len(rows)] = width - rows.shape[1]
            at += len(rows)
        crcs = _columns_crc(matrix, _zero_prefix_starts()[pads])
        at = 0
        for i in members:
            found[i] = crcs[at : at + len(blocks[i])]
            at += len(blocks[i])
    return found


def row_crcs(rows: Any) -> Any:
    """The CRC32C of every row of a 2-d uint8 array (records of one length), in numpy.

    Each row gets its own CRC, a byte position a step over all rows at once, so no two
    corruptions can cancel, as they can in a CRC of the rows folded together.
    """
    count = len(rows)
    start = np.full(count, 0xFFFFFFFF, dtype=np.uint32)
    return _columns_crc(np.ascontiguousarray(rows.T), start)


def _columns_crc(columns: Any, crc: Any) -> Any:
    """Run CRC32C down ``columns`` (one row of bytes per position) from registers ``crc``."""
    table = _crc_table()
    index = np.empty(len(crc), dtype=np.uint32)
    eight = np.uint32(8)
    for column in columns:
        np.bitwise_xor(crc, column, out=index)
        np.bitwise_and(index, np.uint32(0xFF), out=index)
        np.right_shift(crc, eight, out=crc)
        crc ^= table.take(index)
    return crc ^ np.uint32(0xFFFFFFFF)
