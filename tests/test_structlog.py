"""structlog: the processor, and structlog over stdlib (the adapter: test_adapter)."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tbread import read_run

import tblog

structlog = pytest.importorskip("structlog")


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """Give every test structlog's default configuration back."""
    yield
    structlog.reset_defaults()


def _configure(*processors: object) -> io.StringIO:
    out = io.StringIO()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            *processors,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    return out


def test_issue_example_processor_value_metrics_and_keys(logdir: Path) -> None:
    """value/tag/step, metrics and keys= become points; the JSON lines are still rendered."""
    processor = tblog.TensorBoardProcessor(logdir=str(logdir), keys=["loss", "acc"])
    out = _configure(processor)
    log = structlog.get_logger()
    log.info("train", tag="loss", value=0.31, step=12)
    log.info("eval", metrics={"acc": 0.9}, step=12)
    log.info("train", loss=0.25, acc=0.8, step=13)
    processor.close()

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [
        {"tag": "loss", "value": 0.31, "step": 12, "event": "train", "level": "info"},
        {"metrics": {"acc": 0.9}, "step": 12, "event": "eval", "level": "info"},
        {"loss": 0.25, "acc": 0.8, "step": 13, "event": "train", "level": "info"},
    ] == lines
    assert {
        "loss": [(12, pytest.approx(0.31))],
        "acc": [(12, pytest.approx(0.9))],
        "train/loss": [(13, 0.25)],
        "train/acc": [(13, pytest.approx(0.8))],
    } == read_run(logdir).scalars


def test_processor_passes_the_event_dict_on_unchanged(logdir: Path) -> None:
    """The processor returns the very dict it got, with the same content."""
    processor = tblog.TensorBoardProcessor(logdir=str(logdir), keys=["x"])
    event = {"event": "e", "tag": "t", "value": np.float32(1.5), "x": 2, "other": [1]}
    before = dict(event)
    assert processor(None, "info", event) is event
    assert before == event
    processor.close()
    assert {"t": [(0, 1.5)], "e/x": [(0, 2.0)]} == read_run(logdir).scalars


def test_processor_bad_values_never_raise_and_the_event_is_rendered(
    logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad value: one stderr line, the JSON line still printed, good points kept."""
    processor = tblog.TensorBoardProcessor(logdir=str(logdir), keys=["loss"])
    out = _configure(processor)
    log = structlog.get_logger()
    for _ in range(2):
        log.info("bad", tag="x", value=object(), step=1)
    log.info("bad step", tag="x", value=1.0, step=-1)
    log.info("mixed", metrics={"ok": 1.0, "bad": "no"}, step=3)
    log.info("train", loss="not a number")
    processor.close()
    assert 5 == len(out.getvalue().splitlines())
    err = capsys.readouterr().err.splitlines()
    assert 4 == len(err), err
    assert {"ok": [(3, 1.0)]} == read_run(logdir).scalars


def test_processor_text_writes_each_event(logdir: Path) -> None:
    """text=True also writes every event as text under logs/<level>."""
    processor = tblog.TensorBoardProcessor(logdir=str(logdir), text=True)
    _configure(processor)
    structlog.get_logger().warning("disk almost full", free_gb=3)
    processor.close()
    assert {"logs/warning": [(0, "```\ndisk almost full free_gb=3\n```")]} == read_run(logdir).texts


def test_processor_without_logdir_follows_the_active_setup(tmp_path: Path) -> None:
    """No logdir: events go to the run of the tblog.setup() active when they are logged."""
    processor = tblog.TensorBoardProcessor()
    _configure(processor)
    log = structlog.get_logger()
    with tblog.setup("a", log_root=tmp_path / "l", runs_root=tmp_path / "r", console=False) as a:
        log.info("e", tag="x", value=1.0, step=0)
    with tblog.setup(
        "b", log_root=tmp_path / "l", runs_root=tmp_path / "r", log_name="second", console=False
    ) as b:
        log.info("e", tag="x", value=2.0, step=0)
    processor.close()
    assert a.run_path is not None
    assert b.run_path is not None
    assert {"x": [(0, 1.0)]} == read_run(a.run_path).scalars
    assert {"x": [(0, 2.0)]} == read_run(b.run_path).scalars


def test_processor_is_picklable(logdir: Path) -> None:
    """A processor survives pickling (settings kept, writer reopened on use)."""
    processor = tblog.TensorBoardProcessor(logdir=str(logdir), keys=["a"])
    processor(None, "info", {"event": "e", "a": 1.0, "step": 0})
    clone = pickle.loads(pickle.dumps(processor))
    assert (clone.logdir, clone.keys) == (processor.logdir, processor.keys)
    clone(None, "info", {"event": "e", "a": 2.0, "step": 1})
    processor.close()
    clone.close()
    assert [(0, 1.0), (1, 2.0)] == read_run(logdir).scalars["e/a"]


def test_processor_without_structlog_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without structlog installed, constructing the processor says what to install."""
    monkeypatch.setitem(sys.modules, "structlog", None)
    with pytest.raises(ModuleNotFoundError, match=r'pip install "tblog\[structlog\]"'):
        tblog.TensorBoardProcessor()


def test_structlog_over_stdlib_with_render_to_log_kwargs(logdir: Path) -> None:
    """render_to_log_kwargs: the keys become record extras the handler reads."""
    handler = tblog.TensorBoardHandler(logdir)
    logger = logging.getLogger("sl.kwargs")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    structlog.configure(
        processors=[structlog.stdlib.add_log_level, structlog.stdlib.render_to_log_kwargs],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    log = structlog.get_logger("sl.kwargs")
    log.info("train", tag="loss", value=0.5, step=2)
    log.info("eval", metrics={"acc": 0.75}, step=2)
    log.info("plain")
    handler.close()
    run = read_run(logdir)
    assert {"loss": [(2, 0.5)], "acc": [(2, 0.75)]} == run.scalars
    assert {"logs/INFO": [(0, "```\nplain\n```")]} == run.texts


def test_structlog_over_stdlib_with_processor_formatter_in_dictconfig(logdir: Path) -> None:
    """wrap_for_formatter + a ProcessorFormatter from dictConfig: the dict in record.msg."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "plain": {
                    "()": "structlog.stdlib.ProcessorFormatter",
                    "processor": structlog.processors.KeyValueRenderer(key_order=["event"]),
                }
            },
            "handlers": {
                "tb": {
                    "class": "tblog.TensorBoardHandler",
                    "logdir": str(logdir),
                    "formatter": "plain",
                    "text_tag": "logs",
                }
            },
            "loggers": {"sl.pf": {"handlers": ["tb"], "level": "INFO", "propagate": False}},
        }
    )
    structlog.configure(
        processors=[structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    log = structlog.get_logger("sl.pf")
    log.info("train", tag="loss", value=0.5, step=2)
    log.info("hello", user="ada")
    handler = logging.getLogger("sl.pf").handlers[0]
    handler.close()
    run = read_run(logdir)
    assert {"loss": [(2, 0.5)]} == run.scalars
    assert {"logs": [(0, "```\nevent='hello' user='ada'\n```")]} == run.texts
