"""TensorBoardHandler: the record contract, read back with TensorBoard's own loader."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import logging.handlers
import math
import pickle
import queue
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from tbread import event_files, read_run

import tblog


def test_issue_example_scalar_metrics_text_and_step_context(
    logger: logging.Logger, logdir: Path
) -> None:
    """The README quickstart: a scalar, a metrics dict, a text line, a step from the context."""
    handler = tblog.TensorBoardHandler(logdir=str(logdir))
    logger.addHandler(handler)
    logger.info("epoch", extra={"tag": "loss/train", "value": 0.23, "step": 10})
    logger.info("eval", extra={"metrics": {"acc": 0.91, "f1": 0.88}, "step": 10})
    logger.info("loaded %d images", 5000)
    with tblog.step(11):
        logger.info("lr", extra={"tag": "lr", "value": 3e-4})
    handler.close()

    run = read_run(logdir)
    assert {"loss/train": [(10, pytest.approx(0.23))]} == {"loss/train": run.scalars["loss/train"]}
    assert [(10, pytest.approx(0.91))] == run.scalars["acc"]
    assert [(10, pytest.approx(0.88))] == run.scalars["f1"]
    assert [(11, pytest.approx(3e-4))] == run.scalars["lr"]
    assert run.texts == {"logs/INFO": [(0, "```\nloaded 5000 images\n```")]}


def test_metrics_with_tag_are_namespaced(logger: logging.Logger, logdir: Path) -> None:
    """``metrics`` plus ``tag`` writes ``tag/key`` series."""
    handler = tblog.TensorBoardHandler(logdir)
    logger.addHandler(handler)
    logger.info("eval", extra={"tag": "val", "metrics": {"acc": 0.5, "loss": 2}, "step": 3})
    handler.close()
    assert read_run(logdir).scalars == {"val/acc": [(3, 0.5)], "val/loss": [(3, 2.0)]}


def test_value_kinds_numpy_bool_str_and_histogram(logger: logging.Logger, logdir: Path) -> None:
    """Numpy scalars, 0-d arrays and bools are scalars, str is text, arrays are histograms."""
    handler = tblog.TensorBoardHandler(logdir)
    logger.addHandler(handler)
    logger.info("", extra={"tag": "np64", "value": np.float64(1.5), "step": 1})
    logger.info("", extra={"tag": "np32", "value": np.float32(2.5), "step": 1})
    logger.info("", extra={"tag": "npint", "value": np.int64(7), "step": 1})
    logger.info("", extra={"tag": "zero_d", "value": np.array(4.0), "step": 1})
    logger.info("", extra={"tag": "flag", "value": True, "step": 1})
    logger.info("", extra={"tag": "note", "value": "**hello**", "step": 2})
    weights = np.arange(10.0)
    logger.info("", extra={"tag": "weights", "value": weights, "step": 3})
    weights[:] = -1  # changed after the call: the histogram keeps what was logged
    logger.info("", extra={"tag": "forced", "value": 5, "kind": "text", "step": 4})
    handler.close()

    run = read_run(logdir)
    assert [run.values(t)[0] for t in ("np64", "np32", "npint", "zero_d", "flag")] == [
        1.5,
        2.5,
        7.0,
        4.0,
        1.0,
    ]
    assert run.texts["note"] == [(2, "**hello**")]
    assert run.texts["forced"] == [(4, "5")]
    assert run.histograms["weights"] == [(3, 10.0)]


def test_nan_and_inf_are_written_as_they_are_without_warnings(
    logger: logging.Logger, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NaN and +-inf are kept, with no message on stderr."""
    handler = tblog.TensorBoardHandler(logdir)
    logger.addHandler(handler)
    for step, value in enumerate([math.nan, math.inf, -math.inf, 1e300]):
        logger.info("", extra={"tag": "odd", "value": value, "step": step})
    handler.close()
    values = read_run(logdir).values("odd")
    assert math.isnan(values[0])
    assert [math.inf, -math.inf, math.inf] == values[1:]
    assert capsys.readouterr().err == ""


def test_missing_steps_count_per_tag_from_zero(logger: logging.Logger, logdir: Path) -> None:
    """Without a step or context, each tag counts 0, 1, 2, ...; explicit steps move it on."""
    handler = tblog.TensorBoardHandler(logdir)
    logger.addHandler(handler)
    for _ in range(3):
        logger.info("", extra={"tag": "a", "value": 1.0})
    logger.info("", extra={"tag": "b", "value": 1.0})
    logger.info("", extra={"tag": "a", "value": 1.0, "step": 10})
    logger.info("", extra={"tag": "a", "value": 1.0})
    handler.close()
    run = read_run(logdir)
    assert run.steps("a") == [0, 1, 2, 10, 11]
    assert run.steps("b") == [0]


def test_text_lines_keep_their_own_counter_inside_a_step_context(
    logger: logging.Logger, logdir: Path
) -> None:
    """Several log lines at one training step stay separate text points (no collapse)."""
    handler = tblog.TensorBoardHandler(logdir)
    logger.addHandler(handler)
    with tblog.step(5):
        logger.info("first")
        logger.info("second")
        logger.warning("careful")
        logger.info("", extra={"tag": "loss", "value": 0.1})
    handler.close()
    run = read_run(logdir)
    assert [t.split("\n")[1] for _, t in run.texts["logs/INFO"]] == ["first", "second"]
    assert run.steps("logs/INFO") == [0, 1]
    assert run.steps("logs/WARNING") == [0]
    assert run.steps("loss") == [5]


def test_text_uses_the_handlers_formatter_and_text_tag(
    logger: logging.Logger, logdir: Path
) -> None:
    """Plain messages are formatted by the handler; ``text_tag`` may name record attributes."""
    handler = tblog.TensorBoardHandler(logdir, text_tag="console/{name}")
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.error("disk `almost` full ```")
    handler.close()
    run = read_run(logdir)
    fence = "````"  # longer than any backtick run in the line, so Markdown cannot break out
    assert {f"console/{logger.name}": [(0, f"{fence}\nERROR disk `almost` full ```\n{fence}")]} == (
        run.texts
    )


def test_text_tag_none_writes_no_text(logger: logging.Logger, logdir: Path) -> None:
    """``text_tag=None`` turns plain messages off; scalars still go through."""
    handler = tblog.TensorBoardHandler(logdir, text_tag=None)
    logger.addHandler(handler)
    logger.info("not written")
    logger.info("", extra={"tag": "x", "value": 1, "step": 0})
    handler.close()
    run = read_run(logdir)
    assert run.texts == {}
    assert run.scalars["x"] == [(0, 1.0)]


def test_bad_text_tag_is_rejected_at_construction(logdir: Path) -> None:
    """A text_tag naming no record attribute fails at construction, naming the template."""
    with pytest.raises(ValueError, match="nope"):
        tblog.TensorBoardHandler(logdir, text_tag="logs/{nope}")


def test_level_filtering(logger: logging.Logger, logdir: Path) -> None:
    """Records below the handler's level are not written."""
    handler = tblog.TensorBoardHandler(logdir, level="WARNING")
    logger.addHandler(handler)
    logger.info("", extra={"tag": "low", "value": 1, "step": 0})
    logger.warning("", extra={"tag": "high", "value": 2, "step": 0})
    handler.close()
    assert list(read_run(logdir).scalars) == ["high"]


def test_bad_input_never_raises_reports_once_and_keeps_the_rest(
    logger: logging.Logger, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad tag/step/value/metrics: one stderr line per (logger, problem), good points kept."""
    handler = tblog.TensorBoardHandler(logdir)
    stream = io.StringIO()
    file_log = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.addHandler(file_log)
    for _ in range(3):
        logger.info("bad step", extra={"tag": "x", "value": 1.0, "step": -1})
    logger.info("bad value", extra={"tag": "x", "value": object(), "step": 1})
    logger.info("bad tag", extra={"tag": "", "value": 1.0, "step": 1})
    logger.info("float step", extra={"tag": "x", "value": 1.0, "step": 1.5})
    logger.info("mixed", extra={"metrics": {"good": 1.0, "bad": "text", 3: 1.0}, "step": 2})
    logger.info("not a dict", extra={"metrics": [1, 2]})
    logger.info("good", extra={"tag": "x", "value": 2.0, "step": 5})
    handler.close()

    err = capsys.readouterr().err.splitlines()
    assert len(err) == 6, err
    assert all(line.startswith("tblog: ") for line in err)
    assert any("step must be an int >= 0 and < 2**63, got -1" in line for line in err)
    assert any("tag must be a non-empty str" in line for line in err)
    assert any("value of type object" in line for line in err)
    assert any("metrics['bad'] must be a number" in line for line in err)
    assert any("metrics keys must be non-empty str, got 3" in line for line in err)
    assert any("metrics must be a mapping of numbers, got [1, 2]" in line for line in err)
    assert all(logger.name in line for line in err)
    run = read_run(logdir)
    assert run.scalars == {"x": [(5, 2.0)], "good": [(2, 1.0)]}
    assert len(stream.getvalue().splitlines()) == 9  # the file log got every message


def test_bad_input_is_silent_when_raise_exceptions_is_off(
    logger: logging.Logger, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like handleError, the bad-input line follows ``logging.raiseExceptions``."""
    logging.raiseExceptions = False
    logger.addHandler(tblog.TensorBoardHandler(logdir))
    logger.info("", extra={"tag": "x", "value": 1.0, "step": -1})
    assert capsys.readouterr().err == ""


def test_every_report_follows_raise_exceptions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Processor, facade and writer problems are silent too when raiseExceptions is off."""
    logging.raiseExceptions = False
    with tblog.setup("quiet", runs_root=tmp_path / "runs", log_root=tmp_path, console=False) as run:
        run.scalar("x", "not a number")
        processor = tblog.TensorBoardProcessor(logdir=str(tmp_path / "p"))
        processor(None, "info", {"tag": "x", "value": object()})
        processor.close()
        writer = tblog.get_writer(tmp_path / "w")
        writer.close()
        blocked = tmp_path / "file"
        blocked.write_text("")
        with tblog.get_writer(blocked / "run") as broken:
            broken.add_scalar("x", 1.0, 0)
            assert broken.flush() is False
    assert capsys.readouterr().err == ""


def test_unexpected_errors_go_to_handle_error(
    logger: logging.Logger, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An error inside emit (a failing formatter) reaches handleError, not the caller."""

    class Broken(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            raise ZeroDivisionError("formatter bug")

    handler = tblog.TensorBoardHandler(logdir)
    handler.setFormatter(Broken())
    logger.addHandler(handler)
    logger.info("plain message")  # must not raise
    err = capsys.readouterr().err
    assert "--- Logging error ---" in err
    assert "ZeroDivisionError: formatter bug" in err


def test_own_and_tensorboardx_records_are_ignored(logdir: Path) -> None:
    """A handler on the root logger does not write tblog's or tensorboardX's own messages."""
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    handler = tblog.TensorBoardHandler(logdir)
    root.addHandler(handler)
    logging.getLogger("tensorboardX.summary").info("Summary name x is illegal")
    logging.getLogger("tblog").info("internal")
    logging.getLogger("tblogger").info("a user logger that only starts alike")
    handler.close()
    texts = read_run(logdir).texts
    assert [t for _, t in texts["logs/INFO"]] == ["```\na user logger that only starts alike\n```"]


def test_payload_in_a_dict_message_is_read(logger: logging.Logger, logdir: Path) -> None:
    """A dict in ``record.msg`` (structlog's wrap_for_formatter) carries the payload."""
    handler = tblog.TensorBoardHandler(logdir)
    logger.addHandler(handler)
    logger.info({"event": "train", "tag": "loss", "value": 0.5, "step": 4})
    handler.close()
    assert read_run(logdir).scalars == {"loss": [(4, 0.5)]}


def test_records_that_crossed_a_process_boundary_are_read(logdir: Path) -> None:
    """A record prepared by QueueHandler and pickled keeps its extras."""
    queue_handler = logging.handlers.QueueHandler(queue=None)  # type: ignore[arg-type]
    record = logging.LogRecord("w", logging.INFO, __file__, 1, "step %d", (3,), None)
    record.tag, record.value, record.step = "loss", 0.25, 3
    wire = pickle.loads(pickle.dumps(queue_handler.prepare(record)))
    handler = tblog.TensorBoardHandler(logdir)
    handler.handle(wire)
    handler.close()
    assert read_run(logdir).scalars == {"loss": [(3, 0.25)]}


def test_dictconfig_class_and_factory(tmp_path: Path) -> None:
    """``"class"`` and ``"()"`` construction in dictConfig, with plain keyword values."""
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(name)s: %(message)s"}},
        "handlers": {
            "tb": {
                "class": "tblog.TensorBoardHandler",
                "logdir": str(tmp_path / "a"),
                "level": "INFO",
                "formatter": "plain",
                "text_tag": "logs",
                "flush_secs": 0.5,
            },
            "tb2": {"()": "tblog.TensorBoardHandler", "logdir": str(tmp_path / "b")},
        },
        "loggers": {"dc": {"handlers": ["tb", "tb2"], "level": "DEBUG", "propagate": False}},
    }
    logging.config.dictConfig(json.loads(json.dumps(config)))
    log = logging.getLogger("dc")
    log.debug("below the handler level")
    log.info("hello")
    log.info("", extra={"tag": "loss", "value": 1.5, "step": 2})
    handlers = list(log.handlers)
    for handler in handlers:
        log.removeHandler(handler)
        handler.close()
    a, b = read_run(tmp_path / "a"), read_run(tmp_path / "b")
    assert a.texts == {"logs": [(0, "```\ndc: hello\n```")]}
    assert {"loss": [(2, 1.5)]} == a.scalars == b.scalars
    assert (b.steps("logs/DEBUG"), b.steps("logs/INFO")) == ([0], [0])


def test_two_handlers_and_a_writer_share_one_event_file(
    logger: logging.Logger, logdir: Path
) -> None:
    """Everything aimed at one run in one process writes one event file."""
    first = tblog.TensorBoardHandler(logdir)
    second = tblog.TensorBoardHandler(str(logdir) + "/")
    writer = tblog.get_writer(logdir)
    logger.addHandler(first)
    logging.getLogger("other").addHandler(second)
    logger.info("", extra={"tag": "a", "value": 1})
    logging.getLogger("other").warning("", extra={"tag": "b", "value": 2})
    writer.add_scalar("c", 3)
    first.close()
    writer.close()
    logging.getLogger("other").removeHandler(second)
    second.close()
    assert len(event_files(logdir)) == 1
    assert read_run(logdir).scalars == {"a": [(0, 1.0)], "b": [(0, 2.0)], "c": [(0, 3.0)]}


def test_flush_makes_points_readable_without_close(logger: logging.Logger, logdir: Path) -> None:
    """After ``flush()`` returns, TensorBoard's loader sees every point emitted before it."""
    handler = tblog.TensorBoardHandler(logdir, flush_secs=60)
    logger.addHandler(handler)
    for step in range(1000):
        logger.info("", extra={"tag": "loss", "value": step / 1000, "step": step})
    handler.flush()
    assert list(range(1000)) == read_run(logdir).steps("loss")
    handler.close()


def test_close_twice_and_emit_after_close(
    logger: logging.Logger, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second close is harmless; a record after close is dropped with one line, no raise."""
    handler = tblog.TensorBoardHandler(logdir)
    logger.addHandler(handler)
    logger.info("", extra={"tag": "x", "value": 1, "step": 0})
    handler.close()
    handler.close()
    logger.info("", extra={"tag": "x", "value": 2, "step": 1})
    logger.info("", extra={"tag": "x", "value": 3, "step": 2})
    assert len(capsys.readouterr().err.splitlines()) == 1
    assert read_run(logdir).scalars["x"] == [(0, 1.0)]
    with pytest.raises(tblog.WriterClosedError):
        _ = handler.writer


def test_no_event_file_before_the_first_point(logdir: Path) -> None:
    """Constructing a handler creates no file (and no directory) until something is logged."""
    handler = tblog.TensorBoardHandler(logdir)
    handler.flush()
    assert not logdir.exists()
    handler.close()
    assert not logdir.exists()


def test_text_tag_templates_are_formatted_per_record(logger: logging.Logger, logdir: Path) -> None:
    """text_tag="logs/{funcName}": each function's lines under its own tag, not the first's."""
    handler = tblog.TensorBoardHandler(logdir, text_tag="logs/{funcName}")
    logger.addHandler(handler)

    def load() -> None:
        logger.info("loading")

    def train() -> None:
        logger.info("training")

    load()
    train()
    load()
    handler.close()
    texts = read_run(logdir).texts
    assert [0, 1] == [step for step, _ in texts["logs/load"]]
    assert [(0, "```\ntraining\n```")] == texts["logs/train"]


def test_a_foreign_extra_keeps_its_message_as_text(
    logger: logging.Logger, logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A library's extra={"value": 3} (no tag) is no point: its message is written as text."""
    handler = tblog.TensorBoardHandler(logdir, text_tag="logs")
    logger.addHandler(handler)
    logger.info("retry %d", 3, extra={"value": 3})
    logger.info("ok", extra={"tag": "x", "value": 1.0, "step": 0})
    handler.close()
    data = read_run(logdir)
    assert {"logs": [(0, "```\nretry 3\n```")]} == data.texts
    assert {"x": [(0, 1.0)]} == data.scalars
    assert 1 == capsys.readouterr().err.count("tag must be a non-empty str")


class _PicklingQueue(queue.Queue):  # type: ignore[type-arg]
    """A queue whose items are pickled on the way, as across a process boundary."""

    def _put(self, item: object) -> None:
        super()._put(pickle.loads(pickle.dumps(item)))


def test_structlog_payloads_cross_a_queue_handler(logdir: Path) -> None:
    """wrap_for_formatter + tblog.QueueHandler from dictConfig: points arrive as points."""
    structlog = pytest.importorskip("structlog")
    records = _PicklingQueue()
    queue_config: dict[str, Any] = {"class": "tblog.QueueHandler", "queue": records}
    if sys.version_info >= (3, 12):  # dictConfig then builds the QueueListener itself
        queue_config["handlers"] = ["tb"]
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "kv": {
                    "()": "structlog.stdlib.ProcessorFormatter",
                    "processor": structlog.processors.KeyValueRenderer(),
                }
            },
            "handlers": {
                "tb": {
                    "class": "tblog.TensorBoardHandler",
                    "logdir": str(logdir),
                    "text_tag": "logs",
                    "formatter": "kv",
                },
                "q": queue_config,
            },
            "loggers": {"sl.queue": {"handlers": ["q"], "level": "INFO", "propagate": False}},
        }
    )
    structlog.configure(
        processors=[structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    log = structlog.get_logger("sl.queue")
    log.info("train", tag="loss", value=0.5, step=2)
    log.info("eval", metrics={"acc": 0.75}, step=2)
    try:
        {}["boom"]
    except KeyError:
        log.exception("failed")
    handler = logging._handlers["tb"]  # type: ignore[attr-defined]
    if sys.version_info >= (3, 12):
        listener = logging._handlers["q"].listener  # type: ignore[attr-defined]
    else:
        listener = logging.handlers.QueueListener(records, handler)
    listener.start()
    listener.stop()
    handler.close()
    data = read_run(logdir)
    assert {"loss": [(2, 0.5)], "acc": [(2, 0.75)]} == data.scalars
    ((_, text),) = data.texts["logs"]
    assert "event='failed'" in text
    assert "KeyError" in text
    assert "boom" in text


def test_an_unpicklable_event_dict_crosses_a_process_queue_as_text(logdir: Path) -> None:
    """A lock in a structlog event dict: sent as the stdlib's text, never lost."""
    import multiprocessing

    records = multiprocessing.get_context("spawn").Queue()
    handler = tblog.QueueHandler(records)
    record = logging.LogRecord(
        "q", logging.INFO, __file__, 1, {"event": "e", "lock": _LOCK}, None, None
    )
    prepared = handler.prepare(record)
    pickle.dumps(prepared)
    assert isinstance(prepared.msg, str)
    assert "'event': 'e'" in prepared.msg
    good = handler.prepare(
        logging.LogRecord("q", logging.INFO, __file__, 1, {"tag": "t", "value": 1.0}, None, None)
    )
    assert {"tag": "t", "value": 1.0} == pickle.loads(pickle.dumps(good)).msg
    records.close()


_LOCK = __import__("threading").Lock()
