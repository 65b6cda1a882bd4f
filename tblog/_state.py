"""What ``restore`` continues: its file log and run, from its arguments or a saved state."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from tblog._facade import STATE_VERSION
from tblog._layout import Layout
from tblog._values import MAX_STEP, check_step

#: ``restore()``'s run_path left out (None means "no events").
NOT_GIVEN: Any = object()


@dataclasses.dataclass(frozen=True)
class Resume:
    """What ``restore`` continues: the purge step, and a state's counters and hparams flag."""

    purge_step: int | None = None
    counters: Mapping[str, int] = dataclasses.field(default_factory=dict)
    hparams_written: bool = False


def restored(
    log_file: Any, run_path: Any, state: Mapping[str, Any] | None, rank: int, purge_step: Any
) -> tuple[Any, Any, Layout | None, Resume]:
    """The file log and run ``restore`` continues, their naming, and what it resumes.

    Raises:
        TypeError: Both ``state`` and ``log_file``/``run_path``, or neither, are given.
        ValueError: A bad ``purge_step`` or ``state`` (see ``_from_state``).
    """
    checked = check_step(purge_step)
    if state is None:
        if log_file is None or run_path is NOT_GIVEN:
            msg = "restore() needs log_file= and run_path= (None for no events), or state="
            raise TypeError(msg)
        return log_file, run_path, None, Resume(checked)
    if log_file is not None or run_path is not NOT_GIVEN:
        msg = "restore() takes state= or log_file= and run_path=, not both"
        raise TypeError(msg)
    return _from_state(state, rank, checked)


def _from_state(
    state: Mapping[str, Any], rank: int, purge_step: int | None
) -> tuple[str, str | None, Layout | None, Resume]:
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
        layout = Layout(**names, per_rank=per_rank)
    log_file = _state_key(state, "log_file", str)
    run_path = _state_key(state, "run_path", str, optional=True)
    resume = Resume(
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
            resume = Resume(resume.purge_step)
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
