"""Every door into a run takes the whole set of writer options, and the run gets them."""

from __future__ import annotations

import dataclasses
import inspect
import logging
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from s3fixtures import S3Bucket, read_s3_run, s3_fixture, s3_server_fixture  # noqa: F401
from tbread import event_files, read_run

import tblog
from tblog import _registry
from tblog._options import OPTION_NAMES, WriterOptions

#: A value other than the default for every writer option (a local run keeps the remote ones).
NON_DEFAULT: dict[str, Any] = {
    "flush_secs": 0.25,
    "max_queue": 1234,
    "block_secs": 0.5,
    "timeout_secs": 7.0,
    "upload_secs": 12.0,
    "max_bytes": 1 << 20,
    "storage_options": {"anon": True},
    "spool_dir": "spool-here",
    "filename_suffix": ".opts",
    "nan_warning": False,
}

#: The peers' own meaning of a keyword wins on SummaryWriter: its ``max_queue`` is their flush
#: trigger, accepted and ignored, not tblog's queue size.
PEER_KEYWORDS = {tblog.SummaryWriter.__init__: {"max_queue"}}


def _write_point_with(door: str, run_dir: Path, tmp_path: Path, options: dict[str, Any]) -> Path:
    """Open ``run_dir`` through ``door`` with ``options``, log loss=1.5 at step 3, flush.

    Returns the run directory the door wrote (setup picks its own name under ``run_dir``).
    """
    if door == "handler":
        handler = tblog.TensorBoardHandler(run_dir, **options)
        logger = logging.getLogger("test_options")
        logger.addHandler(handler)
        logger.warning("x", extra={"tag": "loss", "value": 1.5, "step": 3})
        assert handler.writer.flush()
        return run_dir
    if door in ("run_writer", "get_writer"):
        open_door: Callable[..., tblog.RunWriter] = (
            tblog.RunWriter if door == "run_writer" else tblog.get_writer
        )
        writer = open_door(run_dir, **options)
        writer.add_scalar("loss", 1.5, 3)
        assert writer.flush()
        return run_dir
    if door == "summary_writer":
        peer = {k: v for k, v in options.items() if k != "max_queue"}
        summary = tblog.SummaryWriter(run_dir, **peer)
        summary.add_scalar("loss", 1.5, 3)
        summary.flush()
        return run_dir
    if door == "processor":
        processor = tblog.TensorBoardProcessor(str(run_dir), **options)
        processor(None, "info", {"event": "e", "tag": "loss", "value": 1.5, "step": 3})
        processor.flush()
        return run_dir
    if door == "setup":
        root = tblog.setup("opts", log_root=tmp_path / "logs", runs_root=run_dir, **options)
        root.scalar("loss", 1.5, step=3)
        root.flush()
        assert root.run_path is not None
        return Path(root.run_path)
    assert door == "restore"
    root = tblog.restore(log_file=tmp_path / "opts.log", run_path=run_dir, **options)
    root.scalar("loss", 1.5, step=3)
    root.flush()
    return run_dir


DOORS = ("handler", "run_writer", "get_writer", "summary_writer", "processor", "setup", "restore")


@pytest.mark.parametrize(
    "door",
    [
        tblog.TensorBoardHandler.__init__,
        tblog.TensorBoardProcessor.__init__,
        tblog.RunWriter.__init__,
        tblog.SummaryWriter.__init__,
        tblog.setup,
        tblog.restore,
    ],
    ids=lambda door: door.__qualname__,
)
def test_every_door_declares_every_writer_option_with_its_default(door: Callable[..., Any]) -> None:
    """Each door names every writer option as a keyword, with WriterOptions' default."""
    parameters = inspect.signature(door).parameters
    defaults = {field.name: field.default for field in dataclasses.fields(WriterOptions)}
    peers = PEER_KEYWORDS.get(door, set())
    missing = [name for name in OPTION_NAMES if name not in parameters]
    assert [] == missing
    wrong = {
        name: parameters[name].default
        for name in OPTION_NAMES
        if name not in peers and parameters[name].default != defaults[name]
    }
    assert {} == wrong


def test_get_writer_passes_every_option_on_to_run_writer() -> None:
    """get_writer forwards its keywords to RunWriter (one list of options, one home)."""
    kinds = [p.kind for p in inspect.signature(tblog.get_writer).parameters.values()]
    assert inspect.Parameter.VAR_KEYWORD in kinds


@pytest.mark.parametrize("door", DOORS)
def test_every_door_opens_its_run_with_every_option_given(door: str, tmp_path: Path) -> None:
    """A run opened through any door has every non-default option the door was given."""
    run_dir = tmp_path / "runs" / "exp"
    options = dict(NON_DEFAULT, spool_dir=str(tmp_path / "spool"))
    written = _write_point_with(door, run_dir, tmp_path, options)
    run = _registry.lookup(written)
    assert run is not None
    expected = WriterOptions(**options)
    if door == "summary_writer":  # its max_queue is the peers' flush trigger
        expected = dataclasses.replace(expected, max_queue=WriterOptions().max_queue)
    assert expected == run.options
    assert (expected.flush_secs, expected.max_queue) == (run.flush_secs, run.max_queue)
    files = event_files(written)
    assert len(files) == 1
    assert files[0].endswith(".opts")
    assert [(3, 1.5)] == read_run(written).scalars["loss"]


_BAD_OPTIONS = [
    ("flush_secs", 0, ValueError),
    ("max_queue", 0, ValueError),
    ("block_secs", -1, ValueError),
    ("timeout_secs", math.nan, ValueError),
    ("max_bytes", 10, ValueError),
    ("storage_options", "anon", TypeError),
    ("filename_suffix", "a/b", ValueError),
    ("nan_warning", "yes", TypeError),
]
#: SummaryWriter gives max_queue and flush_secs=0 the peers' meaning (max_queue is ignored,
#: flush_secs=0 writes at once): it takes those values, so they are no bad options there.
_REFUSED = [
    (door, *bad)
    for bad in _BAD_OPTIONS
    for door in DOORS
    if not (door == "summary_writer" and bad[0] in ("max_queue", "flush_secs"))
]


@pytest.mark.parametrize(("door", "option", "value", "error"), _REFUSED)
def test_every_door_refuses_a_bad_option_naming_it_and_opens_nothing(
    door: str, option: str, value: Any, error: type[Exception], tmp_path: Path
) -> None:
    """A bad writer option raises naming it, through every door, before any run is opened."""
    run_dir = tmp_path / "runs" / "exp"
    with pytest.raises(error, match=option):
        _write_point_with(door, run_dir, tmp_path, {option: value})
    assert _registry.lookup(run_dir) is None
    assert not run_dir.exists()


def test_a_later_opener_with_other_options_is_told_once_which_the_run_keeps(
    logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RunWriter(d, flush_secs=5) then a handler asking 0.1: one tblog line; 5 is kept."""
    writer = tblog.RunWriter(logdir, flush_secs=5)
    first = tblog.TensorBoardHandler(logdir, flush_secs=0.1)
    second = tblog.TensorBoardHandler(logdir, flush_secs=0.1)
    same = tblog.RunWriter(logdir, flush_secs=5)  # asks what the run has: nothing to tell
    plain = tblog.get_writer(logdir)  # asks for nothing: nothing to tell
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("tblog:")]
    assert 1 == len(lines), err
    assert "keeps its options flush_secs=5" in lines[0]
    assert "flush_secs=0.1" in lines[0]
    run = _registry.lookup(logdir)
    assert run is not None
    assert 5.0 == run.flush_secs
    writer.add_scalar("a", 1.0, 0)
    assert writer.flush()
    for opened in (first, second):
        opened.close()
    for shared in (writer, same, plain):
        shared.close()
    assert [(0, 1.0)] == read_run(logdir).scalars["a"]


def test_the_processor_opens_a_remote_run_with_storage_options(s3: S3Bucket) -> None:
    """TensorBoardProcessor(url, storage_options=...) writes into the bucket it names."""
    url = s3.url("runs/proc")
    processor = tblog.TensorBoardProcessor(url, storage_options=s3.storage_options)
    processor(None, "info", {"event": "e", "tag": "loss", "value": 0.5, "step": 2})
    processor.flush()
    processor.close()
    assert [(2, 0.5)] == read_s3_run(url, s3.env).scalars["loss"]


def test_summary_writer_takes_nan_warning(logdir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """SummaryWriter(nan_warning=False) writes a NaN without the sentinel's warning."""
    with caplog.at_level(logging.WARNING, logger="tblog.nan"):
        writer = tblog.SummaryWriter(logdir, nan_warning=False)
        writer.add_scalar("loss", math.nan, 0)
        writer.add_scalar("loss", 1.0, 1)
        writer.close()
    assert [] == [r for r in caplog.records if r.name == "tblog.nan"]
    values = read_run(logdir).scalars["loss"]
    assert [0, 1] == [step for step, _ in values]
    assert math.isnan(values[0][1])
