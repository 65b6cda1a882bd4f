"""Where a SummaryWriter's points land: its run directory, a session's sub-run, or nowhere.

It chooses the run directory, opens (and after ``close()`` reopens) the writer's share of the
run, and decides whether an HParams session goes into the run itself or into a sub-run.
"""

from __future__ import annotations

import datetime
import os
import socket
from collections.abc import Mapping
from typing import Any, cast

from tblog import _registry
from tblog._hparams_tags import SESSION_START_TAG
from tblog._options import WriterOptions
from tblog._resume import Plan, open_resumed, resume_plan
from tblog._run import Run
from tblog.writer import PathLike, claim_session


def choose_logdir(log_dir: PathLike | None, logdir: PathLike | None, comment: str) -> str:
    """The run directory of the constructor's arguments, the peers' way."""
    if log_dir is not None and logdir is not None and os.fspath(log_dir) != os.fspath(logdir):
        msg = f"give log_dir or logdir, not both ({log_dir!r}, {logdir!r})"
        raise ValueError(msg)
    given = log_dir if log_dir is not None else logdir
    if given is not None and os.fspath(given) != "":
        return os.fspath(given)
    active = _registry.active_logdir()
    if not comment and active != _registry.default_logdir():  # a tblog.setup() run is active
        return active
    return default_run_name(comment)


def default_run_name(comment: str = "") -> str:
    """A new run directory named as tensorboardX and torch name it: ``runs/<time>_<host><comment>``.

    ``<time>`` is the local time as ``%b%d_%H-%M-%S`` (``Jan05_10-11-12``): writers made in
    the same second get the same directory, and then share one writer.
    """
    stamp = now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", f"{stamp}_{socket.gethostname()}{comment}")


def now() -> datetime.datetime:
    """The local time that names a default run (a seam for tests)."""
    return datetime.datetime.now()  # the peers name runs by local time


def open_share(logdir: str, options: WriterOptions, purge_step: int | None, *, null: bool) -> Run:
    """A new writer's share of its run; with ``purge_step``, continued as ``tblog.restore`` does.

    ``null`` (``write_to_disk=False``): a ``NullRun``, which opens nothing.
    """
    if null:
        return cast("Run", NullRun(_registry.run_key(logdir)))
    plan: Plan = ([], {}) if purge_step is None else resume_plan(logdir, purge_step)
    return open_resumed(logdir, options, plan, purge_relogged=False)


def reopen_share(logdir: str, options: WriterOptions, *, null: bool) -> Run:
    """A closed writer's share of its run again (``logdir``: the run's key), the peers' way."""
    return cast("Run", NullRun(logdir)) if null else _registry.acquire(logdir, options)


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


def claim_own_run(run: Run, metric_dict: Any) -> bool:
    """True if an HParams session goes into the run itself, which then holds one.

    So it does when it is the run's first session in this process and ``own_run_free``.
    """
    return claim_session(run.logdir) and own_run_free(run, metric_dict)


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

    def put_event(self, build: Any, *, point: bool = True) -> None:
        """Keep nothing."""
        del build, point

    def flush(self, timeout: float | None = None) -> int:
        """Nothing to wait for."""
        del timeout
        return 0
