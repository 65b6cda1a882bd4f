"""Opening a run that continues an existing one: its counters, and the purge of a resume."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from typing import Any

from tblog import _registry
from tblog._options import WriterOptions
from tblog._purge import session_start
from tblog._run import Run

#: What continues a run: the first events of its new event file, and each tag's next step.
Plan = tuple[list[Callable[[], Any]], dict[str, int]]


def resume_plan(
    run_path: str | os.PathLike[str],
    purge_step: int | None,
    counters: Mapping[str, int] | None = None,
) -> Plan:
    """Return the first events and per-tag step counters that continue an existing run.

    Without ``purge_step`` every tag continues after its last step (so no reader sees a step go
    back). With it, the new event file starts with two ``SessionLog.START`` events at that step:
    TensorBoard's Python loader ignores the first START of a run and purges every point at or
    after the step on the next. Tags then count on from ``purge_step``, so their steps go back
    there, which is what makes the Rust loader drop each re-logged tag's stale points.

    The run as read back decides a tag's counter; ``counters`` (a checkpoint's, see
    ``RootLogger.state_dict``) fill in the tags it does not show: points lost in a crash before
    they reached the disk, or a run that cannot be read back from here.
    """
    from tblog._read import last_steps

    steps = last_steps(run_path)
    known = {tag: step + 1 for tag, step in steps.items()}
    for tag, next_step in (counters or {}).items():
        known.setdefault(tag, next_step)
    if purge_step is None:
        return [], known
    # Tags already past purge_step go back to it; the others continue after their last step,
    # so no old point is shadowed (the Rust loader keeps only the last point of a step).
    seeds = {tag: min(next_step, purge_step) for tag, next_step in known.items()}
    # A counted tag (log lines) runs ahead of the training step: its points in
    # [purge_step, counter at the checkpoint) were logged before the checkpoint. The purge
    # hides them too, so they are written again after it (same steps and walltimes, in order)
    # and the tag counts on from the checkpoint's counter.
    ahead = {tag: n for tag, n in (counters or {}).items() if n > purge_step}
    kept = _points_before_checkpoint(run_path, purge_step, ahead) if ahead else []
    seeds.update(ahead)
    first = [session_start(purge_step), session_start(purge_step)]
    return first + [functools.partial(_copy, event) for event in kept], seeds


def _copy(event: Any) -> Any:
    """The builder of a point written again after a purge: the event read back, unchanged."""
    return event


def _points_before_checkpoint(
    run_path: str | os.PathLike[str], purge_step: int, ahead: Mapping[str, int]
) -> list[Any]:
    """The run's events of the tags in ``ahead`` at steps in ``[purge_step, ahead[tag])``.

    Each event keeps only those tags' values; file order is kept, and a ``SessionLog.START``
    in the run drops what was gathered at or after its step (an earlier resume's purge), as
    TensorBoard's loaders do.
    """
    from tensorboardX.proto.event_pb2 import Event

    from tblog._read import Source
    from tblog._record import split_records

    source, root = Source.for_path(run_path)
    kept: list[Any] = []
    for path in source.event_files(root):
        with source.open(path) as file:
            data = file.read()
        for record in split_records(data):  # up to a torn or damaged record, as readers stop
            event = Event.FromString(record)
            if event.HasField("session_log") and event.session_log.status == 1:
                kept = [e for e in kept if e.step < event.step]
                continue
            limit = ahead.get
            wanted = [v for v in event.summary.value if purge_step <= event.step < limit(v.tag, -1)]
            if wanted:
                del event.summary.value[:]
                event.summary.value.extend(wanted)
                kept.append(event)
    return kept


def open_resumed(
    logdir: str | os.PathLike[str], options: WriterOptions, plan: Plan, *, purge_relogged: bool
) -> Run:
    """Acquire the run of ``logdir`` (one reference) continuing as ``plan`` says.

    A run already open in this process gets the plan's purge events in its queue instead of
    at the start of its file; the plan's counters are seeded either way.

    Args:
        logdir: The run directory or URL.
        options: The writer options a new run gets.
        plan: From ``resume_plan``: the purge events and each tag's next step.
        purge_relogged: Let the purge move down to a step a tag logs again (``purge_below``).
    """
    first_events, seeds = plan
    run = _registry.acquire(logdir, options, first_events=first_events)
    try:
        if run.refs > 1:  # already open in this process: the purge goes into its queue
            for build in first_events:
                run.put_event(build, point=False)
        run.seed_steps(seeds)
        if purge_relogged and first_events:
            run.purge_below(seeds)
    except BaseException:
        _registry.release(run)
        raise
    return run
