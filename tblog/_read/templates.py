"""Scalar record templates: one per record layout, so equal layouts decode with numpy at once."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


@dataclasses.dataclass
class Template:
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


def make_template(row: bytes, event: Any) -> Template | None:
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


def _parse_template(row: bytes, event: Any) -> Template | None:  # noqa: PLR0911, PLR0912 - a branch per field of the layout
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
    return Template(const_at, const, step, tag, value, tensor, plugin)


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
        if dim != b"\x08\x01":  # a dimension of size 1 (an empty one has size 0)
            return False
        i += length
    return True


def matches(rows: Any, template: Template) -> Any:
    """Which rows have the template's constant bytes and a well-formed step varint."""
    ok = (rows[:, template.const_at] == template.const).all(axis=1)
    s_at, s_width = template.step
    for k in range(s_width):
        byte = rows[:, s_at + k]
        ok &= (byte >= 0x80) if k < s_width - 1 else (byte < 0x80)
    return ok


def tag_keys(rows: Any, start: int, width: int) -> Any:
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
    codes, firsts = factorize(key)
    if not (as_words == as_words[np.asarray(firsts)[codes]]).all():  # a hash collision
        _, inverse = np.unique(padded.view(f"V{words * 8}").ravel(), return_inverse=True)
        return inverse.astype(np.uint64)
    return key


def factorize(keys: Any) -> tuple[Any, list[int]]:
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
