"""The RootLogger facade: one setup and one teardown for the file log and the TensorBoard run."""

from __future__ import annotations

import datetime
import functools
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from tblog import _run
from tblog._values import (
    PointError,
    check_step,
    check_tag,
    check_walltime,
    describe,
    metric_points,
    plain_str,
)
from tblog.exceptions import SetupError, WriterClosedError
from tblog.handler import DEFAULT_TEXT_TAG, TensorBoardHandler
from tblog.writer import RunWriter, require

#: The file log's default format.
DEFAULT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"

_F = TypeVar("_F", bound=Callable[..., Any])
_RANK_VARIABLES = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
_lock = threading.RLock()
_active: RootLogger | None = None


def get_default_log_name(run_name: str) -> str:
    """Return the default name of a run's file log and run directory: ``<run_name>_<stamp>``.

    The stamp is the local time as ``YYYYmmdd-HHMMSS``. Under ``torch.distributed`` every rank
    gets rank 0's name (``setup`` broadcasts it); pass ``log_name=`` to ``setup`` to choose one.
    """
    return f"{run_name}_{datetime.datetime.now().strftime('%Y%m%d-%H%M%S')}"


def get_rank() -> int:
    """Return this process's rank: torch.distributed's when initialised, else the environment's.

    The variables read are RANK, SLURM_PROCID, OMPI_COMM_WORLD_RANK and PMI_RANK, in that order;
    none set means rank 0. torch is never imported for this.
    """
    dist = _torch_distributed()
    if dist is not None:
        return int(dist.get_rank())
    for name in _RANK_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return 0


def _torch_distributed() -> Any:
    torch = sys.modules.get("torch")
    dist = getattr(torch, "distributed", None) if torch is not None else None
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return dist
    except Exception:  # noqa: BLE001 - a half-initialised backend means no usable rank
        return None
    return None


def _shared_log_name(run_name: str) -> str:
    name = get_default_log_name(run_name)
    dist = _torch_distributed()
    if dist is not None and dist.get_world_size() > 1:
        names = [name]
        dist.broadcast_object_list(names, src=0)
        name = str(names[0])
    return name


class _Timer:
    """Time a block or a function and log the seconds as a scalar."""

    def __init__(self, owner: RootLogger, tag: str, step: int | None) -> None:
        self._owner = owner
        self._tag = tag
        self._step = step
        self._starts: list[float] = []
        self.seconds: float | None = None

    def __enter__(self) -> _Timer:
        self._starts.append(time.perf_counter())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.seconds = time.perf_counter() - self._starts.pop()
        self._owner.scalar(self._tag, self.seconds, self._step)

    def __call__(self, func: _F) -> _F:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            with _Timer(self._owner, self._tag, self._step):
                return func(*args, **kwargs)

        return timed  # type: ignore[return-value]


class RootLogger:
    """One handle on a run's file log and TensorBoard run, as installed by ``tblog.setup``.

    Logging methods (``debug`` ... ``critical``) log through the stdlib root logger, so a record
    reaches the file log, the console and TensorBoard like any other. TensorBoard helpers
    (``scalar``, ``scalars``, ``text``, ``histogram``, ``image``, ``images``, ``figure``,
    ``table``, ``hparams``, ``timer``, ``scalar_ts``, ``duration_ts``) write into the run; given
    bad values they never raise, they say so once on stderr and leave the run intact. Without a
    run (before setup, or on a rank that writes no events) the helpers are silent no-ops.
    ``writer`` offers every ``add_*`` method of tensorboardX's ``SummaryWriter`` on the same run.

    Use it as a context manager to close everything on leaving the block.
    """

    def __init__(
        self,
        *,
        log_file: Path | None = None,
        run_path: Path | None = None,
        writer: RunWriter | None = None,
        rank: int = 0,
        installed: Sequence[logging.Handler] = (),
        previous_level: int | None = None,
    ) -> None:
        self._log_file = log_file
        self._run_path = run_path
        self._writer = writer
        self._rank = rank
        self._installed = list(installed)
        self._previous_level = previous_level
        self._closed = False
        self._logger = logging.getLogger()
        self._started_ns = time.monotonic_ns()
        self._hparams_written = False
        self._reported: set[str] = set()
        self._queue: Any = None
        self._listener: Any = None

    # ---- state ----------------------------------------------------------------------------

    @property
    def log_file(self) -> Path | None:
        """The file log (None before setup)."""
        return self._log_file

    @property
    def run_path(self) -> Path | None:
        """The TensorBoard run directory (None before setup and on ranks that write no events)."""
        return self._run_path

    @property
    def rank(self) -> int:
        """The rank this process had at setup."""
        return self._rank

    @property
    def writer(self) -> RunWriter | None:
        """The run's shared writer, with every ``add_*`` method of tensorboardX's SummaryWriter."""
        return self._writer

    @property
    def active(self) -> bool:
        """True while this facade is set up and not closed."""
        return not self._closed and self._log_file is not None

    # ---- stdlib logging -------------------------------------------------------------------

    def _log(self, level: int, msg: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 2
        self._logger.log(level, msg, *args, **kwargs)

    def debug(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log ``msg % args`` at DEBUG through the root logger (stdlib signature)."""
        self._log(logging.DEBUG, msg, args, kwargs)

    def info(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log ``msg % args`` at INFO through the root logger (stdlib signature)."""
        self._log(logging.INFO, msg, args, kwargs)

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log ``msg % args`` at WARNING through the root logger (stdlib signature)."""
        self._log(logging.WARNING, msg, args, kwargs)

    def error(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log ``msg % args`` at ERROR through the root logger (stdlib signature)."""
        self._log(logging.ERROR, msg, args, kwargs)

    def exception(self, msg: object, *args: Any, exc_info: Any = True, **kwargs: Any) -> None:
        """Log ``msg % args`` at ERROR with the current exception (stdlib signature)."""
        kwargs["exc_info"] = exc_info
        self._log(logging.ERROR, msg, args, kwargs)

    def critical(self, msg: object, *args: Any, **kwargs: Any) -> None:
        """Log ``msg % args`` at CRITICAL through the root logger (stdlib signature)."""
        self._log(logging.CRITICAL, msg, args, kwargs)

    # ---- TensorBoard helpers --------------------------------------------------------------

    def _live_writer(self) -> RunWriter | None:
        if self._closed:
            msg = "this RootLogger is closed"
            raise WriterClosedError(msg)
        return self._writer

    def _bad(self, helper: str, exc: Exception) -> None:
        key = f"{helper}:{getattr(exc, 'key', type(exc).__name__)}"
        if key not in self._reported:
            self._reported.add(key)
            _run.report(f"{helper}(): {exc}; the point is skipped, the run is kept")

    def _call(self, helper: str, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            func(*args, **kwargs)
        except (ModuleNotFoundError, WriterClosedError):
            raise  # a missing extra or a closed run is the caller's to fix, not bad input
        except Exception as exc:  # noqa: BLE001 - helpers never raise on bad values
            self._bad(helper, exc)

    def scalar(
        self, tag: str, value: Any, step: int | None = None, *, walltime: float | None = None
    ) -> None:
        """Write one scalar; a missing step comes from ``tblog.step`` or a per-tag counter."""
        writer = self._live_writer()
        if writer is not None:
            self._call("scalar", writer.add_scalar, tag, value, step, walltime)

    def scalars(
        self,
        metrics: Mapping[str, Any],
        step: int | None = None,
        *,
        prefix: str | None = None,
        walltime: float | None = None,
    ) -> None:
        """Write one scalar per key (``prefix/key`` with a prefix); bad entries are skipped."""
        writer = self._live_writer()
        if writer is None:
            return
        try:
            checked_step = check_step(step)
            checked_prefix = None if prefix is None else check_tag(prefix)
            seconds = check_walltime(walltime)
        except PointError as exc:
            self._bad("scalars", exc)
            return
        points, errors = metric_points(metrics, checked_prefix, checked_step, seconds)
        if points:
            writer._live().put_many(points)
        for error in errors:
            self._bad("scalars", error)

    def text(self, tag: str, text: str, step: int | None = None) -> None:
        """Write Markdown text."""
        writer = self._live_writer()
        if writer is not None:
            self._call("text", writer.add_text, tag, text, step)

    def histogram(
        self, tag: str, values: Any, step: int | None = None, *, bins: Any = "tensorflow"
    ) -> None:
        """Write a histogram of an array, tensor or sequence (NaN and inf left out)."""
        writer = self._live_writer()
        if writer is not None:
            self._call("histogram", writer.add_histogram, tag, values, step, bins)

    def image(
        self, tag: str, image: Any, step: int | None = None, *, dataformats: str = "CHW"
    ) -> None:
        """Write an image (uint8 0-255 or float 0-1); needs Pillow (``tblog[image]``)."""
        writer = self._live_writer()
        if writer is not None:
            self._call("image", writer.add_image, tag, image, step, dataformats=dataformats)

    def images(
        self, tag: str, images: Any, step: int | None = None, *, dataformats: str = "NCHW"
    ) -> None:
        """Write a batch of images as one grid image; needs Pillow (``tblog[image]``)."""
        writer = self._live_writer()
        if writer is not None:
            self._call("images", writer.add_images, tag, images, step, dataformats=dataformats)

    def figure(self, tag: str, figure: Any, step: int | None = None, *, close: bool = True) -> None:
        """Render a matplotlib figure (or a list of them) as an image.

        Raises:
            ModuleNotFoundError: matplotlib or Pillow is missing (``pip install "tblog[figure]"``).
        """
        writer = self._live_writer()
        if writer is None:
            return
        require("matplotlib.backends.backend_agg", "figure", "figures")
        require("PIL.Image", "figure", "figures")
        self._call("figure", writer.add_figure, tag, figure, step, close=close)

    def table(
        self,
        tag: str,
        columns: Sequence[str],
        rows: Sequence[Sequence[Any]],
        step: int | None = None,
    ) -> None:
        """Write a table as Markdown text (like Composer's ``log_table``)."""
        writer = self._live_writer()
        if writer is None:
            return
        try:
            text = markdown_table(columns, rows)
        except Exception as exc:  # noqa: BLE001 - helpers never raise on bad values
            self._bad("table", PointError(type(exc).__name__, describe(exc)))
            return
        self._call("table", writer.add_text, tag, text, step)

    def hparams(
        self, hparam_dict: Mapping[str, Any], metric_dict: Mapping[str, Any] | None = None
    ) -> None:
        """Record the run's hyperparameters once, in this run (TensorBoard's HParams tab).

        ``metric_dict`` names the metrics the HParams tab shows, with their first values; later
        ``scalar(tag, value, step)`` calls on those tags update them as training goes. A second
        call is reported and ignored: TensorBoard keeps one set of hyperparameters per run.
        """
        writer = self._live_writer()
        if writer is None:
            return
        if self._hparams_written:
            self._bad("hparams", ValueError("hparams were already written for this run"))
            return
        try:
            writer.add_hparams(hparam_dict, metric_dict or {})
        except (ValueError, TypeError) as exc:
            self._bad("hparams", exc)
            return
        self._hparams_written = True

    def timer(self, tag: str, step: int | None = None) -> _Timer:
        """Time a ``with`` block or a decorated function; log the seconds as scalar ``tag``.

        Example:
            >>> with run.timer("time/epoch"):
            ...     train_one_epoch()
            >>> @run.timer("time/eval")
            ... def evaluate(): ...
        """
        return _Timer(self, tag, step)

    def scalar_ts(self, tag: str, value: Any) -> None:
        """Write a scalar whose step is the time since setup, in microseconds (like hyrax)."""
        elapsed_us = max(0, (time.monotonic_ns() - self._started_ns) // 1000)
        self.scalar(tag, value, elapsed_us)

    def duration_ts(self, tag: str, start_ns: int) -> None:
        """Write the seconds since ``start_ns`` (a ``time.monotonic_ns()``) at its start time.

        The step is the start's offset from setup in microseconds, as ``scalar_ts`` uses.
        """
        now = time.monotonic_ns()
        step = max(0, (start_ns - self._started_ns) // 1000)
        self.scalar(tag, (now - start_ns) / 1e9, step)

    # ---- several processes ----------------------------------------------------------------

    def log_queue(self, queue: Any = None) -> Any:
        """Return a queue whose records this run writes (the parent half of the process recipe).

        A ``logging.handlers.QueueListener`` feeds the records that workers put on the queue (see
        ``tblog.log_to_queue``) to the handlers setup installed (file log, TensorBoard, console),
        each at its own level. Steps left out are assigned here, centrally, so a tag shared by
        workers gets 0, 1, 2, ... without collisions. ``close()`` writes what is queued first.

        Args:
            queue: The queue to listen on; default a new ``multiprocessing.Queue()``, which is
                passed to workers as a ``Process`` or pool-initializer argument (use a
                ``multiprocessing.Manager().Queue()`` to hand it over later).

        Returns:
            The queue (the same one on later calls).
        """
        if self._listener is None:
            import logging.handlers
            import multiprocessing

            self._live_writer()
            self._queue = queue if queue is not None else multiprocessing.Queue(-1)
            self._listener = logging.handlers.QueueListener(
                self._queue, *self._installed, respect_handler_level=True
            )
            self._listener.start()
        return self._queue

    # ---- lifetime -------------------------------------------------------------------------

    def flush(self) -> None:
        """Write everything logged so far to the file log and the run."""
        for handler in self._installed:
            handler.flush()
        if self._writer is not None and not self._writer.closed:
            self._writer.flush()

    def close(self) -> None:
        """Remove and close what setup installed and restore the root logger; idempotent."""
        global _active
        with _lock:
            if self._closed:
                return
            self._closed = True
            if self._listener is not None:
                self._listener.stop()  # hands over every record already queued, then stops
                self._listener = None
            root = logging.getLogger()
            for handler in self._installed:
                root.removeHandler(handler)
                handler.close()
            if self._previous_level is not None:
                root.setLevel(self._previous_level)
            if self._writer is not None:
                self._writer.close()
            if _active is self:
                _active = None
                _run.set_active_logdir(None)

    def __enter__(self) -> RootLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "active" if self.active else "inactive"
        return f"<RootLogger {state} log_file={self._log_file} run_path={self._run_path}>"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """Render a Markdown table; cells are str()-ed with pipes and newlines escaped.

    A str subclass (``np.str_``, a ``(str, Enum)`` member) renders as the string it holds.

    Raises:
        ValueError: ``columns`` is empty or a str, or a row is a str or has the wrong length.
        Exception: Whatever a cell's ``__str__`` or a row's iteration raises.
    """

    def cell(value: Any) -> str:
        text = plain_str(value if isinstance(value, str) else str(value))
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    names = [] if isinstance(columns, str) else list(columns)
    if not names:
        msg = "columns must be a non-empty sequence of names"
        raise ValueError(msg)
    lines = ["| " + " | ".join(cell(c) for c in names) + " |"]
    lines.append("|" + "---|" * len(names))
    for number, row in enumerate(rows):
        if isinstance(row, str):
            msg = f"row {number} is a str, not a sequence of cells"
            raise ValueError(msg)  # noqa: TRY004 - a bad table is a ValueError, like a bad length
        cells = list(row)
        if len(cells) != len(names):
            msg = f"row {number} has {len(cells)} cells, the table has {len(names)} columns"
            raise ValueError(msg)
        lines.append("| " + " | ".join(cell(v) for v in cells) + " |")
    return "\n".join(lines)


def _usable_dir(path: Path, what: str) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"{what} {str(path)!r} cannot be created: {exc.strerror or exc}"
        raise SetupError(msg) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        msg = f"{what} {str(path)!r} is not writable"
        raise SetupError(msg)


def _install(
    *,
    log_file: Path,
    run_path: Path | None,
    rank: int,
    level: int | str,
    console: bool,
    fmt: str,
    text_tag: str | None,
    flush_secs: float,
    purge_step: int | None = None,
) -> RootLogger:
    global _active
    with _lock:
        if _active is not None:
            _active.close()
        _usable_dir(log_file.parent, "log_root")
        if run_path is not None:
            _usable_dir(run_path.parent, "runs_root")
        root = logging.getLogger()
        formatter = logging.Formatter(fmt)
        installed: list[logging.Handler] = []
        file_handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
        file_handler.setFormatter(formatter)
        installed.append(file_handler)
        writer = None
        if run_path is not None:
            first_events: list[Callable[[], Any]] = []
            seeds: dict[str, int] = {}
            if purge_step is not None or run_path.exists():
                first_events, seeds = _resume_plan(run_path, purge_step)
            run = _run.acquire(run_path, flush_secs=flush_secs, first_events=first_events)
            if run.refs > 1:  # already open in this process: the purge goes into its queue
                for build in first_events:
                    run.put_event(build)
            run.seed_steps(seeds)
            writer = RunWriter.adopt(run)
            installed.append(TensorBoardHandler(run_path, text_tag=text_tag, flush_secs=flush_secs))
        if console and not _has_console(root):
            stream = logging.StreamHandler()
            stream.setFormatter(formatter)
            installed.append(stream)
        previous_level = root.level
        for handler in installed:
            root.addHandler(handler)
        root.setLevel(level)
        facade = RootLogger(
            log_file=log_file,
            run_path=run_path,
            writer=writer,
            rank=rank,
            installed=installed,
            previous_level=previous_level,
        )
        _active = facade
        _run.set_active_logdir(str(run_path) if run_path is not None else None)
        return facade


def _has_console(root: logging.Logger) -> bool:
    """True if the root logger already prints to stderr or stdout (no duplicate lines)."""
    return any(
        type(h) is logging.StreamHandler and getattr(h, "stream", None) in (sys.stderr, sys.stdout)
        for h in root.handlers
    )


def _resume_plan(
    run_path: Path, purge_step: int | None
) -> tuple[list[Callable[[], Any]], dict[str, int]]:
    """Return the first events and per-tag step counters that continue an existing run.

    Without ``purge_step`` every tag continues after its last step (so no reader sees a step go
    back). With it, the new event file starts with two ``SessionLog.START`` events at that step:
    TensorBoard's Python loader ignores the first START of a run and purges every point at or
    after the step on the next. Tags then count on from ``purge_step``, so their steps go back
    there, which is what makes the Rust loader drop each re-logged tag's stale points.
    """
    from tblog._reader import last_steps

    steps = last_steps(run_path)
    if purge_step is None:
        return [], {tag: step + 1 for tag, step in steps.items()}
    # Tags already past purge_step go back to it; the others continue after their last step,
    # so no old point is shadowed (the Rust loader keeps only the last point of a step).
    seeds = {tag: min(step + 1, purge_step) for tag, step in steps.items()}
    return [_session_start(purge_step), _session_start(purge_step)], seeds


def _session_start(step: int) -> Callable[[], Any]:
    def build() -> Any:
        from tensorboardX.proto.event_pb2 import Event, SessionLog

        return Event(step=step, wall_time=time.time(), session_log=SessionLog(status=1))

    return build


def setup(
    run_name: str,
    *,
    log_root: str | os.PathLike[str] = "logs",
    runs_root: str | os.PathLike[str] = "runs",
    level: int | str = logging.INFO,
    console: bool = True,
    log_name: str | None = None,
    fmt: str = DEFAULT_FORMAT,
    per_rank: bool = False,
    text_tag: str | None = DEFAULT_TEXT_TAG,
    flush_secs: float = _run.DEFAULT_FLUSH_SECS,
) -> RootLogger:
    """Install a file log, a TensorBoard run and a console on the stdlib root logger.

    The file log is ``<log_root>/<log_name>.log`` (rank r > 0: ``<log_name>.rank<r>.log``), the
    run ``<runs_root>/<log_name>`` (with ``per_rank``: ``<runs_root>/<log_name>/rank_<r>``), and
    ``log_name`` defaults to ``get_default_log_name(run_name)``. By default only rank 0 writes
    TensorBoard events; other ranks get no event file and silent TensorBoard helpers. A second
    ``setup`` closes the first. ``close()`` removes exactly what was installed and restores the
    root logger's level.

    Args:
        run_name: Names the run (and, with a timestamp, its files).
        log_root: Directory of the file log.
        runs_root: Directory of TensorBoard runs (what ``tensorboard --logdir`` is given).
        level: The root logger's level while set up.
        console: Also print records on stderr, unless the root logger already does.
        log_name: The file log's and run's name; default ``get_default_log_name(run_name)``.
        fmt: The file log's and console's ``logging.Formatter`` format.
        per_rank: Every rank writes its own sub-run ``rank_<r>`` instead of rank 0 only.
        text_tag: The TensorBoardHandler's text tag (see ``TensorBoardHandler``).
        flush_secs: At most this many seconds pass before a point is on disk.

    Returns:
        The active ``RootLogger``.

    Raises:
        SetupError: ``log_root`` or ``runs_root`` cannot be created or written (names the path).
    """
    check_tag(run_name)
    rank = get_rank()
    name = log_name or _shared_log_name(run_name)
    log_file = Path(log_root) / (f"{name}.log" if rank == 0 else f"{name}.rank{rank}.log")
    run_path: Path | None = Path(runs_root) / name
    if per_rank:
        run_path = Path(runs_root) / name / f"rank_{rank}"
    elif rank != 0:
        run_path = None
    return _install(
        log_file=log_file,
        run_path=run_path,
        rank=rank,
        level=level,
        console=console,
        fmt=fmt,
        text_tag=text_tag,
        flush_secs=flush_secs,
    )


def restore(
    *,
    log_file: str | os.PathLike[str],
    run_path: str | os.PathLike[str] | None,
    purge_step: int | None = None,
    level: int | str = logging.INFO,
    console: bool = True,
    fmt: str = DEFAULT_FORMAT,
    text_tag: str | None = DEFAULT_TEXT_TAG,
    flush_secs: float = _run.DEFAULT_FLUSH_SECS,
) -> RootLogger:
    """Continue a previous run: append to its file log and write into its run directory.

    Without ``purge_step`` every tag continues after its last step. With it, TensorBoard shows no
    point at or after ``purge_step`` from before the restore (resume from a checkpoint taken at
    that step); tags continue from ``purge_step``.

    Args:
        log_file: The file log to append to (``RootLogger.log_file`` of the run).
        run_path: The run directory to continue (``RootLogger.run_path``); None for no events.
        purge_step: Hide the old points at or after this step.
        level: The root logger's level while set up.
        console: Also print records on stderr, unless the root logger already does.
        fmt: The file log's and console's format.
        text_tag: The TensorBoardHandler's text tag.
        flush_secs: At most this many seconds pass before a point is on disk.

    Returns:
        The active ``RootLogger``.

    Raises:
        SetupError: The file log's or run's directory cannot be created or written.
        ValueError: ``purge_step`` is not an int >= 0.
    """
    checked = check_step(purge_step)
    return _install(
        log_file=Path(log_file),
        run_path=Path(run_path) if run_path is not None else None,
        rank=get_rank(),
        level=level,
        console=console,
        fmt=fmt,
        text_tag=text_tag,
        flush_secs=flush_secs,
        purge_step=checked,
    )


def log_to_queue(queue: Any, level: int | str = logging.NOTSET) -> Any:
    """Send this worker process's records to ``queue``: the worker half of the recipe.

    The root logger gets a single ``QueueHandler`` (handlers inherited through ``fork`` are
    removed, not closed, so nothing is written twice), and this process's copy of an active
    ``setup()`` is set aside so it writes no event file of its own. Log with ``extra`` or
    ``tblog.adapter``; the parent's ``RootLogger.log_queue()`` writes the records.

    Args:
        queue: The queue from ``RootLogger.log_queue()`` in the parent.
        level: The worker root logger's level (NOTSET keeps it).

    Returns:
        The installed ``logging.handlers.QueueHandler``.
    """
    import logging.handlers

    global _active
    with _lock:
        _active = None
        _run.set_active_logdir(None)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    queue_handler = logging.handlers.QueueHandler(queue)
    root.addHandler(queue_handler)
    if level != logging.NOTSET:
        root.setLevel(level)
    return queue_handler


def get_root_logger() -> RootLogger:
    """Return the active ``RootLogger``, or an inactive one whose TensorBoard helpers do nothing.

    Library code can log through it without caring whether ``setup`` ran yet.
    """
    return _active if _active is not None else RootLogger()


def is_active() -> bool:
    """True between ``setup``/``restore`` and ``close``."""
    return _active is not None


def flush() -> None:
    """Flush the active run's file log and events (nothing to do when none is active)."""
    facade = _active
    if facade is not None:
        facade.flush()


def close() -> None:
    """Close the active run (idempotent)."""
    facade = _active
    if facade is not None:
        facade.close()
