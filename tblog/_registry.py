"""The runs open in this process: one Run per directory, default and active run, exit and fork."""

from __future__ import annotations

import atexit
import datetime
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable
from typing import Any

from tblog._location import is_url, local_path
from tblog._options import DEFAULT_TIMEOUT_SECS, WriterOptions
from tblog._report import report
from tblog._run import Run

_registry: dict[str, Run] = {}
_registry_lock = threading.Lock()
# Per-tag step counters of each run directory; they outlive a closed Run, so a run reopened in
# this process (dictConfig run again, a notebook cell re-run) continues its counted steps.
_counters: dict[str, dict[str, int]] = {}
_exit_hook_installed = False
_early_exit_hook_installed = False
_exit_deadline: float | None = None  # the monotonic time every wait at exit ends by
_forked: dict[str, str] = {}  # in a forked child: the parent's run directory -> the child's
_mp_finalizer_pid = 0  # the multiprocessing child process that has its exit finalizer


class _AfterForkKey:
    """A weakly referenceable key for ``multiprocessing.util.register_after_fork``."""


_after_fork_key = _AfterForkKey()
_default_logdir: str | None = None
_active_logdir: str | None = None


def default_logdir() -> str:
    """Return this process's default run directory, ``runs/<YYYYmmdd-HHMMSS>_<host>``."""
    global _default_logdir
    if _default_logdir is None:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        _default_logdir = os.path.join("runs", f"{stamp}_{socket.gethostname()}")
    return _default_logdir


def active_logdir() -> str:
    """Return the run directory a missing ``logdir`` means: the active setup() run, else default."""
    return _active_logdir if _active_logdir is not None else default_logdir()


def set_active_logdir(logdir: str | None) -> None:
    """Make ``logdir`` the run that a missing ``logdir`` means (set by ``tblog.setup``)."""
    global _active_logdir
    _active_logdir = logdir


def acquire(
    logdir: str | os.PathLike[str] | None = None,
    options: WriterOptions | None = None,
    *,
    first_events: Iterable[Any] = (),
) -> Run:
    """Return the shared Run of ``logdir`` with one more reference (created on first use).

    Args:
        logdir: The run directory or URL; None means the active ``tblog.setup()`` run, else
            the process's default run.
        options: The writer options a new run gets (None: the defaults). A run already open
            keeps its own; an opener that asked for other values is told once, on stderr.
        first_events: Event builders a new run's first event file starts with (a purge).
    """
    global _exit_hook_installed
    key = run_key(logdir if logdir is not None else active_logdir())
    while key in _forked:  # a run of a parent (or grandparent) process: this child's sub-run
        key = _forked[key]
    with _registry_lock:
        run = _registry.get(key)
        if run is None or (run.closed and not run.late):
            counters = _counters.setdefault(key, {})
            run = Run(key, options or WriterOptions(), counters, first_events)
            _registry[key] = run
            if not _exit_hook_installed:
                # Registered after logging's own hook, so it runs before logging.shutdown().
                atexit.register(_exit_hook)
                _exit_hook_installed = True
                import multiprocessing.util  # already imported by tensorboardX: free here

                multiprocessing.util.register_after_fork(_after_fork_key, _finalize_in_mp_child)
            if is_url(key):
                _install_early_exit_hook()
            _finalize_in_mp_child()
        elif options is not None:
            _tell_options_kept(run, options)
        run.refs += 1
        return run


def _tell_options_kept(run: Run, wanted: WriterOptions) -> None:
    """Tell once that a later opener's options are not the open run's (the run keeps its own)."""
    kept = run.options.conflicts(wanted)
    if kept:
        names = ", ".join(f"{name}={value!r}" for name, value in kept.items())
        asked = ", ".join(f"{name}={getattr(wanted, name)!r}" for name in kept)
        run.warn_once(
            ("options", tuple(kept)),
            f"{run.logdir} is already open in this process and keeps its options {names} "
            f"(asked: {asked}); a run's first opener decides them",
        )


def lookup(logdir: str | os.PathLike[str]) -> Run | None:
    """The open Run of ``logdir`` in this process, or None."""
    key = run_key(logdir)
    while key in _forked:
        key = _forked[key]
    with _registry_lock:
        return _registry.get(key)


def run_key(logdir: str | os.PathLike[str]) -> str:
    """The one name of a run directory in this process: a URL, or an absolute local path."""
    path = os.fspath(logdir)
    if is_url(path):
        return path.rstrip("/")
    return os.path.realpath(local_path(path))


def release(run: Run) -> None:
    """Drop one reference and return once every point queued before it is written.

    The last reference closes the run. Either way the wait is limited to the run's
    ``timeout_secs``: a ``close()`` is a barrier for every path into the run, never a hang.
    """
    with _registry_lock:
        run.refs -= 1
        last = run.refs <= 0
        if last and _registry.get(run.key) is run:
            del _registry[run.key]
    if last:
        run.close()
    else:
        run.flush()


def close_all(timeout: float | None = None) -> None:
    """Drain and close every open run, within ``timeout`` seconds in all.

    None means the longest ``timeout_secs`` of the open runs (10 s by default).
    """
    with _registry_lock:
        runs = list(_registry.values())
        _registry.clear()
    if timeout is None:
        timeout = max((run.timeout_secs for run in runs), default=DEFAULT_TIMEOUT_SECS)
    deadline = time.monotonic() + timeout
    for run in runs:
        try:
            run.close(max(0.0, deadline - time.monotonic()))
        except Exception as exc:  # noqa: BLE001, PERF203 - one run's failure must not cost the others
            report(f"closing {run.logdir} failed: {type(exc).__name__}: {exc}")


def _exit_hook() -> None:
    """At exit: close every run; a point logged later (by a later exit hook) is still written.

    It may run twice (threading's exit hooks, then atexit): both share one deadline, the
    longest ``timeout_secs`` of the open runs, so the exit waits that long in all, at most.
    """
    global _exit_deadline
    Run.exiting = True
    if _exit_deadline is None:
        with _registry_lock:
            limit = max((run.timeout_secs for run in _registry.values()), default=None)
        _exit_deadline = time.monotonic() + (DEFAULT_TIMEOUT_SECS if limit is None else limit)
    close_all(max(0.0, _exit_deadline - time.monotonic()))
    for run in Run.late_runs:
        run.finish_late(_exit_deadline)


def _install_early_exit_hook() -> None:
    """Close the runs at interpreter exit before its thread pools stop taking work.

    A store's client (s3fs over aiobotocore, say) needs worker threads and executors to upload,
    which ``atexit`` hooks no longer get (``cannot schedule new futures after interpreter
    shutdown``). ``threading``'s own exit hooks run before that; registered after the store's
    packages were imported, this one runs before theirs. Where it is missing, ``atexit`` serves.
    """
    global _early_exit_hook_installed
    if _early_exit_hook_installed:
        return
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        register(_exit_hook)
        _early_exit_hook_installed = True


def _finalize_in_mp_child(_key: object = None) -> None:
    """In a multiprocessing child (fork, forkserver), close the runs from its exit finalizers.

    Such a child leaves through ``os._exit``, which skips ``atexit``. Called when a run opens and
    after multiprocessing forks a child (for the runs it inherited).
    """
    global _mp_finalizer_pid
    mp = sys.modules.get("multiprocessing")
    if mp is None or _mp_finalizer_pid == os.getpid() or mp.parent_process() is None:
        return
    import multiprocessing.util

    multiprocessing.util.Finalize(None, _exit_hook, exitpriority=100)
    _mp_finalizer_pid = os.getpid()


def _before_fork() -> None:
    _registry_lock.acquire()
    for run in _registry.values():
        run.lock_for_fork()


def _after_fork_in_parent() -> None:
    for run in _registry.values():
        run.unlock_after_fork()
    _registry_lock.release()


def _after_fork_in_child() -> None:
    global _registry_lock
    _registry_lock = threading.Lock()
    runs = list(_registry.values())
    _registry.clear()
    for run in runs:
        parent = run.key
        run.reset_in_child()
        # The parent's directory means the child's sub-run from now on, also to a handler the
        # child makes again (a dictConfig run in the child): it never writes the parent's run.
        run.key = _forked[parent] = run.logdir
        _counters[run.key] = _counters[parent]  # the dict the run counts in
        _registry[run.key] = run


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_before_fork,
        after_in_parent=_after_fork_in_parent,
        after_in_child=_after_fork_in_child,
    )
