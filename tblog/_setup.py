"""setup() and restore(): check every option, then install a file log, a run and a console."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from tblog import _options, _registry
from tblog._facade import ACTIVE, RootLogger
from tblog._layout import (
    Layout,
    RunPath,
    location,
    missing_dirs,
    shared_log_name,
    unclaim,
    usable_dir,
)
from tblog._location import is_url, open_store
from tblog._options import WriterOptions
from tblog._rank import get_rank
from tblog._resume import Plan, open_resumed, resume_plan
from tblog._run import Run
from tblog._state import NOT_GIVEN, Resume, restored
from tblog._values import (
    check_tag,
)
from tblog.exceptions import SetupError
from tblog.filters import SampleFilter
from tblog.handler import DEFAULT_TEXT_TAG, TensorBoardHandler, check_text_tag
from tblog.writer import RunWriter

#: The file log's default format.
DEFAULT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"


@dataclasses.dataclass(frozen=True)
class _Options:
    """setup()'s and restore()'s options, checked before anything is touched."""

    level: int
    formatter: logging.Formatter
    console: bool
    text_tag: str | None
    writer: WriterOptions  # the run's writer options
    sample: SampleFilter | None = None  # on the TensorBoard handler only


def _check_options(
    arguments: Mapping[str, Any], *, roots: Mapping[str, Any], run_roots: Mapping[str, Any]
) -> _Options:
    """Validate the options of a setup() or restore() call; raise naming the first bad one.

    Args:
        arguments: The call's arguments by name (its ``locals()``): ``level``, ``fmt``,
            ``console``, ``text_tag``, ``sample`` (``{tag pattern: every}`` for the TensorBoard
            handler's ``SampleFilter``) and the writer options.
        roots: Paths that must be local (the file log's).
        run_roots: Paths that may be URLs too (the run's).

    Raises:
        ValueError: A bad level, format, text tag, option, sample, or a URL as a local root.
        TypeError: A root is not a path, ``sample`` not a mapping, ``nan_warning`` not a bool.
        ModuleNotFoundError: A URL's store needs a package that is missing.
    """
    writer = WriterOptions.pick(arguments)
    sample = arguments["sample"]
    sample_filter = None if sample is None else SampleFilter.from_mapping(sample)
    text_tag = arguments["text_tag"]
    if text_tag is not None:
        check_text_tag(text_tag)
    _check_roots(roots, run_roots, writer.storage_options)
    try:
        formatter = logging.Formatter(arguments["fmt"])
    except (TypeError, ValueError) as exc:
        msg = f"fmt is not a usable logging format: {exc}"
        raise ValueError(msg) from exc
    level = _check_level(arguments["level"])
    return _Options(level, formatter, arguments["console"], text_tag, writer, sample_filter)


def _check_roots(
    roots: Mapping[str, Any], run_roots: Mapping[str, Any], storage_options: Any
) -> None:
    """Check that every root is a path, ``roots`` local ones, ``run_roots`` known stores too.

    Raises:
        TypeError: A root is not a path.
        ValueError: A URL as a local root, or a URL scheme fsspec does not know.
        ModuleNotFoundError: A URL's store needs a package that is missing.
    """
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
            open_store(os.fspath(root), storage_options)  # a store fsspec knows


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
    resume: Resume | None = None,
    layout: Layout | None = None,
) -> RootLogger:
    """Build the new facade, and only once it stands, close the previous one and install it.

    A failure leaves nothing behind and the previous setup active.
    """
    with ACTIVE.lock:
        if ACTIVE.facade is not None:
            ACTIVE.facade.flush()  # a resume plan below reads the run as it is on disk
        installed, writer, engine = _build(log_file, run_path, options, resume)
        if ACTIVE.facade is not None:
            ACTIVE.facade.close()
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
            hparams_written=resume is not None and resume.hparams_written,
        )
        ACTIVE.facade = facade
        _registry.set_active_logdir(str(run_path) if run_path is not None else None)
        return facade


def _build(
    log_file: Path, run_path: RunPath | None, options: _Options, resume: Resume | None
) -> tuple[list[logging.Handler], RunWriter | None, Run | None]:
    """Open the file log and the run, and make their handlers; on failure close what was made.

    Returns the handlers to install, the run's writer and the run (None without a run).
    """
    installed: list[logging.Handler] = []
    writer = engine = None
    try:
        usable_dir(log_file.parent, "log_root")
        if isinstance(run_path, Path):
            usable_dir(run_path.parent, "runs_root")
        file_handler = logging.FileHandler(log_file, mode="a", encoding="utf-8")
        file_handler.setFormatter(options.formatter)
        installed.append(file_handler)
        if run_path is not None:
            writer, engine = _open_run(run_path, options, resume)
            events = TensorBoardHandler(
                run_path, text_tag=options.text_tag, **options.writer.keywords()
            )
            if options.sample is not None:
                events.addFilter(options.sample)
            installed.append(events)
    except BaseException:
        for built in installed:
            built.close()
        if writer is not None:
            writer.close()
        raise
    return installed, writer, engine


def _open_run(run_path: RunPath, options: _Options, resume: Resume | None) -> tuple[RunWriter, Run]:
    """Acquire the run of ``run_path``, continuing an existing one (and purging) as asked.

    Returns a writer holding the one share of the run this acquires, and the run itself (for
    its counters).
    """
    plan: Plan = ([], {})
    if resume is None:
        resume = Resume()
    if isinstance(run_path, str):  # a run in object storage: read what it holds, if anything
        try:
            plan = resume_plan(run_path, resume.purge_step, resume.counters)
        except (OSError, ValueError) as exc:
            if resume.purge_step is not None:
                msg = f"run_path {run_path!r} cannot be read to resume it: {exc}"
                raise SetupError(msg) from exc
    elif resume.purge_step is not None or resume.counters or run_path.exists():
        plan = resume_plan(run_path, resume.purge_step, resume.counters)
    # A loop may log a step again below a restore's purge: that step is purged then.
    run = open_resumed(run_path, options.writer, plan, purge_relogged=resume.purge_step is not None)
    return RunWriter.sharing(run), run  # the writer owns the share the opener acquired


def _has_console(root: logging.Logger) -> bool:
    """True if the root logger already prints to stderr or stdout (no duplicate lines)."""
    return any(
        type(h) is logging.StreamHandler and getattr(h, "stream", None) in (sys.stderr, sys.stdout)
        for h in root.handlers
    )


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
    flush_secs: float = _options.DEFAULT_FLUSH_SECS,
    timeout_secs: float = _options.DEFAULT_TIMEOUT_SECS,
    upload_secs: float = _options.DEFAULT_UPLOAD_SECS,
    max_bytes: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    sample: Mapping[str, int] | None = None,
    nan_warning: bool = True,
    max_queue: int = _options.DEFAULT_MAX_QUEUE,
    block_secs: float = _options.DEFAULT_BLOCK_SECS,
    filename_suffix: str = "",
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
        max_queue: Points queued for the writer thread before a logging call waits.
        block_secs: How long a logging call waits for room in a full queue.
        filename_suffix: Appended to the names of the event files this process creates.

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
    roots = {"log_root": log_root}
    options = _check_options(locals(), roots=roots, run_roots={"runs_root": runs_root})
    rank = get_rank()
    runs = location(runs_root)
    with _undone_on_failure(missing_dirs(Path(log_root), runs)) as claimed:
        name = log_name or shared_log_name(
            run_name, Path(log_root), runs, rank, claimed, options.writer.storage_options
        )
        layout = Layout(run_name, name, os.fspath(log_root), os.fspath(runs_root), per_rank)
        log_file, run_path = layout.files(rank)
        return _install(
            log_file=log_file, run_path=run_path, rank=rank, options=options, layout=layout
        )


def restore(
    *,
    log_file: str | os.PathLike[str] | None = None,
    run_path: str | os.PathLike[str] | None = NOT_GIVEN,
    state: Mapping[str, Any] | None = None,
    purge_step: int | None = None,
    level: int | str = logging.INFO,
    console: bool = True,
    fmt: str = DEFAULT_FORMAT,
    text_tag: str | None = DEFAULT_TEXT_TAG,
    flush_secs: float = _options.DEFAULT_FLUSH_SECS,
    timeout_secs: float = _options.DEFAULT_TIMEOUT_SECS,
    upload_secs: float = _options.DEFAULT_UPLOAD_SECS,
    max_bytes: int | None = None,
    storage_options: Mapping[str, Any] | None = None,
    spool_dir: str | os.PathLike[str] | None = None,
    sample: Mapping[str, int] | None = None,
    nan_warning: bool = True,
    max_queue: int = _options.DEFAULT_MAX_QUEUE,
    block_secs: float = _options.DEFAULT_BLOCK_SECS,
    filename_suffix: str = "",
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
        max_queue: Points queued for the writer thread before a logging call waits.
        block_secs: How long a logging call waits for room in a full queue.
        filename_suffix: Appended to the names of the event files this process creates.

    Returns:
        The active ``RootLogger``.

    Raises:
        SetupError: The file log's or run's directory cannot be created or written.
        ValueError: ``purge_step`` is not an int >= 0; ``state`` is not a tblog state, or
            comes from another rank and does not say how that rank's files are named.
        TypeError: Both ``state`` and ``log_file``/``run_path``, or neither, are given.
    """
    rank = get_rank()
    log_file, run_path, layout, resume = restored(log_file, run_path, state, rank, purge_step)
    roots = {"log_file": log_file}
    options = _check_options(locals(), roots=roots, run_roots={"run_path": run_path})
    where = location(run_path) if run_path is not None else None
    with _undone_on_failure(missing_dirs(Path(log_file).parent, where)):
        return _install(
            log_file=Path(log_file),
            run_path=where,
            rank=rank,
            options=options,
            resume=resume,
            layout=layout,
        )


@contextlib.contextmanager
def _undone_on_failure(new_dirs: list[Path]) -> Iterator[list[Path]]:
    """Yield a list for the files a setup claims; if it fails, remove them and ``new_dirs``."""
    claimed: list[Path] = []
    try:
        yield claimed
    except BaseException:
        unclaim(claimed + new_dirs)
        raise
