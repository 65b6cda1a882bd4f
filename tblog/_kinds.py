"""The kinds of point shared by the record contract, the engine and the encoder."""

from __future__ import annotations

SCALAR = 0  # payload: a float (or int) value
TEXT = 1  # payload: Markdown text, written as it is
LOG = 2  # payload: a formatted log line, written inside a Markdown code block
HISTOGRAM = 3  # payload: (values as a numpy array, bins, max_bins)
SUMMARY = 4  # payload: a callable returning a tensorboardX Summary proto
EVENT = 5  # payload: a callable returning a tensorboardX Event proto (no step/walltime applied)
FLUSH = -1  # payload: a flush marker; the writer signals it once everything before is written
MARK = -2  # payload: an Event builder of tblog's own (a purge's START): written, not a point
