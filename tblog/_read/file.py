"""Read one event file from where the last read stopped, decoding its records into a run's state."""

from __future__ import annotations

import os
from typing import IO, Any

import numpy as np
from numpy.lib.stride_tricks import as_strided

from tblog._read.events import event_class, parse_event
from tblog._read.framing import Framer, Frames, block_crcs, fill, position, unmask
from tblog._read.points import HISTOGRAMS, TEXT, Chunk, Control, RunState
from tblog._read.sources import Source
from tblog._read.templates import Template, factorize, make_template, matches, tag_keys
from tblog._read.values import (
    START,
    add_histogram,
    add_tensor_histogram,
    tensor_array,
    text_of,
    version_of,
)
from tblog._record import FOOTER, LENGTH, masked_crc

CHUNK = 1 << 21  # bytes read at a time; a larger record grows the buffer
_MIN_BLOCK = 16  # fewer records of one length are decoded one by one
_MAX_TEMPLATES = 8  # layouts tried per block before the rest goes to protobuf
_MIN_SCALAR = 36  # bytes of the smallest scalar record: an upper bound on a file's points


class FileReader:
    """Reads one event file from where the last read stopped (a torn tail is retried)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.offset = 0
        self.dead = False
        self.damage: str | None = None  # why the file was read only up to some record
        self._framer = Framer()
        self._templates: dict[tuple[int, int], list[Template]] = {}

    def read(self, source: Source, run: RunState, want: frozenset[str]) -> None:
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

    def _read_from(self, file: IO[bytes], run: RunState, want: frozenset[str]) -> None:
        size = file.seek(0, os.SEEK_END)
        file.seek(self.offset)
        run.expect((size - self.offset) // _MIN_SCALAR + 1)
        buf = bytearray(min(CHUNK, max(size - self.offset, 0) + 1))  # small files, small buffer
        held = 0
        while True:
            end = held + fill(file, buf, held)
            frames = self._framer.frame(buf, end)
            bad = self._decode(buf, end, frames, run, want) if frames.records else None
            if bad is not None or frames.bad_length_crc:
                self.dead = True  # a corrupt record ends the file, as in TensorBoard
                where = frames.end if bad is None else position(frames, bad)
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
            need = LENGTH.unpack_from(buf, frames.end)[0] + 16 if rest >= 12 else 0  # CRC-checked
            if need > size - self.offset:
                return  # a record longer than what the file holds: torn (for now); no buffer
            if need > len(buf) or len(buf) < CHUNK:  # a record larger than the buffer
                bigger = bytearray(max(need, CHUNK))
                bigger[:rest] = buf[frames.end : end]
                buf = bigger
            else:
                buf[:rest] = buf[frames.end : end]
            held = rest

    def _decode(
        self, buf: bytearray, end: int, frames: Frames, run: RunState, want: frozenset[str]
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
        chunk = Chunk(run, frames.records if bad is None else bad, want)
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
        found = block_crcs([rows for _, rows, _, _ in blocks])
        for (_, _, recs, footer), crc in zip(blocks, found, strict=True):
            # every record's own CRC, as TensorBoard checks
            wrong = np.flatnonzero(crc != unmask(np.ascontiguousarray(footer).view("<u4").ravel()))
            if len(wrong):
                rec = int(recs[wrong[0]])
                bad = rec if bad is None else min(bad, rec)
        for pos, length, rec in one_by_one:
            if bad is not None and rec >= bad:
                continue
            footer = FOOTER.unpack_from(buf, pos + 12 + length)[0]
            if masked_crc(bytes(buf[pos + 12 : pos + 12 + length])) != footer:
                bad = rec if bad is None else min(bad, rec)
        return bad

    def _decode_block(
        self,
        length: int,
        rows: Any,
        recs: Any,
        chunk: Chunk,
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
                ok = matches(sub, template)
                if ok.any():
                    matched = (template, ok)
                    break
            if matched is None:
                if tried >= _MAX_TEMPLATES:
                    break
                tried += 1
                template_or_none = make_template(sub[0].tobytes(), event)
                if template_or_none is None:
                    fallback.append((int(recs[todo[0]]), sub[0].tobytes()))
                    todo = todo[1:]
                    continue
                known.append(template_or_none)
                matched = (template_or_none, matches(sub, template_or_none))
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

    def _emit(self, template: Template, rows: Any, recs: Any, chunk: Chunk) -> list[int]:
        """Turn rows matching ``template`` into points; return rows whose tag is no UTF-8."""
        run = chunk.run
        start, width = template.tag
        tags = rows[:, start : start + width]
        if (tags == tags[0]).all():  # the common block: one tag (a run of its own records)
            codes, firsts = np.zeros(len(rows), dtype=np.intp), [0]
        else:
            codes, firsts = factorize(tag_keys(rows, start, width))
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

    def _event(self, rec: int, data: bytes, chunk: Chunk) -> None:
        """Decode one record with protobuf."""
        run = chunk.run
        seq = chunk.base + rec
        event = parse_event(data, self.path)
        what = event.WhichOneof("what")
        if what == "file_version":
            version = version_of(event.file_version)
            chunk.controls.append((Control(seq, version, None, self._cuts(run)), rec))
            if version < 2:
                run.legacy = True
            return
        if what == "session_log":
            if event.session_log.status == START:
                chunk.controls.append((Control(seq, None, event.step, self._cuts(run)), rec))
            return
        if what != "summary":
            return
        run.summary_at(seq)
        for value in event.summary.value:
            self.add_value(rec, seq, event, value, chunk)

    @staticmethod
    def _cuts(run: RunState) -> tuple[int, int, int]:
        return (0, len(run.texts.step), len(run.hists.step))

    def add_value(self, rec: int, seq: int, event: Any, value: Any, chunk: Chunk) -> None:
        """Add one ``Summary.Value`` of record ``rec`` (``seq`` in the run) to ``chunk``."""
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
            add_histogram(run.hists, event, tag, value.histo)
        elif kind == "tensor":
            self._tensor(rec, event, tag, value.tensor, chunk)
        else:
            run.other_steps[tag] = max(event.step, run.other_steps.get(tag, event.step))

    def _tensor(self, rec: int, event: Any, tag: str, tensor: Any, chunk: Chunk) -> None:
        run = chunk.run
        if tensor.dtype == 7:  # DT_STRING: text, if the tag's plugin says so
            if TEXT in chunk.want:
                texts = run.texts
                texts.step.append(event.step)
                texts.wall_time.append(event.wall_time)
                texts.tag.append(tag)
                texts.value.append(text_of(tensor))
                return
        else:
            array = tensor_array(tensor)
            if array is not None and array.size == 1:
                point = (rec, event.step, event.wall_time, float(array.reshape(-1)[0]))
                chunk.extra.append((*point, run.tag_id(tag, tensor=True)))
                return
            histogram = array is not None and array.ndim == 2 and array.shape[1] == 3
            if histogram and HISTOGRAMS in chunk.want:
                add_tensor_histogram(run.hists, event, tag, array)
                run.tensor_hists.add(len(run.hists.step) - 1)
                return
        run.other_steps[tag] = max(event.step, run.other_steps.get(tag, event.step))
