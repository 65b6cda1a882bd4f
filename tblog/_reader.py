"""Read event files back (restore's per-tag steps, the CLI): CRC-checked, stops at a torn record."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from typing import Any

from tblog._encode import masked_crc

_HEADER = struct.Struct("<QI")
_CRC = struct.Struct("<I")


def event_files(run_dir: str | os.PathLike[str]) -> list[str]:
    """The event files directly in ``run_dir``, in the name order TensorBoard reads them."""
    try:
        names = os.listdir(run_dir)
    except OSError:
        return []
    return [
        os.path.join(run_dir, name)
        for name in sorted(names)
        if "tfevents" in name and os.path.isfile(os.path.join(run_dir, name))
    ]


def iter_records(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """Yield each whole record's data; stop at the first torn or corrupt record, as readers do."""
    with open(path, "rb") as file:
        while True:
            header = file.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            size, header_crc = _HEADER.unpack(header)
            if masked_crc(header[:8]) != header_crc:
                return
            data = file.read(size)
            footer = file.read(_CRC.size)
            if len(data) < size or len(footer) < _CRC.size:
                return
            if masked_crc(data) != _CRC.unpack(footer)[0]:
                return
            yield data


def iter_events(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Yield the parsed ``Event`` protos of one event file."""
    from tensorboardX.proto import event_pb2

    for data in iter_records(path):
        yield event_pb2.Event.FromString(data)


def last_steps(run_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Return the highest step written to each tag of a run directory (not its sub-runs)."""
    steps: dict[str, int] = {}
    for path in event_files(run_dir):
        for event in iter_events(path):
            if not event.HasField("summary"):
                continue
            for value in event.summary.value:
                if event.step >= steps.get(value.tag, -1):
                    steps[value.tag] = event.step
    return steps
