"""Where a SummaryWriter's points land: its run, an HParams session's own sub-run, or nowhere."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from tblog._run import Run
from tblog.writer import SESSION_START_TAG


def sub_run(logdir: str, name: str) -> str:
    """The sub-run ``name`` of a run directory or URL."""
    from tblog._location import is_url

    return f"{logdir.rstrip('/')}/{name}" if is_url(logdir) else os.path.join(logdir, name)


def written_tags(run: Run) -> set[str] | None:
    """The tags the run's event files hold (any kind, any process), None if unreadable.

    Read once, by the first ``add_hparams`` of a run in this process: this process's points
    are flushed first so they are counted too.
    """
    from tblog import _read

    run.flush()
    try:
        source, path = _read.Source.for_path(run.logdir)
        if not source.isdir(path):
            return set()
        reader = _read.RunReader(source, path, want=())
        reader.update()
    except (OSError, ValueError):
        return None
    return set(reader.last_steps()) | set(reader.state.plugins)


def own_run_free(run: Run, metric_dict: Any) -> bool:
    """True if the run holds no HParams session yet and no point of a metric's tag.

    Also none of an earlier process. A metric point written among a curve of the same tag
    would cut that curve (its step goes back); a sub-run keeps the two apart, as the peers do.
    """
    tags = written_tags(run)
    if tags is None or SESSION_START_TAG in tags:
        return False
    return not (isinstance(metric_dict, Mapping) and any(key in tags for key in metric_dict))


class NullRun:
    """The run of a ``write_to_disk=False`` writer: takes every point, keeps none."""

    path = None
    written = dropped = errors = queued = spooled = 0

    def __init__(self, logdir: str) -> None:
        self.logdir = self.key = logdir

    def put_scalar(self, tag: str, value: float, step: int, walltime: float) -> None:
        """Keep nothing."""

    def put(
        self,
        kind: int,
        tag: str,
        payload: Any,
        step: int | None,
        walltime: float | None,
        counted: bool = False,
    ) -> int:
        """Keep nothing."""
        del kind, tag, payload, walltime, counted
        return step if step is not None else 0

    def put_many(self, points: Any) -> None:
        """Keep nothing."""

    def put_event(self, build: Any) -> None:
        """Keep nothing."""

    def flush(self, timeout: float | None = None) -> int:
        """Nothing to wait for."""
        del timeout
        return 0
