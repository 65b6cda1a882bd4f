"""Read event files back fast, showing what TensorBoard shows (the engine of ``tblog.read``).

Modules: ``sources`` (listing runs and files), ``events`` (the Event proto, a file's records),
``framing`` (record boundaries), ``templates`` (scalar layouts decoded with numpy), ``points``
(a run's state), ``values`` (slow-path value decoding), ``file`` (reading one file), ``run``
(a run and the view TensorBoard gives of it: purges). Records are framed as ``tblog._record``
says.

Reading is done in large chunks; in each chunk the record boundaries are found by speculating
that record lengths repeat (one length, or a short cycle of lengths, as writers produce) and
checking the guess for many records at once, so Python touches a record only where the pattern
breaks. Data CRCs are checked in bulk, each record's own (a table-driven CRC32C over all the
records of one length at once, in numpy), and the common scalar layouts (``simple_value`` as tblog,
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

from tblog._read.events import (
    NotAnEventError,
    event_class,
    iter_events,
    iter_records,
    source_records,
)
from tblog._read.points import HISTOGRAMS, SCALARS, TEXT, Histograms, Scalars, Texts
from tblog._read.run import RunReader, last_steps, open_runs, scalar_points, tag_filter
from tblog._read.sources import Source, event_files, find_runs

__all__ = [
    "HISTOGRAMS",
    "SCALARS",
    "TEXT",
    "Histograms",
    "NotAnEventError",
    "RunReader",
    "Scalars",
    "Source",
    "Texts",
    "event_class",
    "event_files",
    "find_runs",
    "iter_events",
    "iter_records",
    "last_steps",
    "open_runs",
    "scalar_points",
    "source_records",
    "tag_filter",
]
