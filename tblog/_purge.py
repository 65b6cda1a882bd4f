"""The purge that continues a resumed run: ``SessionLog.START`` events at a step."""

from __future__ import annotations

import time
from typing import Any


def session_start(step: int) -> Any:
    """A builder of a ``SessionLog.START`` event at ``step`` (what a resume's purge writes)."""

    def build() -> Any:
        from tensorboardX.proto.event_pb2 import Event, SessionLog

        return Event(step=step, wall_time=time.time(), session_log=SessionLog(status=1))

    return build
