"""tensorboardX's own ``add_*`` methods, writing into a shared run instead of a file of theirs."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from tblog._encode import as_event, constant
from tblog._peer import parsed


@dataclasses.dataclass(frozen=True)
class Owner:
    """What tensorboardX's file writer needs of the writer it writes through.

    Attributes:
        logdir: The run directory as the owner was given it.
        get_logdir: The owner's ``get_logdir``.
        when: Checks a call's step and walltime (None: resolved later).
        put_event: Queues an Event (a callable returning the proto) into the run.
        put_summary: Queues a Summary message or its bytes at a step and walltime.
        flush: The owner's ``flush``.
    """

    logdir: str
    get_logdir: Callable[[], str]
    when: Callable[[Any, Any], tuple[int | None, float | None]]
    put_event: Callable[[Any], None]
    put_summary: Callable[[Any, int | None, float | None], None]
    flush: Callable[[], Any]


_DEPENDENCY_EXTRAS = {
    "torch": "graph",
    "matplotlib": "figure",
    "PIL": "image",
    "moviepy": "video",
    "soundfile": "audio",
}


def with_dependency_hint(name: str, method: Any) -> Any:
    """Turn a missing optional module inside a tensorboardX method into a hint naming the extra."""

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except ModuleNotFoundError as exc:
            module = (exc.name or "").split(".")[0]
            extra = _DEPENDENCY_EXTRAS.get(module)
            if extra is None:
                raise
            msg = f'{name} needs {module}: pip install "tblog[{extra}]"'
            raise ModuleNotFoundError(msg, name=module) from exc

    call.__name__ = name
    call.__doc__ = method.__doc__
    return call


def summary_writer_on(owner: Owner) -> Any:
    """Return a tensorboardX SummaryWriter whose file writer writes into ``owner``'s run."""
    from tensorboardX import SummaryWriter
    from tensorboardX.writer import FileWriter

    class SharedFileWriter(FileWriter):  # type: ignore[misc]
        """tensorboardX's FileWriter API over the shared run (no file or thread of its own)."""

        def __init__(self) -> None:
            self._default_metadata: dict[str, Any] = {}

        def get_logdir(self) -> str:
            """The run directory as the owner gives it (a SummaryWriter: as given)."""
            return owner.get_logdir()

        def add_event(self, event: Any, step: Any = None, walltime: Any = None) -> None:
            event = parsed(as_event, event, "event")
            step, walltime = owner.when(step, walltime)
            event.wall_time = walltime if walltime is not None else (event.wall_time or time.time())
            if step is not None:
                event.step = step
            owner.put_event(constant(event))

        def add_summary(self, summary: Any, global_step: Any = None, walltime: Any = None) -> None:
            owner.put_summary(summary, *owner.when(global_step, walltime))

        def flush(self) -> None:
            owner.flush()

        def close(self) -> None:
            """The RunWriter owns the run's lifetime."""

        def reopen(self) -> None:
            """Nothing to reopen: the run stays open while the RunWriter is."""

    # Built without a file of its own; then _get_file_writer() returns the shared one (it makes
    # a new file writer only while none is set, and a dummy one whenever writing is off).
    writer = SummaryWriter(logdir=owner.logdir, write_to_disk=False)
    shared = SharedFileWriter()
    writer.file_writer = shared
    writer.all_writers = {owner.logdir: shared}
    writer._write_to_disk = True
    return writer
