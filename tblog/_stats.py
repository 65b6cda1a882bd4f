"""The counters a run's writer reports (``stats`` of handlers, facades and writers)."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tblog._run import Run


@dataclasses.dataclass(frozen=True)
class WriterStats:
    """Counters of a run's writer, shared by every handler and facade aimed at the run.

    Attributes:
        written: Points written to the event file (for a remote run: to its spooled segments).
        dropped: Points that could not be written (full queue, I/O error, unencodable value).
        errors: I/O, upload and encoding errors met by the writer.
        queued: Points waiting for the writer thread now.
        spooled: Segments of a remote run waiting in the spool for upload (0 for a local run).
    """

    written: int
    dropped: int
    errors: int
    queued: int
    spooled: int = 0


def stats_of(run: Run) -> WriterStats:
    """The counters of a shared run, as ``stats`` properties report them."""
    return WriterStats(run.written, run.dropped, run.errors, run.queued, run.spooled)
