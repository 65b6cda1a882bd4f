"""The RootLogger facade: one setup and one teardown for the file log and the TensorBoard run."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import itertools
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
from tblog._remote import is_url, open_store
from tblog._report import Once
from tblog._values import (
    MAX_STEP,
    PointError,
    check_step,
    check_tag,
    check_walltime,
    describe,
    metric_points,
    plain_str,
)
from tblog.exceptions import SetupError, WriterClosedError
from tblog.filters import SampleFilter
from tblog.handler import DEFAULT_TEXT_TAG, QueueHandler, TensorBoardHandler, check_text_tag
from tblog.writer import RunWriter, put_points, require

#: The file log's default format.
DEFAULT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"

_F = TypeVar("_F", bound=Callable[..., Any])
#: A run's location: a local directory, or (a str) the URL of a run in object storage.
RunPath = Path | str
_RANK_VARIABLES = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")
#: The format of ``RootLogger.state_dict()``; ``restore(state=...)`` refuses other versions.
STATE_VERSION = 1
_NOT_GIVEN: Any = object()  # restore()'s run_path left out (None means "no events")
_lock = threading.RLock()
_active: RootLogger | None = None


def _new_lock_in_child() -> None:
    """A fork while another thread held the lock (inside close()) must not hang the child."""
    global _lock
    _lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_new_lock_in_child)


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
        run_path: RunPath | None = None,
        writer: RunWriter | None = None,
        rank: int = 0,
        installed: Sequence[logging.Handler] = (),
        previous_level: int | None = None,
        engine: _run.Run | None = None,
        layout: _Layout | None = None,
    ) -> None:
        self._log_file = log_file
        self._run_path = run_path
        self._writer = writer
        self._engine = engine  # the shared run behind ``writer`` (its counters for state_dict)
        self._layout = layout  # how setup named the files of every rank (None after restore)
        self._rank = rank
        self._installed = list(installed)
        self._previous_level = previous_level
        self._closed = False
        self._logger = logging.getLogger()
        self._started_ns = time.monotonic_ns()
        self._hparams_written = False
        self._once = Once()
        self._queue: Any = None
        self._listener: Any = None
        self._pid = os.getpid()  # a forked child must not stop or close what is its parent's
        # Made by get_root_logger() before any setup: it acts on whichever run is active.
        self._detached = log_file is None

    def _target(self) -> RootLogger:
        """The facade this one acts on: itself, or (detached) the active one when there is one."""
        if self._detached:
            active = _active
            if active is not None:
                return active
        return self

    # ---- state ----------------------------------------------------------------------------

    @property
    def log_file(self) -> Path | None:
        """The file log (None before setup)."""
        return self._target()._log_file

    @property
    def run_path(self) -> RunPath | None:
        """The TensorBoard run directory (a str URL for a remote run); None without a run."""
        return self._target()._run_path

    @property
    def rank(self) -> int:
        """The rank this process had at setup."""
        return self._target()._rank

    @property
    def writer(self) -> RunWriter | None:
        """The run's shared writer, with every ``add_*`` method of tensorboardX's SummaryWriter."""
        return self._target()._writer

    @property
    def active(self) -> bool:
        """True while this facade (or, taken before setup, the active one) is set up."""
        target = self._target()
        return not target._closed and target._log_file is not None

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
        target = self._target()
        if target._closed:
            msg = "this RootLogger is closed"
            raise WriterClosedError(msg)
        return target._writer

    def _bad(self, helper: str, exc: Exception) -> None:
        key = (helper, getattr(exc, "key", type(exc).__name__))
        self._once(key, f"{helper}(): {exc}; the point is skipped, the run is kept")

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
            put_points(writer, points)
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
        target = self._target()
        if writer is None:
            return
        if target._hparams_written:
            self._bad("hparams", ValueError("hparams were already written for this run"))
            return
        try:
            writer.add_hparams(hparam_dict, metric_dict or {})
        except (ValueError, TypeError) as exc:
            self._bad("hparams", exc)
            return
        target._hparams_written = True

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
        elapsed_us = max(0, (time.monotonic_ns() - self._target()._started_ns) // 1000)
        self.scalar(tag, value, elapsed_us)

    def duration_ts(self, tag: str, start_ns: int) -> None:
        """Write the seconds since ``start_ns`` (a ``time.monotonic_ns()``) at its start time.

        The step is the start's offset from setup in microseconds, as ``scalar_ts`` uses.
        """
        now = time.monotonic_ns()
        step = max(0, (start_ns - self._target()._started_ns) // 1000)
        self.scalar(tag, (now - start_ns) / 1e9, step)

    # ---- checkpoints ----------------------------------------------------------------------

    def state_dict(self, *, step: int) -> dict[str, Any]:
        """Return what ``tblog.restore(state=...)`` needs to continue this run from a checkpoint.

        Save it with the model's checkpoint (``torch.save``, pickle, JSON: it is a small dict of
        str, int, bool and None). ``step`` is the last step the checkpoint covers, the step just
        trained and logged: restoring from the state purges every point after it (steps
        ``> step``), so TensorBoard shows one curve without the points logged after the
        checkpoint by the run that died. A loop that logs ``step`` itself again (one that
        restarts at the checkpoint's step) replaces its old points: the purge moves down to a
        step a tag logs again. Under ``torch.distributed`` every rank's state names
        its own file log and run; the state of one rank (rank 0's, in a checkpoint only rank 0
        saves) also restores the others when it came from ``setup`` (it records the naming).

        Args:
            step: The last step whose points belong to the checkpoint, an int >= 0.

        Returns:
            A plain dict: ``version``, ``run_name``, ``log_name``, ``log_file``, ``run_path``
            (str; a URL for a remote run; None on a rank that writes no events), ``log_root``,
            ``runs_root``, ``per_rank``, ``rank``, ``step``, ``counters`` (each tag's next
            counted step) and ``hparams_written``.

        Raises:
            ValueError: ``step`` is not an int >= 0, or is 2**63 - 1 (no step follows it).
            RuntimeError: Nothing is set up (a facade taken before ``setup``).
        """
        target = self._target()
        if target._log_file is None:
            msg = "state_dict() needs a run: call tblog.setup() or tblog.restore() first"
            raise RuntimeError(msg)
        checked = check_step(step)
        if checked is None:
            msg = "state_dict() needs step=, the last step the checkpoint covers"
            raise ValueError(msg)
        if checked >= MAX_STEP:
            msg = (
                f"step {checked} is 2**63 - 1, the last step TensorBoard shows: a checkpoint "
                "there cannot be continued (the next step would pass it)"
            )
            raise ValueError(msg)
        engine = target._engine
        layout = target._layout
        run_path = target._run_path
        return {
            "version": STATE_VERSION,
            "run_name": layout.run_name if layout is not None else None,
            "log_name": layout.log_name if layout is not None else None,
            "log_file": os.fspath(target._log_file),
            "run_path": None if run_path is None else os.fspath(run_path),
            "log_root": layout.log_root if layout is not None else None,
            "runs_root": layout.runs_root if layout is not None else None,
            "per_rank": layout.per_rank if layout is not None else False,
            "rank": target._rank,
            "step": checked,
            "counters": engine.counters() if engine is not None else {},
            "hparams_written": target._hparams_written,
        }

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
        target = self._target()
        if target is not self:
            return target.log_queue(queue)
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
        target = self._target()
        for handler in target._installed:
            handler.flush()
        if target._writer is not None and not target._writer.closed:
            target._writer.flush()

    def close(self) -> None:
        """Remove and close what setup installed and restore the root logger; idempotent.

        Returns once every point logged into the run before it, through any path (handlers,
        writers, processors), is on disk, waiting at most the run's ``timeout_secs``. In a
        forked child it closes only the child's own copies: the parent's queue listener keeps
        running.
        """
        global _active
        target = self._target()
        if target is not self:
            target.close()
            return
        with _lock:
            if self._closed:
                return
            self._closed = True
            if self._listener is not None:
                if self._pid == os.getpid():
                    self._listener.stop()  # hands over every record already queued, then stops
                self._listener = None
            engine = self._engine
            if engine is not None and engine.nan_warning and not engine.closed:
                engine.flush()  # the sentinel's last warnings still reach the file log
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


@dataclasses.dataclass(frozen=True)
class _Options:
    """setup()'s and restore()'s options, checked before anything is touched."""

    level: int
    formatter: logging.Formatter
    console: bool
    text_tag: str | None
    writer: dict[str, Any]  # the run's writer options (flush_secs, timeout_secs, remote ones)
    sample: SampleFilter | None = None  # on the TensorBoard handler only


@dataclasses.dataclass(frozen=True)
class _Layout:
    """How ``setup`` named a run's files, for every rank: what lets one rank's state restore all."""

    run_name: str
    log_name: str
    log_root: str
    runs_root: str
    per_rank: bool

    def files(self, rank: int) -> tuple[Path, RunPath | None]:
        """Return rank ``rank``'s file log and run (None: the rank writes no events)."""
        name = self.log_name
        log_file = Path(self.log_root) / (f"{name}.log" if rank == 0 else f"{name}.rank{rank}.log")
        if self.per_rank:
            return log_file, _location(self.runs_root, name, f"rank_{rank}")
        return log_file, _location(self.runs_root, name) if rank == 0 else None


@dataclasses.dataclass(frozen=True)
class _Resume:
    """What ``restore`` continues: the purge step, and a state's counters and hparams flag."""

    purge_step: int | None = None
    counters: Mapping[str, int] = dataclasses.field(default_factory=dict)
    hparams_written: bool = False


def _check_options(
    *,
    level: Any,
    fmt: Any,
    console: bool,
    text_tag: Any,
    writer: dict[str, Any],
    roots: Mapping[str, Any],
    run_roots: Mapping[str, Any],
    sample: Mapping[str, int] | None = None,
) -> _Options:
    """Validate every option of setup() or restore(); raise naming the first bad one.

    Args:
        level: The root logger's level.
        fmt: The file log's format.
        console: Whether to add a console handler.
        text_tag: The handler's text tag.
        writer: The run's writer options.
        roots: Paths that must be local (the file log's).
        run_roots: Paths that may be URLs too (the run's).
        sample: ``{tag pattern: every}`` for the TensorBoard handler's ``SampleFilter``.

    Raises:
        ValueError: A bad level, format, text tag, option, sample, or a URL as a local root.
        TypeError: A root is not a path, ``sample`` not a mapping, ``nan_warning`` not a bool.
        ModuleNotFoundError: A URL's store needs a package that is missing.
    """
    _run.check_options(**writer)
    sample_filter = None if sample is None else SampleFilter.from_mapping(sample)
    if text_tag is not None:
        check_text_tag(text_tag)
    for what, root in {**roots, **run_roots}.items():
        if root is not None and not isinstance(root, (str, os.PathLike)):
            msg = f"{what} must be a path, got {root!r}"
            raise TypeError(msg)
    for what, root in roots.items():
        if root is not None and "://" in os.fspath(root):
            msg = f"{what} must be a local directory, got the URL {os.fspath(root)!r}"
            raise ValueError(msg)
    for root in run_roots.values():
        if root is not None and is_url(os.fspath(root)):
            open_store(os.fspath(root), writer.get("storage_options"))  # a store fsspec knows
    try:
        formatter = logging.Formatter(fmt)
    except (TypeError, ValueError) as exc:
        msg = f"fmt is not a usable logging format: {exc}"
        raise ValueError(msg) from exc
    return _Options(_check_level(level), formatter, console, text_tag, writer, sample_filter)


def _writer_options(
    flush_secs: Any,
    timeout_secs: Any,
    upload_secs: Any,
    max_bytes: Any,
    storage_options: Any,
    spool_dir: Any,
    nan_warning: Any,
) -> dict[str, Any]:
    """The run's writer options that setup() and restore() take, by name."""
    return {
        "flush_secs": flush_secs,
        "timeout_secs": timeout_secs,
        "upload_secs": upload_secs,
        "max_bytes": max_bytes,
        "storage_options": storage_options,
        "spool_dir": spool_dir,
        "nan_warning": nan_warning,
    }


def _check_level(level: Any) -> int:
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        number = logging.getLevelName(level)
        if isinstance(number, int):
            return number
    msg = f"level must be an int or a level name such as 'INFO', got {level!r}"
    raise ValueError(msg)


def _install(
    *,
    log_file: Path,
    run_path: RunPath | None,
    rank: int,
    options: _Options,
    resume: _Resume | None = None,
    layout: _Layout | None = None,
) -> RootLogger:
    """Build the new facade, and only once it stands, close the previous one and install it.

    A failure leaves nothing behind and the previous setup active.
    """
    global _active
    with _lock:
        if _active is not None:
            _active.flush()  # a resume plan below reads the run as it is on disk
        installed: list[logging.Handler] = []
        writer = engine = None
        try:
            _usable_dir(log_file.parent, "log_root")
            if isinstance(run_path, Path):
                _usable_dir(run_path.parent, "runs_root")
            file_handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
            file_handler.setFormatter(options.formatter)
            installed.append(file_handler)
            if run_path is not None:
                writer, engine = _open_run(run_path, options, resume)
                events = TensorBoardHandler(run_path, text_tag=options.text_tag, **options.writer)
                if options.sample is not None:
                    events.addFilter(options.sample)
                installed.append(events)
        except BaseException:
            for built in installed:
                built.close()
            if writer is not None:
                writer.close()
            raise
        if _active is not None:
            _active.close()
        root = logging.getLogger()
        if options.console and not _has_console(root):
            stream = logging.StreamHandler()
            stream.setFormatter(options.formatter)
            installed.append(stream)
        previous_level = root.level
        for handler in installed:
            root.addHandler(handler)
        root.setLevel(options.level)
        facade = RootLogger(
            log_file=log_file,
            run_path=run_path,
            writer=writer,
            rank=rank,
            installed=installed,
            previous_level=previous_level,
            engine=engine,
            layout=layout,
        )
        facade._hparams_written = resume is not None and resume.hparams_written
        _active = facade
        _run.set_active_logdir(str(run_path) if run_path is not None else None)
        return facade


def _open_run(
    run_path: RunPath, options: _Options, resume: _Resume | None
) -> tuple[RunWriter, _run.Run]:
    """Acquire the run of ``run_path``, continuing an existing one (and purging) as asked.

    Returns a writer holding a share of the run, and the run itself (for its counters).
    """
    first_events: list[Callable[[], Any]] = []
    seeds: dict[str, int] = {}
    if resume is None:
        resume = _Resume()
    if isinstance(run_path, str):  # a run in object storage: read what it holds, if anything
        try:
            first_events, seeds = resume_plan(run_path, resume.purge_step, resume.counters)
        except (OSError, ValueError) as exc:
            if resume.purge_step is not None:
                msg = f"run_path {run_path!r} cannot be read to resume it: {exc}"
                raise SetupError(msg) from exc
    elif resume.purge_step is not None or resume.counters or run_path.exists():
        first_events, seeds = resume_plan(run_path, resume.purge_step, resume.counters)
    run = _run.acquire(run_path, first_events=first_events, **options.writer)
    try:
        if run.refs > 1:  # already open in this process: the purge goes into its queue
            for build in first_events:
                run.put_event(build)
        run.seed_steps(seeds)
        if resume.purge_step is not None and first_events:
            run.purge_below(seeds)  # a loop may log a step again: that step is purged then
        return RunWriter(run.key), run  # a share of the run just opened, with its options
    finally:
        _run.release(run)


def _has_console(root: logging.Logger) -> bool:
    """True if the root logger already prints to stderr or stdout (no duplicate lines)."""
    return any(
        type(h) is logging.StreamHandler and getattr(h, "stream", None) in (sys.stderr, sys.stdout)
        for h in root.handlers
    )


def resume_plan(
    run_path: RunPath, purge_step: int | None, counters: Mapping[str, int] | None = None
) -> tuple[list[Callable[[], Any]], dict[str, int]]:
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
    from tblog._reader import last_steps

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
    first = [_run.session_start(purge_step), _run.session_start(purge_step)]
    return first + [functools.partial(_copy, event) for event in kept], seeds


def _copy(event: Any) -> Any:
    """The builder of a point written again after a purge: the event read back, unchanged."""
    return event


def _points_before_checkpoint(
    run_path: RunPath, purge_step: int, ahead: Mapping[str, int]
) -> list[Any]:
    """The run's events of the tags in ``ahead`` at steps in ``[purge_step, ahead[tag])``.

    Each event keeps only those tags' values; file order is kept, and a ``SessionLog.START``
    in the run drops what was gathered at or after its step (an earlier resume's purge), as
    TensorBoard's loaders do.
    """
    from tensorboardX.proto.event_pb2 import Event

    from tblog._encode import masked_crc
    from tblog._reader import _HEAD, _U32, Source

    source, root = Source.for_path(run_path)
    kept: list[Any] = []
    for path in source.event_files(root):
        with source.open(path) as file:
            data = file.read()
        pos = 0
        while pos + _HEAD.size <= len(data):
            size, header_crc = _HEAD.unpack_from(data, pos)
            end = pos + _HEAD.size + size
            if masked_crc(data[pos : pos + 8]) != header_crc or end + _U32.size > len(data):
                break  # a torn or damaged record: readers stop there too
            record = data[pos + _HEAD.size : end]
            if masked_crc(record) != _U32.unpack_from(data, end)[0]:
                break
            pos = end + _U32.size
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
    timeout_secs: float = _run.DEFAULT_TIMEOUT_SECS,
    upload_secs: float = _run.DEFAULT_UPLOAD_SECS,
    max_bytes: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    sample: Mapping[str, int] | None = None,
    nan_warning: bool = True,
) -> RootLogger:
    """Install a file log, a TensorBoard run and a console on the stdlib root logger.

    The file log is ``<log_root>/<log_name>.log`` (rank r > 0: ``<log_name>.rank<r>.log``), the
    run ``<runs_root>/<log_name>`` (with ``per_rank``: ``<runs_root>/<log_name>/rank_<r>``), and
    ``log_name`` defaults to ``get_default_log_name(run_name)``, made unique on disk: a name
    already taken (another process, or an earlier setup, in the same second) gets ``_2``,
    ``_3``, ... By default only rank 0 writes TensorBoard events; other ranks get no event file
    and silent TensorBoard helpers. A second ``setup`` closes the first once the new one stands;
    a setup that fails leaves the previous one active and nothing behind. ``close()`` removes
    exactly what was installed and restores the root logger's level.

    Args:
        run_name: Names the run (and, with a timestamp, its files).
        log_root: Directory of the file log (local).
        runs_root: Directory of TensorBoard runs (what ``tensorboard --logdir`` is given), or
            a URL in object storage (``s3://bucket/runs``; ``run_path`` is then a str URL).
        level: The root logger's level while set up.
        console: Also print records on stderr, unless the root logger already does.
        log_name: The file log's and run's name; default ``get_default_log_name(run_name)``.
        fmt: The file log's and console's ``logging.Formatter`` format.
        per_rank: Every rank writes its own sub-run ``rank_<r>`` instead of rank 0 only.
        text_tag: The TensorBoardHandler's text tag (see ``TensorBoardHandler``).
        flush_secs: At most this many seconds pass before a point is on disk.
        timeout_secs: The longest ``flush()``/``close()`` wait for the disk (and the exit hook's).
        upload_secs: A remote run uploads a new segment at least this often.
        max_bytes: Start a new event file (or segment) before one grows past this many bytes.
        storage_options: fsspec options of a remote run (default: from the environment).
        spool_dir: Where a remote run's segments wait for upload.
        sample: ``{tag pattern: N}``: the TensorBoard handler writes only every N-th step of
            the matching tags (a ``tblog.SampleFilter`` on that handler; a tag follows the
            first pattern it matches); the file log and the console keep every line.
        nan_warning: Warn through the ``tblog.nan`` logger when a scalar tag turns NaN or
            infinite, and when it is finite again (see ``TensorBoardHandler``).

    Returns:
        The active ``RootLogger``.

    Raises:
        SetupError: ``log_root`` or ``runs_root`` cannot be created or written (names the path).
        ValueError: A bad option (level, fmt, text_tag, flush_secs, timeout_secs, sample, a
            URL ``log_root``, a URL scheme fsspec does not know).
        TypeError: ``sample`` is not a mapping, or ``nan_warning`` not a bool.
        ModuleNotFoundError: A remote ``runs_root`` needs fsspec or the store's package.
    """
    run_name = check_tag(run_name)  # a str subclass (an Enum member, say) as its plain str
    if log_name is not None:
        log_name = check_tag(log_name)
    options = _check_options(
        level=level,
        fmt=fmt,
        console=console,
        text_tag=text_tag,
        writer=_writer_options(
            flush_secs,
            timeout_secs,
            upload_secs,
            max_bytes,
            storage_options,
            spool_dir,
            nan_warning,
        ),
        roots={"log_root": log_root},
        run_roots={"runs_root": runs_root},
        sample=sample,
    )
    rank = get_rank()
    runs = _location(runs_root)
    new_dirs = _missing_dirs(Path(log_root), runs)  # removed again if setup fails
    claimed: list[Path] = []
    try:
        name = log_name or _shared_log_name(run_name, Path(log_root), runs, rank, claimed, options)
        layout = _Layout(run_name, name, os.fspath(log_root), os.fspath(runs_root), per_rank)
        log_file, run_path = layout.files(rank)
        return _install(
            log_file=log_file, run_path=run_path, rank=rank, options=options, layout=layout
        )
    except BaseException:
        _unclaim(claimed + new_dirs)
        raise


def _location(root: str | os.PathLike[str], *names: str) -> RunPath:
    """``root/names...``: a str for a URL (a Path would fold its ``//``), else a Path."""
    text = os.fspath(root)
    if is_url(text):
        return "/".join([text.rstrip("/"), *names])
    return Path(text).joinpath(*names)


def _shared_log_name(
    run_name: str,
    log_root: Path,
    runs_root: RunPath,
    rank: int,
    claimed: list[Path],
    options: _Options,
) -> str:
    """A fresh ``log_name`` for a new run, claimed on disk; under torch.distributed, rank 0's."""
    dist = _torch_distributed()
    if dist is not None and dist.get_world_size() > 1:
        mine = _claim_name(run_name, log_root, runs_root, claimed, options) if rank == 0 else None
        names = [mine]
        dist.broadcast_object_list(names, src=0)
        return str(names[0])
    if rank != 0:  # ranks without torch.distributed cannot agree on a claim: pass log_name
        return get_default_log_name(run_name)
    return _claim_name(run_name, log_root, runs_root, claimed, options)


def _claim_name(
    run_name: str, log_root: Path, runs_root: RunPath, claimed: list[Path], options: _Options
) -> str:
    """Return ``<run_name>_<stamp>`` (``_2``, ``_3``, ... when taken), claimed atomically.

    The claim creates the run directory and the file log exclusively, so two processes (or a
    quick sweep in one) starting in the same second never share a run or a log by accident.
    In object storage, which has no directories to create, a run that already has objects
    counts as taken (checked once; the file log's claim stays atomic).

    Raises:
        SetupError: A root cannot be created or written.
    """
    _usable_dir(log_root, "log_root")
    if isinstance(runs_root, Path):
        _usable_dir(runs_root, "runs_root")
    base = get_default_log_name(run_name)
    for number in itertools.count(1):
        name = base if number == 1 else f"{base}_{number}"
        log_file = log_root / f"{name}.log"
        run_dir = runs_root / name if isinstance(runs_root, Path) else None
        if run_dir is None:
            if _remote_run_exists(f"{runs_root}/{name}", options):
                continue
        else:
            try:
                run_dir.mkdir()
            except FileExistsError:
                continue
            except OSError as exc:
                msg = f"runs_root {str(runs_root)!r}: cannot create {name!r}: {exc.strerror}"
                raise SetupError(msg) from exc
        try:
            os.close(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            if run_dir is not None:
                run_dir.rmdir()
            continue
        except OSError as exc:
            if run_dir is not None:
                run_dir.rmdir()
            msg = f"log_root {str(log_root)!r}: cannot create {log_file.name!r}: {exc.strerror}"
            raise SetupError(msg) from exc
        claimed += [log_file] if run_dir is None else [log_file, run_dir]
        return name
    raise AssertionError  # pragma: no cover - itertools.count never ends


def _remote_run_exists(url: str, options: _Options) -> bool:
    """True if the store already holds objects under ``url`` (False when it cannot tell)."""
    try:
        fs, path = open_store(url, options.writer.get("storage_options"))
        return bool(fs.exists(path))
    except Exception:  # noqa: BLE001 - an unreachable store: the writer will say so itself
        return False


def _missing_dirs(*paths: RunPath | None) -> list[Path]:
    """The local directories on the way to ``paths`` that do not exist yet, deepest first."""
    missing: list[Path] = []
    for path in paths:
        if not isinstance(path, Path):
            continue
        for directory in (path, *path.parents):
            if directory.exists():
                break
            missing.append(directory)
    return sorted(set(missing), key=lambda p: len(p.parts), reverse=True)


def _unclaim(claimed: list[Path]) -> None:
    """Remove a claimed file log and run directory again if nothing was written into them."""
    for path in claimed:
        with contextlib.suppress(OSError):
            if path.is_dir():
                path.rmdir()  # only while empty
            elif path.stat().st_size == 0:
                path.unlink()


def restore(
    *,
    log_file: str | os.PathLike[str] | None = None,
    run_path: str | os.PathLike[str] | None = _NOT_GIVEN,
    state: Mapping[str, Any] | None = None,
    purge_step: int | None = None,
    level: int | str = logging.INFO,
    console: bool = True,
    fmt: str = DEFAULT_FORMAT,
    text_tag: str | None = DEFAULT_TEXT_TAG,
    flush_secs: float = _run.DEFAULT_FLUSH_SECS,
    timeout_secs: float = _run.DEFAULT_TIMEOUT_SECS,
    upload_secs: float = _run.DEFAULT_UPLOAD_SECS,
    max_bytes: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    sample: Mapping[str, int] | None = None,
    nan_warning: bool = True,
) -> RootLogger:
    """Continue a previous run: append to its file log and write into its run directory.

    Give either ``log_file`` and ``run_path``, or the ``state`` a checkpoint saved from
    ``RootLogger.state_dict(step=K)``. Without ``purge_step`` every tag continues after its
    last step. With it, TensorBoard shows no point at or after ``purge_step`` from before the
    restore (resume from a checkpoint taken at that step); tags continue from ``purge_step``.
    A ``state`` purges from ``K + 1`` on (the points after the checkpoint's step), unless
    ``purge_step`` says otherwise; with a purge, a tag that logs one of its old steps below it
    again moves the purge down to that step, so a loop restarting at ``K`` shows ``K`` once;
    it also brings back the per-tag step counters and whether
    hyperparameters were written. Under ``torch.distributed`` each rank restores its own file
    log and run: from its own state, or from another rank's state made by ``setup``.

    Args:
        log_file: The file log to append to (``RootLogger.log_file`` of the run).
        run_path: The run directory to continue (``RootLogger.run_path``); None for no events.
        state: A ``RootLogger.state_dict()``, instead of ``log_file`` and ``run_path``.
        purge_step: Hide the old points at or after this step.
        level: The root logger's level while set up.
        console: Also print records on stderr, unless the root logger already does.
        fmt: The file log's and console's format.
        text_tag: The TensorBoardHandler's text tag.
        flush_secs: At most this many seconds pass before a point is on disk.
        timeout_secs: The longest ``flush()``/``close()`` wait for the disk (and the exit hook's).
        upload_secs: A remote run uploads a new segment at least this often.
        max_bytes: Start a new event file (or segment) before one grows past this many bytes.
        storage_options: fsspec options of a remote run (default: from the environment).
        spool_dir: Where a remote run's segments wait for upload.
        sample: ``{tag pattern: N}`` for the TensorBoard handler, as ``setup`` takes it.
        nan_warning: The NaN/Inf sentinel, as ``setup`` takes it.

    Returns:
        The active ``RootLogger``.

    Raises:
        SetupError: The file log's or run's directory cannot be created or written.
        ValueError: ``purge_step`` is not an int >= 0; ``state`` is not a tblog state, or
            comes from another rank and does not say how that rank's files are named.
        TypeError: Both ``state`` and ``log_file``/``run_path``, or neither, are given.
    """
    checked = check_step(purge_step)
    rank = get_rank()
    layout: _Layout | None = None
    resume = _Resume(checked)
    if state is not None:
        if log_file is not None or run_path is not _NOT_GIVEN:
            msg = "restore() takes state= or log_file= and run_path=, not both"
            raise TypeError(msg)
        log_file, run_path, layout, resume = _from_state(state, rank, checked)
    elif log_file is None or run_path is _NOT_GIVEN:
        msg = "restore() needs log_file= and run_path= (None for no events), or state="
        raise TypeError(msg)
    options = _check_options(
        level=level,
        fmt=fmt,
        console=console,
        text_tag=text_tag,
        writer=_writer_options(
            flush_secs,
            timeout_secs,
            upload_secs,
            max_bytes,
            storage_options,
            spool_dir,
            nan_warning,
        ),
        roots={"log_file": log_file},
        run_roots={"run_path": run_path},
        sample=sample,
    )
    location = _location(run_path) if run_path is not None else None
    new_dirs = _missing_dirs(Path(log_file).parent, location)
    try:
        return _install(
            log_file=Path(log_file),
            run_path=location,
            rank=rank,
            options=options,
            resume=resume,
            layout=layout,
        )
    except BaseException:
        _unclaim(new_dirs)
        raise


def _from_state(
    state: Mapping[str, Any], rank: int, purge_step: int | None
) -> tuple[str, str | None, _Layout | None, _Resume]:
    """Read a ``state_dict()``: this rank's file log and run, its naming, and what to resume.

    Raises:
        ValueError: Not a tblog state (naming the bad key), or another rank's state that does
            not say how this rank's files are named.
    """
    if not isinstance(state, Mapping) or state.get("version") != STATE_VERSION:
        msg = (
            f"state must be a RootLogger.state_dict() (version {STATE_VERSION}), got {state!r:.80}"
        )
        raise ValueError(msg)
    step = _state_key(state, "step", int)
    counters = _state_key(state, "counters", dict)
    if not 0 <= step < MAX_STEP:
        msg = f"state['step'] must be < 2**63 - 1 (the next step must fit), got {step}"
        raise ValueError(msg)
    # A counter is a tag's next step: 2**63 means "logged at the last step", its later counted
    # points are dropped (and said so); past that the state was not made by state_dict().
    if not all(
        isinstance(tag, str) and type(n) is int and 0 <= n <= MAX_STEP + 1
        for tag, n in counters.items()
    ):
        msg = "state['counters'] must hold ints from 0 to 2**63 (each tag's next step)"
        raise ValueError(msg)
    names = {key: _state_key(state, key, str, optional=True) for key in _LAYOUT_KEYS}
    per_rank = _state_key(state, "per_rank", bool)
    layout = None
    if None not in names.values():
        layout = _Layout(**names, per_rank=per_rank)
    log_file = _state_key(state, "log_file", str)
    run_path = _state_key(state, "run_path", str, optional=True)
    resume = _Resume(
        step + 1 if purge_step is None else purge_step,
        counters,
        _state_key(state, "hparams_written", bool),
    )
    if _state_key(state, "rank", int) != rank:
        if layout is None:
            msg = (
                f"state comes from rank {state['rank']}, this is rank {rank}, and it does not "
                "say how this rank's files are named (restore each rank from its own state)"
            )
            raise ValueError(msg)
        mine, my_run = layout.files(rank)
        same_run = my_run is not None and os.fspath(my_run) == run_path
        log_file, run_path = os.fspath(mine), None if my_run is None else os.fspath(my_run)
        if not same_run:  # another rank's run: its counters and hparams are not this run's
            resume = _Resume(resume.purge_step)
    return log_file, run_path, layout, resume


_LAYOUT_KEYS = ("run_name", "log_name", "log_root", "runs_root")


def _state_key(state: Mapping[str, Any], key: str, kind: type, *, optional: bool = False) -> Any:
    """``state[key]`` if it is a ``kind`` (or None when ``optional``); else ValueError."""
    value = state.get(key)
    if value is None and optional:
        return value
    if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
        return value
    expected = f"None or a {kind.__name__}" if optional else f"a {kind.__name__}"
    msg = f"state[{key!r}] must be {expected}, got {value!r:.80}"
    raise ValueError(msg)


def log_to_queue(queue: Any, level: int | str = logging.NOTSET) -> Any:
    """Send this worker process's records to ``queue``: the worker half of the recipe.

    The root logger gets a single ``tblog.QueueHandler`` (handlers inherited through ``fork`` are
    removed, not closed, so nothing is written twice), and this process's copy of an active
    ``setup()`` is set aside so it writes no event file of its own. Log with ``extra`` or
    ``tblog.adapter``; the parent's ``RootLogger.log_queue()`` writes the records.

    Args:
        queue: The queue from ``RootLogger.log_queue()`` in the parent.
        level: The worker root logger's level (NOTSET keeps it).

    Returns:
        The installed ``tblog.QueueHandler`` (it keeps structlog event dicts intact).
    """
    import logging.handlers

    global _active
    with _lock:
        _active = None
        _run.set_active_logdir(None)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    queue_handler = QueueHandler(queue)
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
