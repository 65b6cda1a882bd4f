"""The TFRecord framing of event files: frame records, check them, find where whole ones end.

A record is ``uint64 length | uint32 masked crc32c(length) | data | uint32 masked crc32c(data)``,
all little-endian. The writer frames with it, the uploader and the sinks cut data on record
boundaries with it, and the readers split files into records with it.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import IO

from crc32c import crc32c

MASK_DELTA = 0xA282EAD8  # added to the rotated CRC32C: TFRecord's "masked" CRC
HEADER = struct.Struct("<QI")  # the length and its masked CRC
LENGTH = struct.Struct("<Q")
FOOTER = struct.Struct("<I")  # the data's masked CRC
OVERHEAD = HEADER.size + FOOTER.size  # bytes of framing around each record's data

_pack_length = LENGTH.pack
_pack_crc = FOOTER.pack


def masked_crc(data: bytes | bytearray | memoryview) -> int:
    """Return the masked CRC32C that TFRecord framing stores after the length and the data."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + MASK_DELTA) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    """Frame one serialized Event as a TFRecord: length, its CRC, the data, the data's CRC."""
    return frame_header(len(data)) + data + _pack_crc(masked_crc(data))


def frame_header(size: int) -> bytes:
    """The length and length-CRC that frame a record of ``size`` bytes."""
    header = _pack_length(size)
    return header + _pack_crc(masked_crc(header))


def record_end(data: bytes | memoryview, pos: int) -> int | None:
    """The end of the whole, CRC-checked record at ``pos`` in ``data``; None if it is not one."""
    if pos + HEADER.size > len(data):
        return None
    size: int
    header_crc: int
    size, header_crc = HEADER.unpack_from(data, pos)
    if masked_crc(data[pos : pos + LENGTH.size]) != header_crc:
        return None
    end = pos + OVERHEAD + size
    if end > len(data):
        return None
    (data_crc,) = FOOTER.unpack_from(data, end - FOOTER.size)
    if masked_crc(data[pos + HEADER.size : end - FOOTER.size]) != data_crc:
        return None
    return end


def whole_records(data: bytes | memoryview) -> int:
    """The length of the longest prefix of ``data`` made of whole, CRC-checked records."""
    offset = 0
    while (end := record_end(data, offset)) is not None:
        offset = end
    return offset


def split_records(data: bytes | memoryview) -> Iterator[bytes]:
    """Yield each whole record's data; stop at the first torn or corrupt record, as readers do."""
    pos = 0
    while (end := record_end(data, pos)) is not None:
        yield bytes(data[pos + HEADER.size : end - FOOTER.size])
        pos = end


def read_records(file: IO[bytes]) -> Iterator[bytes]:
    """Yield each whole record's data from an open local ``file``, one record at a time.

    Stops at the first torn or corrupt record. A length larger than what the file holds by
    then is a torn record: nothing is allocated for it.
    """
    while True:
        header = file.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        length, header_crc = HEADER.unpack(header)
        if masked_crc(header[: LENGTH.size]) != header_crc:
            return
        if length + FOOTER.size > os.fstat(file.fileno()).st_size - file.tell():
            return
        data = file.read(length)
        footer = file.read(FOOTER.size)
        if len(data) < length or len(footer) < FOOTER.size:
            return
        if masked_crc(data) != FOOTER.unpack(footer)[0]:
            return
        yield data


def fitting(data: bytes | memoryview, room: int) -> int:
    """The length of the longest run of whole records at the start of ``data`` within ``room``.

    When not even the first record fits, the first record's length: a record larger than a
    file's size cap goes alone into a file of its own (records are never split). ``data`` holds
    whole records (framed here), so their CRCs are not checked.
    """
    offset = 0
    while offset < len(data):
        end = offset + OVERHEAD + int.from_bytes(data[offset : offset + LENGTH.size], "little")
        if end > room:
            break
        offset = end
    if offset == 0 and len(data):
        offset = OVERHEAD + int.from_bytes(data[: LENGTH.size], "little")
    return offset


def records_in(data: bytes | memoryview, end: int) -> int:
    """The number of whole records in ``data[:end]`` (``end`` on a record boundary)."""
    count = offset = 0
    while offset + OVERHEAD <= end:
        offset += OVERHEAD + int.from_bytes(data[offset : offset + LENGTH.size], "little")
        count += 1
    return count
