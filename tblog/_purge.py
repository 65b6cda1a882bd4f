"""The purge that continues a resumed run: ``SessionLog.START`` events at a step."""

from __future__ import annotations

import time
from typing import Any

from tblog._kinds import EVENT, MARK


def session_start(step: int) -> Any:
    """A builder of a ``SessionLog.START`` event at ``step`` (what a resume's purge writes)."""

    def build() -> Any:
        from tensorboardX.proto.event_pb2 import Event, SessionLog

        return Event(step=step, wall_time=time.time(), session_log=SessionLog(status=1))

    return build


def starts_before_relogged_steps(batch: list[Any], limits: dict[str, int]) -> list[Any]:
    """``batch`` with a START (a MARK event) before each point that logs a tag's old step again.

    ``limits`` holds each tag's step below which old points are still shown; a START purges
    every tag from its step on, so it lowers every limit to that step.
    """
    out = []
    for point in batch:
        kind, tag, step = point[0], point[1], point[3]
        if kind >= 0 and kind != EVENT and step < limits.get(tag, -1):
            out.append((MARK, "", session_start(step), 0, 0.0))
            for name, limit in limits.items():
                limits[name] = min(limit, step)
        out.append(point)
    return out
