"""structlog processors that write event dicts into a TensorBoard run."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from tblog import _options, _registry
from tblog._extras import require
from tblog._kinds import LOG, SCALAR
from tblog._options import OPTION_NAMES, WriterOptions
from tblog._report import Once
from tblog._run import Run
from tblog._values import PointError, check_step, check_tag, classify, read_payload, safe_repr

if TYPE_CHECKING:
    from structlog.typing import EventDict, WrappedLogger
else:
    EventDict = MutableMapping[str, Any]
    WrappedLogger = Any

_PAYLOAD_KEYS = frozenset(("tag", "value", "step", "metrics", "walltime", "kind"))


class TensorBoardProcessor:
    """A structlog processor: event dicts with ``value`` or ``metrics`` become TensorBoard points.

    - ``value`` (+ ``tag``, ``step``, ``walltime``, ``kind``) becomes one point, like a
      record's ``extra`` (see ``TensorBoardHandler``); ``metrics={name: number}`` one scalar
      per key, ``tag/name`` when a ``tag`` is given too.
    - ``keys=["loss", "acc"]`` turns those numeric keys of any event into scalars tagged
      ``f"{event}/{key}"`` (``log.info("train", loss=0.3)`` writes ``train/loss``).
    - ``text=True`` also writes each event as text under ``text_tag`` (the event, then its
      other keys as ``key=value``; the level is in the tag).

    The event dict is passed on unchanged, so the renderer after it still renders every key.
    Bad values never raise: one line on stderr per problem, and the event is still rendered.

    Args:
        logdir: The run directory; None means the run of the active ``tblog.setup()`` at the
            time of each event (else the process's default run).
        keys: Event keys whose numeric values become scalars.
        text: Also write every event as text.
        text_tag: The text tag, a ``str.format`` template over the event dict plus ``level``
            (the method name, e.g. ``info``).
        flush_secs: At most this many seconds pass between an event and its write to disk.
        timeout_secs: The longest ``flush()`` and ``close()`` wait for the disk.
        nan_warning: The NaN/Inf sentinel (see ``TensorBoardHandler``): warn through the
            ``tblog.nan`` logger when a scalar tag turns non-finite and when it recovers. The
            run's first opener decides it.
        max_queue, block_secs, upload_secs, max_bytes, storage_options, spool_dir,
            filename_suffix: The run's other writer options, as ``RunWriter`` takes them (a
            remote ``logdir`` with its ``storage_options``, say).

    Raises:
        ModuleNotFoundError: structlog is not installed (``pip install "tblog[structlog]"``).
        ValueError: A bad option.
        TypeError: ``nan_warning`` is not a bool.
    """

    def __init__(
        self,
        logdir: str | None = None,
        *,
        keys: Iterable[str] | None = None,
        text: bool = False,
        text_tag: str = "logs/{level}",
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
        require("structlog", "structlog", "TensorBoardProcessor and the structlog bridge")
        if isinstance(keys, str):
            msg = f"keys must be a list of key names, not the str {keys!r}"
            raise TypeError(msg)
        self.options = WriterOptions.pick(locals())
        self.logdir = None if logdir is None else str(logdir)
        self.keys = tuple(keys or ())
        self.text = text
        self.text_tag = text_tag
        self._init_state()

    @property
    def flush_secs(self) -> float:
        """The run's ``flush_secs`` this processor opens it with."""
        return self.options.flush_secs

    @property
    def timeout_secs(self) -> float:
        """The run's ``timeout_secs`` this processor opens it with."""
        return self.options.timeout_secs

    @property
    def nan_warning(self) -> bool:
        """Whether the run this processor opens warns on NaN/Inf scalars."""
        return self.options.nan_warning

    def _init_state(self) -> None:
        self._lock = threading.Lock()
        self._close_lock = threading.Lock()  # a second close() waits for the first
        self._pid = os.getpid()  # a fork while another thread held a lock: new ones
        self._run: Run | None = None
        self._target: str | None = None
        self._report = Once()

    def __getstate__(self) -> dict[str, Any]:
        names = ("logdir", "keys", "text", "text_tag")
        return {**{k: getattr(self, k) for k in names}, "options": self.options}

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        if "options" not in state:  # pickled before the options were one object
            given = {k: state.pop(k) for k in OPTION_NAMES if k in state}
            state["options"] = WriterOptions(**given)
        self.__dict__.update(state)
        self._init_state()

    def _shared_run(self) -> Run:
        target = self.logdir if self.logdir is not None else _registry.active_logdir()
        run = self._run
        if run is None or target != self._target:
            if self._pid != os.getpid():
                self._lock, self._pid = threading.Lock(), os.getpid()
            with self._lock:
                if self._run is None or target != self._target:
                    old = self._run
                    self._run = _registry.acquire(target, self.options)
                    self._target = target
                    if old is not None:
                        _registry.release(old)
                run = self._run
        return run

    def __call__(
        self,
        logger: WrappedLogger,  # noqa: ARG002 - structlog's processor signature
        method_name: str,
        event_dict: EventDict,
    ) -> EventDict:
        """Write the event's points; return the event dict unchanged."""
        try:
            self._process(method_name, event_dict)
        except RecursionError:
            raise
        except Exception as exc:  # noqa: BLE001 - a logging call must never fail because of us
            self._report(type(exc).__name__, f"TensorBoardProcessor failed: {exc}")
        return event_dict

    def _process(self, method_name: str, event_dict: EventDict) -> None:
        payload = read_payload(event_dict.get, None)
        points = list(payload[0]) if payload is not None else []
        errors = list(payload[1]) if payload is not None else []
        if self.keys:
            event = event_dict.get("event")
            prefix = None
            with contextlib.suppress(PointError):
                prefix = check_tag(event)
            step = None
            try:
                step = check_step(event_dict.get("step"))
            except PointError as exc:
                errors.append(exc)
            for key in self.keys:
                if key not in event_dict or key in _PAYLOAD_KEYS:
                    continue
                try:
                    kind, number = classify(event_dict[key])
                except PointError as exc:
                    errors.append(PointError(f"key:{key}", f"{key}: {exc.reason}"))
                    continue
                if kind != SCALAR:
                    errors.append(PointError(f"key:{key}", f"{key} must be a number"))
                    continue
                tag = f"{prefix}/{key}" if prefix else key
                points.append((kind, tag, number, step, None))
        if points or self.text:
            run = self._shared_run()
            if points:
                run.put_many(points)
            if self.text:
                self._write_text(run, method_name, event_dict)
        for error in errors:
            self._report(error.key, f"{error.reason}; the point is skipped, the event is kept")

    def _write_text(self, run: Run, method_name: str, event_dict: EventDict) -> None:
        try:
            tag = self.text_tag.format_map({**event_dict, "level": method_name})
        except (KeyError, IndexError, ValueError, AttributeError):
            tag = "logs"
        event = event_dict.get("event", "")
        rest = " ".join(
            f"{k}={safe_repr(v)}" for k, v in event_dict.items() if k not in ("event", "level")
        )
        line = f"{event} {rest}".strip()
        run.put(LOG, tag or "logs", line, None, None, counted=True)

    def flush(self) -> None:
        """Return once every point of the events so far is on disk."""
        run = self._run
        if run is not None:
            run.flush()

    def close(self) -> None:
        """Release the processor's share of the run; it reopens if more events come."""
        if self._pid != os.getpid():
            self._lock, self._close_lock = threading.Lock(), threading.Lock()
            self._pid = os.getpid()
        with self._close_lock:  # not the event lock: logging calls never wait for a close
            with self._lock:
                run, self._run, self._target = self._run, None, None
            if run is not None:
                _registry.release(run)

    def __repr__(self) -> str:
        return f"TensorBoardProcessor(logdir={self.logdir!r}, keys={list(self.keys)!r})"
