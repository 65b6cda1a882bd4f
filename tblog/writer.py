"""The public face of a run's shared writer, with tensorboardX ``SummaryWriter`` method names."""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, TypeVar

from tblog import _options, _registry
from tblog._encode import as_summary, constant, hparams_summaries
from tblog._extras import require
from tblog._hparams_tags import SESSION_START_TAG
from tblog._kinds import HISTOGRAM, SUMMARY, TEXT
from tblog._options import WriterOptions
from tblog._peer import check_image_layout, checked_scalar, parsed, scalar_points
from tblog._run import Run
from tblog._stats import WriterStats, stats_of
from tblog._tbx import Owner, summary_writer_on, with_dependency_hint
from tblog._values import MAX_STEP, Point, check_step, check_tag, check_walltime, classify, snapshot
from tblog.exceptions import WriterClosedError

PathLike = str | os.PathLike[str]
_Writer = TypeVar("_Writer", bound="RunWriter")


def put_points(writer: RunWriter, points: list[Point]) -> None:
    """Queue validated points (``_values.metric_points``) into a writer's run, under one lock.

    Raises:
        WriterClosedError: The writer is closed.
    """
    writer._live().put_many(points)


# Run directories whose own run holds an HParams session (TensorBoard shows one per run).
_sessions: set[str] = set()
_sessions_lock = threading.Lock()


def claim_session(logdir: str) -> bool:
    """Record that the run of ``logdir`` holds an HParams session; True if it held none before."""
    with _sessions_lock:
        first = logdir not in _sessions
        _sessions.add(logdir)
    return first


def put_session(
    writer: RunWriter,
    hparam_dict: Mapping[str, Any],
    metric_dict: Mapping[str, Any],
    global_step: Any,
    build: Callable[[Mapping[str, Any], Mapping[str, Any]], tuple[Any, Any, Any]],
) -> None:
    """Write an HParams session into a writer's run: the summaries ``build`` makes, the metrics.

    ``build(hparam_dict, metric_dict)`` returns the (experiment, start, end) summaries; the
    step is checked as the writer checks a call's step.

    Raises:
        TypeError: The dicts are not mappings.
        ValueError: A metric is not a number, or a bad step.
        WriterClosedError: The writer is closed.
    """
    run = writer._live()
    if not isinstance(hparam_dict, Mapping) or not isinstance(metric_dict, Mapping):
        msg = "hparam_dict and metric_dict must be mappings"
        raise TypeError(msg)
    step, _ = writer._when(global_step, None)
    metrics = scalar_points(metric_dict, "", step, None)
    experiment, start, end = build(hparam_dict, metric_dict)
    claim_session(run.logdir)
    for summary in (experiment, start, end):
        run.put(SUMMARY, "_hparams_", constant(summary), 0, None)
    run.put_many(metrics)


def put_summary(run: Run, summary: Any, step: int | None, walltime: float | None) -> None:
    """Queue a prebuilt Summary message of any proto package (or its bytes) into ``run``.

    Raises:
        TypeError: ``summary`` is not a Summary message or bytes.
        ValueError: Bytes that are no serialized Summary.
    """
    summary = parsed(as_summary, summary, "summary")
    tag = summary.value[0].tag if len(summary.value) else "summary"
    if tag == SESSION_START_TAG:  # hparams built by the caller (Lightning's log_hyperparams)
        claim_session(run.logdir)
    run.put(SUMMARY, tag, constant(summary), step, walltime)


class RunWriter:
    """The shared writer of one run directory, for code that wants TensorBoard calls directly.

    Every ``RunWriter``, ``TensorBoardHandler`` and processor aimed at the same directory in one
    process shares a single background writer and a single event file. Method names and argument
    order follow tensorboardX's ``SummaryWriter``; a missing ``global_step`` is resolved like a
    record's step: the ``tblog.step`` context, else a per-tag counter starting at 0.

    Options take effect when the run is first opened in the process; later writers of the same
    run share it as it is (one ``tblog:`` line on stderr tells a later opener that asked for
    other values which ones the run keeps). Every door into a run (``TensorBoardHandler``,
    ``TensorBoardProcessor``, ``SummaryWriter``, ``setup``, ``restore``) takes these options.

    Args:
        logdir: The run directory, or the URL of a run in object storage (``s3://``, ``gs://``,
            ``az://``, ``memory://``, any fsspec URL; ``file://`` is local); None means the
            active ``tblog.setup()`` run, else the process's default
            ``runs/<YYYYmmdd-HHMMSS>_<host>``.
        flush_secs: At most this many seconds pass between a point and its write to disk.
        max_queue: Points queued for the writer thread before a logging call waits.
        block_secs: How long a logging call waits for room in a full queue before the point is
            dropped and counted; after one such wait, calls drop at once until there is room.
        timeout_secs: The longest ``flush()`` and ``close()`` wait for the disk, and the exit
            hook's limit: a stuck disk never hangs a flush, ``logging.shutdown()`` or exit.
        upload_secs: A remote run uploads a new segment at least this often (default 30 s).
        max_bytes: Start a new event file (or segment) before one grows past this many bytes;
            None: no limit for local runs, 64 MiB segments for remote ones.
        storage_options: fsspec options of a remote run (credentials, endpoint, ...); by default
            they come from the environment (``AWS_ENDPOINT_URL``, ...).
        spool_dir: Where a remote run's segments wait for upload (default ``$TBLOG_SPOOL``, else
            ``<tmp>/tblog-spool``).
        filename_suffix: Appended to the names of the event files (segments) this process
            creates for the run.
        nan_warning: Warn once (logger ``tblog.nan``) when a scalar tag turns NaN or inf, and
            once when it is finite again.

    Raises:
        ValueError: An option is out of range, or fsspec knows no filesystem for the URL.
        ModuleNotFoundError: fsspec or the store's package (s3fs, gcsfs, adlfs) is missing.
    """

    def __init__(
        self,
        logdir: PathLike | None = None,
        *,
        flush_secs: float = _options.DEFAULT_FLUSH_SECS,
        max_queue: int = _options.DEFAULT_MAX_QUEUE,
        block_secs: float = _options.DEFAULT_BLOCK_SECS,
        timeout_secs: float = _options.DEFAULT_TIMEOUT_SECS,
        upload_secs: float = _options.DEFAULT_UPLOAD_SECS,
        max_bytes: int | None = None,
        storage_options: Mapping[str, Any] | None = None,
        spool_dir: PathLike | None = None,
        filename_suffix: str = "",
        nan_warning: bool = True,
    ) -> None:
        options = WriterOptions.pick(locals())
        run = _registry.acquire(logdir, options)
        self._tbx: Any = None  # a tensorboardX SummaryWriter on this run, made on first use
        self._hold(run)

    @classmethod
    def sharing(cls, run: Run) -> RunWriter:
        """A writer of ``run``, acquired for it (``_registry.acquire``): closing releases it."""
        writer = cls.__new__(cls)
        writer._tbx = None
        writer._hold(run)
        return writer

    def _hold(self, run: Run) -> None:
        """Make ``run`` (one reference already taken) this writer's share of the run."""
        self._run: Run | None = run
        self._logdir = run.logdir
        self._dropped_seen = run.dropped  # flush() fails when points were dropped since
        if "_close_lock" not in self.__dict__:
            self._close_lock = threading.Lock()  # a second close() waits for the first

    def _when(self, global_step: Any, walltime: Any) -> tuple[int | None, float | None]:
        """Return a call's checked step and walltime (None: resolved later); raise naming them.

        A step must be an int here, as in a record; ``SummaryWriter`` overrides this to take a
        float step as the peers do.
        """
        return check_step(global_step), check_walltime(walltime)

    # ---- state ----------------------------------------------------------------------------

    @property
    def logdir(self) -> str:
        """The run directory (absolute), or the run's URL."""
        run = self._run
        return run.logdir if run is not None else self._logdir

    def get_logdir(self) -> str:
        """Return the run directory, like ``SummaryWriter.get_logdir()``."""
        return self.logdir

    @property
    def file_path(self) -> str | None:
        """The event file being written, or None (before the first point, or after a fault)."""
        run = self._run
        return run.path if run is not None else None

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called on this writer."""
        return self._run is None

    @property
    def stats(self) -> WriterStats:
        """The run's counters: points written, dropped, errors, and queued now."""
        return stats_of(self._live())

    def _live(self) -> Run:
        run = self._run
        if run is None:
            msg = f"this RunWriter of {self._logdir} is closed"
            raise WriterClosedError(msg)
        return run

    # ---- SummaryWriter-style methods ------------------------------------------------------

    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add one scalar point.

        Args:
            tag: The series name, e.g. ``"loss/train"``.
            scalar_value: A number, numpy scalar or 0-d array/tensor (NaN and inf are kept;
                a finite value beyond float32's range is written as +-inf).
            global_step: The step; None resolves it (``tblog.step`` context, else per-tag count).
            walltime: Seconds since the epoch; default now.

        Raises:
            ValueError: A bad tag, value, step or walltime (the message names it); a str, or an
                int beyond float range such as ``2**1100``, is a bad value.
            WriterClosedError: The writer is closed.
        """
        run = self._run
        if (
            run is not None
            and scalar_value.__class__ is float
            and global_step.__class__ is int
            and 0 <= global_step <= MAX_STEP
            and tag.__class__ is str
            and tag
            and walltime is None
        ):  # the common call: a float, an explicit step, now (no lock, no counter)
            run.put_scalar(tag, scalar_value, global_step, time.time())
            return
        run = self._live()
        kind, value = checked_scalar(scalar_value)
        run.put(kind, check_tag(tag), value, *self._when(global_step, walltime))

    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: Mapping[str, Any],
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add several scalars as ``main_tag/<key>`` series of this same run (no sub-runs).

        Raises:
            TypeError: ``tag_scalar_dict`` is not a mapping.
            ValueError: A bad tag, value, step or walltime.
            WriterClosedError: The writer is closed.
        """
        run = self._live()
        prefix = check_tag(main_tag)
        step, wall = self._when(global_step, walltime)
        if not isinstance(tag_scalar_dict, Mapping):
            msg = f"tag_scalar_dict must be a mapping, got {type(tag_scalar_dict).__name__}"
            raise TypeError(msg)
        run.put_many(scalar_points(tag_scalar_dict, f"{prefix}/", step, wall))

    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: int | None = None,
        walltime: float | None = None,
    ) -> None:
        """Add a text point, rendered by TensorBoard as Markdown.

        Raises:
            TypeError: ``text_string`` is not a str.
            ValueError: A bad tag, step or walltime.
            WriterClosedError: The writer is closed.
        """
        run = self._live()
        if not isinstance(text_string, str):
            msg = f"text_string must be a str, got {type(text_string).__name__}"
            raise TypeError(msg)
        run.put(TEXT, check_tag(tag), text_string, *self._when(global_step, walltime))

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: int | None = None,
        bins: Any = "tensorflow",
        walltime: float | None = None,
        max_bins: int | None = None,
    ) -> None:
        """Add a histogram of ``values`` (array, tensor or sequence; NaN and inf are left out).

        Args:
            tag: The series name.
            values: The values; copied now, so later in-place changes do not matter.
            global_step: The step; None resolves it.
            bins: ``"tensorflow"`` (exponential buckets), or anything ``np.histogram`` takes.
            walltime: Seconds since the epoch; default now.
            max_bins: Merge buckets down to at most this many.

        Raises:
            ValueError: A bad tag, value, step or walltime.
            WriterClosedError: The writer is closed.
        """
        run = self._live()
        _, (array, _, _) = classify(values, "histogram")
        run.put(
            HISTOGRAM,
            check_tag(tag),
            (array, bins, max_bins),
            *self._when(global_step, walltime),
        )

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: int | None = None,
        walltime: float | None = None,
        dataformats: str = "CHW",
    ) -> None:
        """Add an image (uint8 in [0, 255] or float in [0, 1]) laid out as ``dataformats``.

        Raises:
            ModuleNotFoundError: Pillow is missing (``pip install "tblog[image]"``).
            ValueError: A bad tag, step or walltime, or ``dataformats`` does not fit the
                image's shape (checked at the call, as the peers check it).
            WriterClosedError: The writer is closed.
        """
        run = self._live()
        # Imported here, not by the writer thread: a fork must never catch it mid-import.
        require("PIL.Image", "image", "images")
        from tensorboardX import summary

        # Built on the writer thread: PNG encoding is not the caller's work.
        checked = check_tag(tag)
        image = snapshot(img_tensor)
        check_image_layout(getattr(image, "shape", ()), dataformats)
        build = functools.partial(summary.image, checked, image, 1, dataformats)
        run.put(SUMMARY, checked, build, *self._when(global_step, walltime))

    def add_hparams(
        self,
        hparam_dict: Mapping[str, Any],
        metric_dict: Mapping[str, Any],
        name: str | None = None,
        global_step: int | None = None,
    ) -> None:
        """Record hyperparameters and their metrics in this same run (TensorBoard's HParams tab).

        Unlike tensorboardX, no sub-run is made: the run itself is the HParams session, so its
        scalars are linked to the hyperparameters. ``name`` is accepted for signature
        compatibility and ignored.

        Raises:
            TypeError: The dicts are not mappings.
            ValueError: A metric is not a number, or a bad step.
            WriterClosedError: The writer is closed.
        """
        del name
        put_session(self, hparam_dict, metric_dict, global_step, hparams_summaries)

    def add_summary(
        self, summary: Any, global_step: int | None = None, walltime: float | None = None
    ) -> None:
        """Add a prebuilt ``Summary`` proto (what ``FileWriter.add_summary`` takes).

        tensorboardX's, tensorboard's and torch's Summary messages are taken, and serialized
        Summary bytes.

        Raises:
            TypeError: ``summary`` is not a Summary message or bytes.
            ValueError: Bytes that are no serialized Summary, a bad step or walltime.
            WriterClosedError: The writer is closed.
        """
        run = self._live()
        put_summary(run, summary, *self._when(global_step, walltime))

    def __getattr__(self, name: str) -> Any:
        """Any other ``add_*`` method of tensorboardX's ``SummaryWriter``, on this same run.

        ``add_pr_curve``, ``add_graph``, ``add_embedding``, ``add_audio``, ``add_video``,
        ``add_mesh``, ``add_custom_scalars``, ``add_images``, ``add_figure`` ... are tensorboardX's
        own, handed a file writer that writes into this run's event file. A missing
        ``global_step`` is resolved like ``add_scalar``'s.
        """
        if not name.startswith("add_") or name.startswith("__"):
            raise AttributeError(name)
        from tensorboardX import SummaryWriter

        if not callable(getattr(SummaryWriter, name, None)):
            msg = f"{type(self).__name__!r} object has no attribute {name!r}"
            raise AttributeError(msg)  # noqa: TRY004 - the attribute protocol wants AttributeError
        return with_dependency_hint(name, getattr(self._tensorboardx(), name))

    def _tensorboardx(self) -> Any:
        """The tensorboardX SummaryWriter whose file writer writes into this run (made once)."""
        self._live()
        if self.__dict__.get("_tbx") is None:
            self._tbx = summary_writer_on(self._tbx_owner())
        return self._tbx

    def _tbx_owner(self) -> Owner:
        """The hooks tensorboardX's file writer writes through into this writer's run."""
        return Owner(
            logdir=self._logdir,
            get_logdir=self.get_logdir,
            when=self._when,
            put_event=lambda event: self._live().put_event(event),
            put_summary=lambda summary, step, walltime: put_summary(
                self._live(), summary, step, walltime
            ),
            flush=self.flush,
        )

    def __dir__(self) -> list[str]:
        from tensorboardX import SummaryWriter

        adds = [n for n in dir(SummaryWriter) if n.startswith("add_")]
        return sorted(set(super().__dir__()) | set(adds))

    def flush(self, timeout: float | None = None) -> bool:
        """Return once every point added before the call is on disk and readable by TensorBoard.

        Args:
            timeout: Seconds to wait at most; None means the run's ``timeout_secs``.

        Returns:
            True if every point since this writer's previous flush (or its opening) was written;
            False if one was dropped (a full queue, a full disk, an unencodable value), on
            timeout, or with a dead writer thread.
        """
        run = self._run
        if run is None:
            return True
        dropped = run.flush(timeout)
        if dropped is None:
            return False
        clean = dropped == self._dropped_seen
        self._dropped_seen = dropped
        return clean

    def close(self) -> None:
        """Flush and release this writer's share of the run; calling it twice is harmless.

        A second ``close()`` from another thread returns only once the first one has.
        """
        with self._close_lock:
            run, self._run = self._run, None
            if run is not None:
                _registry.release(run)

    def __enter__(self: _Writer) -> _Writer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._run is None else "open"
        return f"<{type(self).__name__} {self.logdir!r} {state}>"


def get_writer(logdir: PathLike | None = None, **options: Any) -> RunWriter:
    """Return a writer on the shared run of ``logdir``, from anywhere in the process.

    Like tensorboardX's ``GlobalSummaryWriter.getSummaryWriter()``: every call for the same
    directory writes into the same event file, and steps left out are counted per tag.

    Args:
        logdir: The run directory; None means the active ``tblog.setup()`` run, else the
            process's default run directory.
        **options: The run's writer options, as ``RunWriter`` takes them (``flush_secs``,
            ``storage_options``, ...); they take effect when the run is first opened.

    Returns:
        A RunWriter sharing the run; closing it releases only its own share.
    """
    return RunWriter(logdir, **options)
