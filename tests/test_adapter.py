"""``tblog.adapter``: helpers that build exactly the records the handler reads, as README says."""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tbread import read_run

import tblog


class _Records(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def caught(logger: logging.Logger) -> _Records:
    """Every record the test's logger emits."""
    records = _Records()
    logger.addHandler(records)
    return records


def _extras(record: logging.LogRecord, *names: str) -> dict[str, Any]:
    return {name: record.__dict__[name] for name in names if name in record.__dict__}


def test_adapter_helpers_write_points_and_readable_lines(logdir: Path) -> None:
    """tblog.adapter: scalar/metrics/text/histogram records, plain lines, merged defaults."""
    stream = io.StringIO()
    logger = logging.getLogger("adapted")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = tblog.TensorBoardHandler(logdir)
    console = logging.StreamHandler(stream)
    console.setFormatter(logging.Formatter("%(name)s %(run)s %(filename)s %(message)s"))
    logger.addHandler(handler)
    logger.addHandler(console)
    tlog = tblog.adapter(logger, run="baseline")
    tlog.scalar("loss", 0.3, step=5)
    tlog.metrics({"acc": 0.9, "f1": 0.8}, step=5, prefix="val")
    tlog.text("notes", "**ok**", step=5)
    tlog.histogram("w", np.arange(4.0), step=5)
    tlog.info("plain")
    handler.close()

    run = read_run(logdir)
    assert {
        "loss": [(5, pytest.approx(0.3))],
        "val/acc": [(5, pytest.approx(0.9))],
        "val/f1": [(5, pytest.approx(0.8))],
    } == run.scalars
    assert [(5, "**ok**")] == run.texts["notes"]
    assert [(5, 4.0)] == run.histograms["w"]
    lines = stream.getvalue().splitlines()
    assert ["loss=0.3", "acc=0.9 f1=0.8", "**ok**", "histogram w", "plain"] == [
        line.split(" ", 3)[3] for line in lines
    ]
    assert all(line.startswith("adapted baseline ") for line in lines)
    assert {"test_adapter.py"} == {line.split(" ")[2] for line in lines}  # not adapter.py


def test_adapter_rejects_bad_tags_steps_and_reserved_extras() -> None:
    """Helpers raise ValueError at the call site; reserved extras never reach LogRecord."""
    tlog = tblog.adapter("checked")
    with pytest.raises(ValueError, match="tag must be a non-empty str"):
        tlog.scalar("", 1.0)
    with pytest.raises(ValueError, match="step must be an int >= 0"):
        tlog.scalar("x", 1.0, step=-2)
    with pytest.raises(ValueError, match=r"\['message'\]"):
        tblog.adapter("checked", message="x")
    with pytest.raises(ValueError, match=r"\['name'\]"):
        tlog.warning("hi", extra={"name": "clash"})
    with pytest.raises(ValueError, match="metrics must be a mapping"):
        tlog.metrics({1: 2})  # type: ignore[dict-item]


def test_each_helper_builds_the_record_the_handler_reads(
    logger: logging.Logger, caught: _Records
) -> None:
    """scalar, metrics, text and histogram records carry the contract's keys, checked."""
    tlog = tblog.adapter(logger)
    tlog.scalar("loss", 2, step=1)
    tlog.scalar("lr", np.float32(0.5))
    tlog.metrics({"acc": 0.5}, step=2, prefix="val")
    tlog.metrics({"f1": np.float64(0.25)})
    tlog.text("notes", "**bold**", step=3)
    tlog.histogram("w", [1, 2, 3], step=4)
    keys = ("tag", "value", "kind", "step", "metrics")
    shown = [_extras(r, *keys) for r in caught.records]
    histogram = shown.pop()
    assert [
        {"tag": "loss", "value": 2, "kind": "scalar", "step": 1},
        {"tag": "lr", "value": 0.5, "kind": "scalar"},
        {"metrics": {"acc": 0.5}, "tag": "val", "step": 2},
        {"metrics": {"f1": 0.25}},
        {"tag": "notes", "value": "**bold**", "kind": "text", "step": 3},
    ] == shown
    assert type(shown[1]["value"]) is float  # a numpy scalar becomes a plain float
    assert ("w", "histogram", 4) == (histogram["tag"], histogram["kind"], histogram["step"])
    assert np.float64 == histogram["value"].dtype
    assert ["loss=2", "lr=0.5", "acc=0.5", "f1=0.25", "**bold**", "histogram w"] == [
        r.getMessage() for r in caught.records
    ]


def test_defaults_reach_every_record_and_a_calls_own_extra_wins(
    logger: logging.Logger, caught: _Records
) -> None:
    """adapter(logger, run=..., seed=...): every record carries them; extra= overrides one."""
    tlog = tblog.adapter(logger, run="baseline", seed=1)
    tlog.info("plain")
    tlog.info("again", extra={"seed": 2})
    tlog.scalar("x", 1.0)
    assert [
        {"run": "baseline", "seed": 1},
        {"run": "baseline", "seed": 2},
        {"run": "baseline", "seed": 1},
    ] == [_extras(r, "run", "seed") for r in caught.records]


def test_levels_decide_whether_a_record_is_made(logger: logging.Logger, caught: _Records) -> None:
    """level= sets the record's level; below the logger's level nothing is logged or checked."""
    tlog = tblog.adapter(logger)
    tlog.scalar("x", 1.0, level=logging.WARNING)
    tlog.scalar("x", 2.0, level=logging.DEBUG)
    tlog.histogram("h", "not numbers", level=logging.DEBUG)  # not enabled: not even checked
    assert [(logging.WARNING, 1.0)] == [(r.levelno, r.value) for r in caught.records]  # type: ignore[attr-defined]


def test_the_caller_is_the_records_origin(logger: logging.Logger, caught: _Records) -> None:
    """%(funcName)s and %(filename)s name the calling code, not tblog's adapter."""
    tlog = tblog.adapter(logger)
    tlog.scalar("x", 1.0)
    tlog.metrics({"a": 1.0})
    tlog.text("t", "hi")
    tlog.histogram("h", [1.0])
    tlog.info("plain")
    origins = {(r.filename, r.funcName) for r in caught.records}
    assert {("test_adapter.py", "test_the_caller_is_the_records_origin")} == origins


def test_the_histogram_is_copied_at_the_call(logger: logging.Logger, caught: _Records) -> None:
    """Changing the array after the call does not change what is logged."""
    weights = np.arange(3.0)
    tblog.adapter(logger).histogram("w", weights, step=0)
    weights[:] = 7.0
    assert [0.0, 1.0, 2.0] == caught.records[0].value.tolist()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda t: t.scalar(3, 1.0), "tag must be a non-empty str"),
        (lambda t: t.text("", "x"), "tag must be a non-empty str"),
        (lambda t: t.histogram(None, [1.0]), "tag must be a non-empty str"),
        (lambda t: t.metrics({"a": 1.0}, prefix=""), "tag must be a non-empty str"),
        (lambda t: t.scalar("x", 1.0, step=True), "step must be an int >= 0"),
        (lambda t: t.scalar("x", 1.0, step=1.5), "step must be an int >= 0"),
        (lambda t: t.text("x", "y", step="3"), "step must be an int >= 0"),
        (lambda t: t.metrics({"a": 1.0}, step=-1), "step must be an int >= 0"),
        (lambda t: t.histogram("x", [1.0], step=2**63), "step must be an int >= 0"),
        (lambda t: t.scalar("x", "1.0"), "value is not a scalar number"),
        (lambda t: t.metrics([("a", 1.0)]), "metrics"),
        (lambda t: t.info("x", extra={"message": "m"}), r"\['message'\]"),
        (lambda t: t.info("x", extra={"asctime": "now", "msg": "m"}), r"\['asctime', 'msg'\]"),
    ],
)
def test_bad_calls_raise_value_error_naming_the_problem(
    logger: logging.Logger, caught: _Records, call: Any, match: str
) -> None:
    """A helper given a bad tag, step, value or reserved extra raises; nothing is logged."""
    with pytest.raises(ValueError, match=match):
        call(tblog.adapter(logger))
    assert [] == caught.records


def test_a_numpy_int_step_is_a_step(logger: logging.Logger, caught: _Records) -> None:
    """Steps from numpy counters are accepted as ints."""
    tblog.adapter(logger).scalar("x", 1.0, step=np.int64(7))
    assert 7 == caught.records[0].step  # type: ignore[attr-defined]
    assert type(caught.records[0].step) is int  # type: ignore[attr-defined]


def test_adapter_takes_a_logger_or_its_name() -> None:
    """adapter("train") wraps logging.getLogger("train"); it is a LoggerAdapter."""
    tlog = tblog.adapter("train.adapted", run="a")
    assert isinstance(tlog, tblog.TensorBoardAdapter)
    assert isinstance(tlog, logging.LoggerAdapter)
    assert logging.getLogger("train.adapted") is tlog.logger
    assert {"run": "a"} == tlog.extra


def test_with_setup_the_helpers_fill_the_run_and_the_file_log(tmp_path: Path) -> None:
    """README's example: through setup's root handlers, points in TensorBoard, lines in the log."""
    with tblog.setup(
        "adapted", log_root=tmp_path / "logs", runs_root=tmp_path / "runs", console=False
    ) as run:
        tlog = tblog.adapter(logging.getLogger("train"), run="baseline")
        tlog.scalar("loss", 0.3, step=5)
        tlog.metrics({"acc": 0.9, "f1": 0.8}, step=5)
        tlog.info("plain")
    shown = read_run(run.run_path)
    assert {"loss": [5], "acc": [5], "f1": [5]} == {t: shown.steps(t) for t in shown.scalars}
    log = Path(run.log_file).read_text()
    assert "loss=0.3" in log
    assert "acc=0.9 f1=0.8" in log
    assert "plain" in log
