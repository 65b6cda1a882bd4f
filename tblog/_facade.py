"""The RootLogger facade over the file log and the TensorBoard run that setup() installed."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from tblog import _registry
from tblog._extras import require
from tblog._layout import Layout, RunPath
from tblog._report import Once
from tblog._run import Run
from tblog._table import markdown_table
from tblog._timer import Timer
from tblog._values import (
    MAX_STEP,
    PointError,
    check_step,
    check_tag,
    check_walltime,
    describe,
    metric_points,
)
from tblog.exceptions import WriterClosedError
from tblog.writer import RunWriter, put_points

#: The format of ``RootLogger.state_dict()``; ``restore(state=...)`` refuses other versions.
STATE_VERSION = 1


class ActiveFacade:
    """The facade ``setup``/``restore`` installed (or None), and the lock that swaps it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.facade: RootLogger | None = None

    def new_lock_in_child(self) -> None:
        """A fork while another thread held the lock (inside close()) must not hang the child."""
        self.lock = threading.RLock()


#: The active facade of this process.
ACTIVE = ActiveFacade()

if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=ACTIVE.new_lock_in_child)


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
        engine: Run | None = None,
        layout: Layout | None = None,
        hparams_written: bool = False,
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
        self._hparams_written = hparams_written
        self._once = Once()
        self._queue: Any = None
        self._listener: Any = None
        self._pid = os.getpid()  # a forked child must not stop or close what is its parent's
        # Made by get_root_logger() before any setup: it acts on whichever run is active.
        self._detached = log_file is None

    def _target(self) -> RootLogger:
        """The facade this one acts on: itself, or (detached) the active one when there is one."""
        if self._detached:
            active = ACTIVE.facade
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

    def timer(self, tag: str, step: int | None = None) -> Timer:
        """Time a ``with`` block or a decorated function; log the seconds as scalar ``tag``.

        Example:
            >>> with run.timer("time/epoch"):
            ...     train_one_epoch()
            >>> @run.timer("time/eval")
            ... def evaluate(): ...
        """
        return Timer(self, tag, step)

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
        target = self._target()
        if target is not self:
            target.close()
            return
        with ACTIVE.lock:
            if self._closed:
                return
            self._closed = True
            self._stop_listener()
            engine = self._engine
            if engine is not None and engine.nan_warning and not engine.closed:
                engine.flush()  # the sentinel's last warnings still reach the file log
            self._uninstall()
            if self._writer is not None:
                self._writer.close()
            if ACTIVE.facade is self:
                ACTIVE.facade = None
                _registry.set_active_logdir(None)

    def _stop_listener(self) -> None:
        """Stop the queue listener of ``log_queue`` (in the process that started it)."""
        if self._listener is not None:
            if self._pid == os.getpid():
                self._listener.stop()  # hands over every record already queued, then stops
            self._listener = None

    def _uninstall(self) -> None:
        """Remove and close the handlers setup installed; give the root logger its level back."""
        root = logging.getLogger()
        for handler in self._installed:
            root.removeHandler(handler)
            handler.close()
        if self._previous_level is not None:
            root.setLevel(self._previous_level)

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
