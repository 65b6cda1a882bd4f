"""The Custom Scalars layout of a run: one per run directory, merged, read back on first use."""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from tblog._encode import constant
from tblog._kinds import SUMMARY
from tblog._record import split_records
from tblog._summaries import check_layout, exact

if TYPE_CHECKING:
    from tblog._run import Run

#: The Custom Scalars category that holds one Multiline chart per ``add_scalars`` main tag.
SCALARS_CATEGORY = "add_scalars"
#: The tag TensorBoard's custom_scalars plugin reads.
LAYOUT_TAG = "custom_scalars__config__"

Layout = dict[str, dict[str, list[Any]]]

# The layout of each run directory, {category: {title: [kind, tags]}}: TensorBoard shows only
# a run's latest layout, so every write carries all charts every writer of the run added.
_layouts: dict[str, Layout] = {}
_lock = threading.RLock()


def merge(
    logdir: str,
    added: Mapping[str, Mapping[str, Sequence[Any]]],
    write: Callable[[Any], None] | None,
) -> None:
    """Merge charts into the run's layout and hand the whole layout's summary to ``write``.

    Args:
        logdir: The run directory (its registry key): every writer of the run shares its layout.
        added: Charts to add, ``{category: {title: [kind, tags]}}``; a chart of the same
            category and title is replaced.
        write: Puts the summary on the run, called under the layout lock so layouts reach the
            run in the order they were merged; None checks the charts and keeps nothing.

    Raises:
        TypeError: The layout is not a mapping of mappings of ``[kind, tags]``.
        ValueError: An unknown chart kind, or a Margin chart without 3 tags.
    """
    checked = check_layout(added)
    with _lock:
        merged = copy.deepcopy(_known(logdir) if write is not None else {})
        for category, charts in checked.items():
            merged.setdefault(category, {}).update(charts)
        from tensorboardX.summary import custom_scalars

        summary = custom_scalars(merged)
        if write is None:
            return
        _layouts[logdir] = merged
        write(summary)


def add_lines(
    logdir: str, main_tag: str, keys: list[str], write: Callable[[Any], None] | None
) -> None:
    """Put ``main_tag/<key>`` lines (exact regexes) in the ``add_scalars`` chart of ``main_tag``."""
    with _lock:
        charts = (_known(logdir) if write is not None else {}).get(SCALARS_CATEGORY, {})
        regexes = list(charts.get(main_tag, ["Multiline", []])[1])
        new = [exact(f"{main_tag}/{key}") for key in keys]
        regexes += [regex for regex in dict.fromkeys(new) if regex not in regexes]
        merge(logdir, {SCALARS_CATEGORY: {main_tag: ["Multiline", regexes]}}, write)


def writer_on(run: Run) -> Callable[[Any], None]:
    """What puts a layout summary on ``run``: its own step count, whatever ``tblog.step`` says."""

    def write(summary: Any) -> None:
        run.put(SUMMARY, LAYOUT_TAG, constant(summary), None, None, counted=True)

    return write


def _known(logdir: str) -> Layout:
    """The run's layout so far; before this process's first, the one in the run's files."""
    known = _layouts.get(logdir)
    if known is None:
        known = _layouts[logdir] = written_layout(logdir)
    return known


def written_layout(logdir: str) -> Layout:
    """The latest Custom Scalars layout in the run's event files (an earlier process's), or {}.

    Records without the layout tag are skipped unparsed.
    """
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped, unused-ignore]
    from tensorboardX.proto import layout_pb2

    try:
        latest = _latest_layout_bytes(logdir)
        parsed = layout_pb2.Layout.FromString(latest) if latest is not None else None
    except (OSError, ValueError, DecodeError):  # an unreadable run: this process's charts only
        return {}
    return {} if parsed is None else _as_dict(parsed)


def _latest_layout_bytes(logdir: str) -> bytes | None:
    """The serialized layout of the last layout record in the run's event files, if any."""
    from google.protobuf.message import DecodeError  # type: ignore[import-untyped, unused-ignore]
    from tensorboardX.proto.event_pb2 import Event

    from tblog import _read

    source, path = _read.Source.for_path(logdir)
    if not source.isdir(path):
        return None
    latest = None
    for name in source.event_files(path):
        with source.open(name) as file:
            data = file.read()
        for record in records_holding(data, LAYOUT_TAG.encode()):
            with contextlib.suppress(DecodeError):
                for value in Event.FromString(record).summary.value:
                    if value.tag == LAYOUT_TAG and value.tensor.string_val:
                        latest = value.tensor.string_val[0]
    return latest


def _as_dict(parsed: Any) -> Layout:
    """A ``layout_pb2.Layout`` as ``{category: {title: [kind, tags]}}``."""
    layout: Layout = {}
    for category in parsed.category:
        charts = layout.setdefault(category.title, {})
        for chart in category.chart:
            if chart.HasField("margin"):
                series = chart.margin.series[0] if chart.margin.series else None
                tags = [series.value, series.lower, series.upper] if series else []
                charts[chart.title] = ["Margin", tags]
            else:
                charts[chart.title] = ["Multiline", list(chart.multiline.tag)]
    return layout


def records_holding(data: bytes, marker: bytes) -> Iterator[bytes]:
    """The whole records of an event file's bytes that hold ``marker``, in file order.

    A file without the marker is not walked at all; a torn or corrupt record ends the walk,
    as it ends a reader's.
    """
    if marker not in data:
        return
    for record in split_records(data):
        if marker in record:
            yield record
