"""tblog's logging handlers: ``TensorBoardHandler``, and a ``QueueHandler`` that keeps payloads."""

from __future__ import annotations

import copy
import logging
import logging.handlers
import os
import pickle
import queue
import string
import sys
from collections.abc import Mapping
from typing import Any

from tblog import _options, _registry
from tblog._kinds import LOG
from tblog._options import WriterOptions
from tblog._report import Once
from tblog._run import Run
from tblog._stats import WriterStats, stats_of
from tblog._values import MISSING, read_payload
from tblog.writer import RunWriter

DEFAULT_TEXT_TAG = "logs/{levelname}"
_OWN_LOGGERS = ("tblog", "tensorboardX")


#: Threads whose records are never written as text: tblog's writer and uploader threads
#: ("tblog-writer:...", "tblog-upload:...") and fsspec's IO thread, where a remote run's store
#: client (s3fs, gcsfs: botocore, aiohttp) runs and logs ("Found credentials in environment
#: variables."). Such records still reach the file log and the console.
_OWN_THREADS = ("tblog-", "fsspecIO")


def _is_own_logger(name: str) -> bool:
    """True for tblog's and tensorboardX's loggers, whose plain messages are not written as text."""
    return any(name == own or name.startswith(own + ".") for own in _OWN_LOGGERS)


class TensorBoardHandler(logging.Handler):
    """A logging handler that writes records into a TensorBoard run.

    - ``extra={"tag": "loss", "value": 0.23, "step": 10}`` becomes a scalar (an array or tensor
      with ndim >= 1 a histogram, a str text); ``extra={"metrics": {...}, "step": n}`` one scalar
      per key, namespaced ``f"{tag}/{key}"`` when a ``tag`` is given too.
    - Any other record becomes text: the handler's formatted message, in a Markdown code block,
      under ``text_tag`` with its own per-tag step counter.
    - A missing step comes from ``with tblog.step(n):``, else a per-tag counter from 0.

    ``emit`` only validates and queues; encoding and file I/O happen on the run's writer thread,
    shared by every handler and writer aimed at the same directory (one event file per process).
    Bad input never raises into the caller: one line on stderr per (logger, problem), and the
    record's other points are still written.

    Args:
        logdir: The run directory; None means the active ``tblog.setup()`` run, else
            ``runs/<YYYYmmdd-HHMMSS>_<host>`` (one per process), like tensorboardX.
        level: The handler's level, an int or a name such as ``"INFO"``.
        text_tag: Tag of the text written for plain messages, a ``str.format`` template over the
            record's attributes, formatted per record (default ``"logs/{levelname}"``:
            TensorBoard shows at most 100 entries per text tag, 10 with ``--load_fast=false``,
            unless started with ``--samples_per_plugin text=N``, so one tag per level keeps rare
            warnings visible). ``"logs"`` gives one tag; None writes no text.
        flush_secs: At most this many seconds pass between a record and its write to disk.
        max_queue: Points queued for the writer thread before a logging call waits.
        block_secs: How long a logging call waits for room in a full queue before the point is
            dropped and counted; after one such wait, calls drop at once until there is room.
        timeout_secs: The longest ``flush()`` and ``close()`` wait for the disk (so
            ``logging.shutdown()`` never hangs), and the limit of tblog's exit hook.
        upload_secs: A remote run uploads a new segment at least this often (default 30 s).
        max_bytes: Start a new event file (or segment) before one grows past this many bytes
            (default: no limit locally, 64 MiB segments remotely).
        storage_options: fsspec options of a remote run (default: from the environment).
        spool_dir: Where a remote run's segments wait for upload.
        filename_suffix: Appended to the names of the event files this process creates.
        nan_warning: The NaN/Inf sentinel (default on): the first time a scalar tag gets a NaN
            or an infinity, one WARNING through the ``tblog.nan`` logger names the run, the tag,
            the step and the value, and one more when the tag is finite again; the points are
            written as they are. The check runs on the writer thread. Like every writer option,
            it is the run's: the first handler, writer or processor to open a run decides it.

    Raises:
        ValueError: An option is out of range or ``text_tag`` is unusable; nothing is
            registered or opened then.
        TypeError: ``nan_warning`` is not a bool (or another option has the wrong type).
    """

    # Class-level defaults: a handler whose construction failed half-way stays harmless.
    _writer: RunWriter | None = None
    _live_run: Run | None = None
    _logdir = ""

    def __init__(
        self,
        logdir: str | os.PathLike[str] | None = None,
        level: int | str = logging.NOTSET,
        *,
        text_tag: str | None = DEFAULT_TEXT_TAG,
        flush_secs: float = _options.DEFAULT_FLUSH_SECS,
        max_queue: int = _options.DEFAULT_MAX_QUEUE,
        block_secs: float = _options.DEFAULT_BLOCK_SECS,
        timeout_secs: float = _options.DEFAULT_TIMEOUT_SECS,
        upload_secs: float = _options.DEFAULT_UPLOAD_SECS,
        max_bytes: int | None = None,
        storage_options: Mapping[str, Any] | None = None,
        spool_dir: str | os.PathLike[str] | None = None,
        filename_suffix: str = "",
        nan_warning: bool = True,
    ) -> None:
        # Validate before Handler.__init__ registers the handler for logging.shutdown().
        cached = check_text_tag(text_tag) if text_tag is not None else True
        options = WriterOptions.pick(locals())
        super().__init__(level)
        self.text_tag = text_tag
        self._text_tag_cached = cached
        self._text_tags: dict[tuple[str, str], str] = {}
        self._once = Once()
        run = _registry.acquire(logdir, options)
        self._live_run = run
        self._logdir = run.logdir

    @property
    def logdir(self) -> str:
        """The run directory (absolute)."""
        return self._logdir

    @property
    def stats(self) -> WriterStats:
        """The run's counters: points written, dropped, errors, and queued now.

        Raises:
            WriterClosedError: The handler is closed.
        """
        return stats_of(self._open_run())

    @property
    def writer(self) -> RunWriter:
        """A ``RunWriter`` on the handler's run (direct ``add_*`` calls, ``flush()`` results).

        Raises:
            WriterClosedError: The handler is closed.
        """
        run = self._open_run()
        if self._writer is None:
            self._writer = RunWriter(run.key)  # one more share of the same run
        return self._writer

    def _open_run(self) -> Run:
        run = self._live_run
        if run is None:
            from tblog.exceptions import WriterClosedError

            msg = f"this TensorBoardHandler of {self._logdir} is closed"
            raise WriterClosedError(msg)
        return run

    def handle(self, record: logging.LogRecord) -> logging.LogRecord | bool:  # type: ignore[override]
        """Filter the record, then emit it, without taking the handler's lock.

        ``emit`` only appends to the run's queue, which is thread-safe on its own, so the
        per-record lock round trip of ``Handler.handle`` buys nothing on this hot path.
        ``flush()`` and ``close()`` still take the lock.
        """
        rv = self.filter(record)
        if rv:
            if isinstance(rv, logging.LogRecord):  # Python 3.12+: a filter may return a record
                record = rv
            self.emit(record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the record's points for the writer thread; never raises into the caller."""
        try:
            run = self._live_run
            if run is None:
                self._report(record, "closed", f"the handler of {self._logdir} is closed")
                return
            attrs = record.__dict__
            value = attrs.get("value", MISSING)
            if value is not MISSING:
                # Fast path: one number with a str tag and an explicit int step.
                tag = attrs.get("tag")
                step = attrs.get("step")
                vtype = value.__class__
                if (
                    (vtype is float or vtype is int)
                    and step.__class__ is int
                    and 0 <= step <= 0x7FFF_FFFF_FFFF_FFFF  # MAX_STEP, inlined: the hot path
                    and tag.__class__ is str
                    and tag
                    and "metrics" not in attrs
                    and "kind" not in attrs
                    and "walltime" not in attrs
                ):
                    run.put_scalar(tag, value, step, record.created)
                    return
            self._emit_payload(run, record, attrs)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - stdlib convention: errors go to handleError
            self.handleError(record)

    def _emit_payload(self, run: Run, record: logging.LogRecord, attrs: dict[str, Any]) -> None:
        """Queue what is not one scalar with a step: metrics, rich values, text; report errors."""
        msg = record.msg
        source = msg if msg.__class__ is dict else attrs  # structlog's wrap_for_formatter
        payload = read_payload(source.get, record.created)
        if payload is None:
            name = record.name
            if not (name.startswith(_OWN_LOGGERS) and _is_own_logger(name)) and not (
                record.threadName or ""
            ).startswith(_OWN_THREADS):
                self._emit_text(run, record)
            return
        points, errors = payload
        if points:
            run.put_many(points)
        elif errors and not _is_own_logger(record.name):
            # No point could be made (say, a library's own extra={"value": 3} without a
            # tag): the message is kept as text, like any plain message.
            self._emit_text(run, record)
        for error in errors:
            self._report(record, error.key, error.reason)

    def _emit_text(self, run: Run, record: logging.LogRecord) -> None:
        template = self.text_tag
        if template is None:
            return
        if self._text_tag_cached:  # the template names only the logger and the level
            key = (record.name, record.levelname)
            tag = self._text_tags.get(key)
            if tag is None:
                tag = self._text_tags[key] = _format_text_tag(template, record)
        else:
            tag = _format_text_tag(template, record)
        run.put(LOG, tag, self.format(record), None, record.created, counted=True)

    def _report(self, record: logging.LogRecord, key: str, reason: str) -> None:
        """The handler's error path for bad input: one stderr line per (logger, problem).

        Like ``handleError``, it is silent when ``logging.raiseExceptions`` is False.
        """
        self._once(
            (record.name, key),
            f"{reason} (logger {record.name!r}, {record.pathname}:{record.lineno}); "
            "the point is skipped, the message and the rest of the run are kept",
        )

    def flush(self) -> None:
        """Return once every point emitted before the call is on disk and readable."""
        self.acquire()
        try:
            run = self._live_run
            if run is not None:
                run.flush()
        finally:
            self.release()

    def close(self) -> None:
        """Flush and release this handler's share of the run; calling it twice is harmless."""
        self.acquire()
        try:
            writer, self._writer = self._writer, None
            run, self._live_run = self._live_run, None
            if writer is not None:
                writer.close()
            if run is not None:
                _registry.release(run)
        finally:
            try:
                super().close()
            finally:
                self.release()

    def __repr__(self) -> str:
        level = logging.getLevelName(self.level)
        return f"<{type(self).__name__} {self._logdir} ({level})>"


#: Record attributes that are the same for every record of one logger at one level.
_PER_LOGGER_LEVEL = frozenset(("name", "levelname", "levelno"))


def check_text_tag(template: Any) -> bool:
    """Check a ``text_tag`` template; return True if its tag depends on logger and level only.

    Raises:
        ValueError: Not a non-empty str, or it names an unknown record attribute.
    """
    record = logging.LogRecord("name", logging.INFO, __file__, 0, "", None, None)
    if not isinstance(template, str) or not _format_text_tag(template, record, strict=True):
        msg = f"text_tag must be a non-empty str or None, got {template!r}"
        raise ValueError(msg)
    fields = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    roots = {field.split(".", 1)[0].split("[", 1)[0] for field in fields}
    return roots <= _PER_LOGGER_LEVEL


def _format_text_tag(template: str, record: logging.LogRecord, *, strict: bool = False) -> str:
    if "{" not in template:
        return template
    try:
        return template.format_map(record.__dict__)
    except (KeyError, AttributeError, IndexError, ValueError) as exc:
        if strict:
            msg = f"text_tag {template!r} names an unknown record attribute: {exc}"
            raise ValueError(msg) from exc
        return template.split("{", 1)[0].rstrip("/") or "logs"


class QueueHandler(logging.handlers.QueueHandler):
    """A ``logging.handlers.QueueHandler`` that carries TensorBoard payloads across the queue.

    The stdlib's ``prepare()`` formats each record into a string, which turns an event dict
    travelling in ``record.msg`` (structlog's ``ProcessorFormatter.wrap_for_formatter``) into
    text. This one passes such a dict on as it is (an exception in it rendered under
    ``"exception"``, as structlog's ``format_exc_info`` does, since tracebacks do not pickle);
    other records are prepared as the stdlib does, their ``extra`` payload kept. A dict that
    cannot be pickled (a lock, a lambda) on a queue to another process goes as the stdlib's
    text instead of being lost.
    ``tblog.log_to_queue`` installs it; in ``dictConfig`` use
    ``{"class": "tblog.QueueHandler", "queue": "ext://your_module.queue"}``.

    Args:
        queue: The queue (``queue.Queue``, ``multiprocessing.Queue``, a manager's queue).
    """

    def prepare(self, record: logging.LogRecord) -> Any:
        """Return the record to put on the queue (picklable, payload intact)."""
        event = record.msg
        if event.__class__ is not dict:
            return super().prepare(record)
        event = dict(event)
        exc_info = event.pop("exc_info", None)
        if exc_info is True:
            exc_info = record.exc_info or sys.exc_info()
        elif isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        if isinstance(exc_info, tuple) and exc_info[0] is not None:
            event["exception"] = logging.Formatter().formatException(exc_info)
        if not isinstance(self.queue, queue.Queue):  # it crosses processes: it must pickle
            try:
                pickle.dumps(event)
            except Exception:  # noqa: BLE001 - any unpicklable value: send text, as stdlib does
                return super().prepare(record)
        record = copy.copy(record)
        record.msg = event
        record.args = None
        record.exc_info = None
        record.exc_text = None
        return record
