"""The ``Event`` protocol buffer, built here (tensorboardX imports torch), and a file's events."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from tblog._read.sources import Source
from tblog._record import read_records, split_records


class NotAnEventError(ValueError):
    """A record passes its CRC checks but is no ``Event`` protocol buffer."""


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


def iter_records(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """Yield each whole record's data; stop at the first torn or corrupt record, as readers do."""
    with open(path, "rb") as file:
        yield from read_records(file)


def iter_events(path: str | os.PathLike[str]) -> Iterator[Any]:
    """Yield the parsed ``Event`` protos of one event file."""
    for data in iter_records(path):
        yield parse_event(data, os.fspath(path))


def parse_event(data: bytes, path: str) -> Any:
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


def source_records(source: Source, path: str) -> Iterator[bytes]:
    """Every whole record's data of one file, as the fast reader finds them (slow path)."""
    with source.open(path) as file:
        data = file.read()
    yield from split_records(data)
