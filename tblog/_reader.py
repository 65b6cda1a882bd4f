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


class RunContents:
    """The scalars and text of one run as TensorBoard shows them (purges applied)."""

    def __init__(self) -> None:
        self.scalars: dict[str, list[tuple[int, float, float]]] = {}  # tag -> (step, wall, value)
        self.texts: dict[str, list[int]] = {}  # tag -> steps
        self._plugins: dict[str, str] = {}
        self._seen_start = False

    def add(self, event: Any) -> None:
        """Take one event, applying SessionLog.START purges like TensorBoard's Python loader."""
        if event.HasField("session_log"):
            if event.session_log.status == 1:  # START: the first only opens the run
                if self._seen_start:
                    self._purge(event.step)
                self._seen_start = True
            return
        if not event.HasField("summary"):
            return
        for value in event.summary.value:
            tag = value.tag
            if value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
                self._plugins.setdefault(tag, value.metadata.plugin_data.plugin_name)
            plugin = self._plugins.get(tag)
            kind = value.WhichOneof("value")
            if kind == "simple_value":
                point = (event.step, event.wall_time, float(value.simple_value))
                self.scalars.setdefault(tag, []).append(point)
            elif kind == "tensor" and plugin == "scalars":
                number = _tensor_scalar(value.tensor)
                if number is not None:
                    point = (event.step, event.wall_time, number)
                    self.scalars.setdefault(tag, []).append(point)
            elif kind == "tensor" and plugin == "text":
                self.texts.setdefault(tag, []).append(event.step)

    def _purge(self, step: int) -> None:
        for tag, points in self.scalars.items():
            self.scalars[tag] = [p for p in points if p[0] < step]
        for tag, steps in self.texts.items():
            self.texts[tag] = [s for s in steps if s < step]


def _tensor_scalar(tensor: Any) -> float | None:
    if tensor.float_val:
        return float(tensor.float_val[0])
    if tensor.double_val:
        return float(tensor.double_val[0])
    if tensor.int_val:
        return float(tensor.int_val[0])
    content = tensor.tensor_content
    formats = {1: "<f", 2: "<d", 3: "<i"}  # DT_FLOAT, DT_DOUBLE, DT_INT32
    fmt = formats.get(tensor.dtype)
    if content and fmt is not None and len(content) >= struct.calcsize(fmt):
        return float(struct.unpack_from(fmt, content)[0])
    return None


def read_run(run_dir: str | os.PathLike[str]) -> RunContents:
    """Read the scalars and text tags of one run directory (not its sub-runs)."""
    contents = RunContents()
    for path in event_files(run_dir):
        for event in iter_events(path):
            contents.add(event)
    return contents


def find_runs(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Return (run name, directory) for ``root`` and every directory below it with event files.

    Names are paths relative to ``root`` (``.`` for ``root`` itself), as TensorBoard names runs.
    """
    runs = []
    for directory, dirnames, _ in os.walk(root):
        dirnames.sort()
        if event_files(directory):
            name = os.path.relpath(directory, root)
            runs.append((name, directory))
    return runs
