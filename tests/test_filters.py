"""``tblog.SampleFilter``: which records pass, as README's "Log every N steps" promises.

Most tests ask the filter about records directly; the end-to-end ones read the run back with
TensorBoard's loader.
"""

from __future__ import annotations

import logging
import logging.config
import threading
from pathlib import Path
from typing import Any

import pytest
from tbread import read_run

import tblog
from tblog import filters


def _record(**extra: Any) -> logging.LogRecord:
    return logging.makeLogRecord({"msg": "", **extra})


def _passed(sample: tblog.SampleFilter, records: list[dict[str, Any]]) -> list[bool]:
    return [bool(sample.filter(_record(**extra))) for extra in records]


def _setup(tmp_path: Path, **options: Any) -> tblog.RootLogger:
    return tblog.setup(
        "loop", log_root=tmp_path / "logs", runs_root=tmp_path / "runs", log_name="loop",
        console=False, **options,
    )  # fmt: skip


# ---- every N steps ---------------------------------------------------------------------------


def test_matching_tags_pass_on_multiples_of_every_and_the_rest_always() -> None:
    """every=10, tags=["train/*"]: train/ steps 0, 10, 20 pass; eval/ and messages always."""
    sample = tblog.SampleFilter(every=10, tags=["train/*"])
    steps = range(25)
    train = _passed(sample, [{"tag": "train/loss", "value": 1.0, "step": s} for s in steps])
    other = _passed(sample, [{"tag": "eval/acc", "value": 1.0, "step": s} for s in steps])
    assert [s for s, ok in zip(steps, train, strict=True) if ok] == [0, 10, 20]
    assert all(other)
    assert sample.filter(_record(msg="a plain message"))


def test_tags_none_samples_every_tagged_record_but_no_plain_message() -> None:
    """tags=None: any tag is sampled; a record without a payload still passes."""
    sample = tblog.SampleFilter(every=2)
    assert [True, False, True] == _passed(
        sample, [{"tag": "anything", "value": 1.0, "step": s} for s in range(3)]
    )
    assert sample.filter(_record(msg="hello", step=3))  # a step alone is no payload


def test_glob_patterns_and_exact_names_both_select() -> None:
    """A pattern matches by fnmatch; a name with glob characters matches itself."""
    sample = tblog.SampleFilter(every=5, tags=["loss", "acc[0]", "layer?/w"])
    for tag in ("loss", "acc[0]", "layer1/w"):
        assert [True, False] == _passed(
            sample, [{"tag": tag, "value": 1.0, "step": s} for s in (5, 6)]
        ), tag
    for tag in ("loss2", "acc1", "layer10/w"):
        assert sample.filter(_record(tag=tag, value=1.0, step=6)), tag


def test_the_step_context_stands_in_for_a_missing_step() -> None:
    """Without a record step, the enclosing tblog.step decides; a record step still wins."""
    sample = tblog.SampleFilter(every=3, tags=["x"])
    with tblog.step(6):
        assert sample.filter(_record(tag="x", value=1.0))
        assert not sample.filter(_record(tag="x", value=1.0, step=7))
    with tblog.step(7):
        assert not sample.filter(_record(tag="x", value=1.0))


def test_without_any_step_records_are_counted_per_tag() -> None:
    """No step anywhere: the 1st, 4th, 7th ... record of each tag passes (every=3)."""
    sample = tblog.SampleFilter(every=3)
    a = _passed(sample, [{"tag": "a", "value": 1.0}] * 7)
    b = _passed(sample, [{"tag": "b", "value": 1.0}] * 4)
    assert [True, False, False, True, False, False, True] == a
    assert [True, False, False, True] == b


def test_counting_is_exact_under_threads() -> None:
    """Eight threads counting one tag: exactly every third record passes, none twice."""
    sample = tblog.SampleFilter(every=3, tags=["t"])
    results: list[bool] = []
    lock = threading.Lock()

    def work() -> None:
        mine = _passed(sample, [{"tag": "t", "value": 1.0}] * 300)
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert 2400 == len(results)
    assert 800 == sum(results)


def test_a_bad_step_passes_so_the_handler_can_report_it() -> None:
    """A record whose step is invalid is not the filter's to drop."""
    sample = tblog.SampleFilter(every=2)
    for step in (-1, "3", 1.5, True):
        assert sample.filter(_record(tag="x", value=1.0, step=step)), step
    assert sample.filter(_record(tag=3, value=1.0, step=1))  # a bad tag: nothing to sample by


# ---- metrics ---------------------------------------------------------------------------------


def test_a_metrics_record_is_kept_or_dropped_whole_by_its_first_matching_tag() -> None:
    """With a tag prefix the keys are tag/key; the first matching one decides."""
    sample = tblog.SampleFilter(every=2, tags=["train/f1"])
    metrics = {"acc": 1.0, "f1": 1.0}
    with_prefix = [{"metrics": metrics, "tag": "train", "step": s} for s in range(4)]
    without = [{"metrics": metrics, "step": s} for s in range(4)]
    assert [True, False, True, False] == _passed(sample, with_prefix)
    assert [True, True, True, True] == _passed(sample, without)  # "f1" is not "train/f1"
    assert sample.filter(_record(metrics="not a mapping", step=1))


# ---- max_per_second --------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The filter's clock, set by the test."""
    now = [100.0]
    monkeypatch.setattr(filters, "_clock", lambda: now[0])
    return now


def test_max_per_second_is_per_tag(clock: list[float]) -> None:
    """Each tag has its own 1/r interval; other tags are not held back by it."""
    sample = tblog.SampleFilter(max_per_second=1)
    assert sample.filter(_record(tag="a", value=1.0))
    assert sample.filter(_record(tag="b", value=1.0))
    clock[0] += 0.5
    assert not sample.filter(_record(tag="a", value=1.0))
    clock[0] += 0.5
    assert sample.filter(_record(tag="a", value=1.0))


def test_every_and_max_per_second_must_both_agree(clock: list[float]) -> None:
    """With both, a record passes only on a multiple of every and outside the interval."""
    sample = tblog.SampleFilter(every=2, max_per_second=1)
    seen = []
    for step in range(8):
        clock[0] = 100.0 + step * 0.4
        seen.append(sample.filter(_record(tag="x", value=1.0, step=step)))
    # Steps 0, 2, 4, 6 are multiples of 2; 2 and 6 come 0.8 s after the last one that passed.
    assert [True, False, False, False, True, False, False, False] == seen


# ---- where it sits ---------------------------------------------------------------------------


def test_on_a_handler_it_thins_that_destination_only(
    tmp_path: Path, logger: logging.Logger
) -> None:
    """The TensorBoard handler gets every 5th step, a file handler beside it every record."""
    log = logger
    handler = tblog.TensorBoardHandler(tmp_path / "run")
    handler.addFilter(tblog.SampleFilter(every=5, tags=["loss"]))
    file_handler = logging.FileHandler(tmp_path / "all.log")
    log.addHandler(handler)
    log.addHandler(file_handler)
    for step in range(12):
        log.info("step %d", step, extra={"tag": "loss", "value": float(step), "step": step})
    handler.close()
    file_handler.close()
    assert [0, 5, 10] == read_run(tmp_path / "run").steps("loss")
    assert 12 == (tmp_path / "all.log").read_text().count("step ")


def test_a_structlog_event_dict_in_msg_is_read_like_extras() -> None:
    """ProcessorFormatter.wrap_for_formatter carries the event dict in record.msg."""
    sample = tblog.SampleFilter(every=4, tags=["loss"])
    records = [
        logging.makeLogRecord({"msg": {"event": "e", "tag": "loss", "value": 1.0, "step": s}})
        for s in range(5)
    ]
    assert [True, False, False, False, True] == [sample.filter(r) for r in records]


def test_from_mapping_gives_each_tag_its_first_matching_pattern() -> None:
    """{"train/*": 10, "*": 2}: train/ tags every 10th step, every other tag every 2nd."""
    sample = tblog.SampleFilter.from_mapping({"train/*": 10, "*": 2})
    assert "['train/*']: every 10" in repr(sample)
    train = _passed(sample, [{"tag": "train/x", "value": 1.0, "step": s} for s in range(11)])
    other = _passed(sample, [{"tag": "eval/x", "value": 1.0, "step": s} for s in range(5)])
    assert [0, 10] == [s for s, ok in enumerate(train) if ok]
    assert [0, 2, 4] == [s for s, ok in enumerate(other) if ok]


@pytest.mark.parametrize(
    ("sample", "error", "match"),
    [
        ("train/*", TypeError, "must be a mapping"),
        ({}, ValueError, "at least one tag pattern"),
        ({"x": 1.5}, ValueError, r"sample\['x'\] must be an int >= 1"),
        ({"x": True}, ValueError, r"sample\['x'\] must be an int >= 1"),
        ({"": 2}, TypeError, "non-empty str patterns"),
    ],
)
def test_from_mapping_checks_its_argument(sample: Any, error: type[Exception], match: str) -> None:
    """A bad sample mapping raises naming the bad entry."""
    with pytest.raises(error, match=match):
        tblog.SampleFilter.from_mapping(sample)


# ---- dictConfig, logger, setup, arguments ----------------------------------------------------


def test_sample_filter_from_dictconfig_exact_steps(tmp_path: Path) -> None:
    """From dictConfig: train/* every 10th step; other tags and messages all pass."""
    logging.config.dictConfig({
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"sample": {"()": "tblog.SampleFilter", "every": 10, "tags": ["train/*"]}},
        "handlers": {
            "tb": {"class": "tblog.TensorBoardHandler", "logdir": str(tmp_path / "run"),
                   "text_tag": "logs", "filters": ["sample"]},
        },
        "loggers": {"sampled": {"handlers": ["tb"], "level": "INFO", "propagate": False}},
    })  # fmt: skip
    log = logging.getLogger("sampled")
    for step in range(35):
        log.info("", extra={"tag": "train/loss", "value": float(step), "step": step})
        log.info("", extra={"tag": "eval/acc", "value": 0.5, "step": step})
        log.info("", extra={"metrics": {"a": 1.0, "b": 2.0}, "tag": "train", "step": step})
    log.info("plain message")
    (handler,) = log.handlers
    handler.close()
    data = read_run(tmp_path / "run")
    assert [0, 10, 20, 30] == data.steps("train/loss")
    assert [0.0, 10.0, 20.0, 30.0] == data.values("train/loss")
    assert [0, 10, 20, 30] == data.steps("train/a") == data.steps("train/b")
    assert list(range(35)) == data.steps("eval/acc")
    assert [0] == data.steps("logs")


def test_sample_filter_by_count_context_and_metric_keys(tmp_path: Path) -> None:
    """No step: every 3rd record of a tag; tblog.step context; prefix-less metrics by key."""
    sample = tblog.SampleFilter(every=3, tags=["loss", "acc"])
    handler = tblog.TensorBoardHandler(tmp_path / "run")
    log = logging.getLogger("sampled.count")
    log.addHandler(handler)
    log.addFilter(sample)  # on a logger: the records themselves are thinned
    log.setLevel(logging.INFO)
    for n in range(10):
        log.info("", extra={"tag": "loss", "value": float(n)})
    for n in range(7):
        with tblog.step(n):
            log.info("", extra={"metrics": {"acc": float(n), "f1": 1.0}})
            log.info("", extra={"metrics": {"other": float(n)}})
    handler.close()
    data = read_run(tmp_path / "run")
    assert [0.0, 3.0, 6.0, 9.0] == data.values("loss")  # counted steps 0..3
    assert [0, 3, 6] == data.steps("acc") == data.steps("f1")
    assert list(range(7)) == data.steps("other")


def test_sample_filter_max_per_second(monkeypatch: pytest.MonkeyPatch) -> None:
    """max_per_second=2: a tag passes at most once per half second (on a fake clock)."""
    now = [100.0]
    monkeypatch.setattr(filters, "_clock", lambda: now[0])
    sample = tblog.SampleFilter(max_per_second=2, tags=["loss"])
    passed = []
    for n in range(10):
        now[0] = 100.0 + n * 0.2
        record = logging.makeLogRecord({"tag": "loss", "value": 1.0, "step": n})
        passed.append(sample.filter(record))
    plain = logging.makeLogRecord({"msg": "hello"})
    assert [True, False, False, True, False, False, True, False, False, True] == passed
    assert sample.filter(plain)


def test_setup_sample_thins_the_run_and_keeps_the_file_log(tmp_path: Path) -> None:
    """setup(sample={"train/*": 5}): TensorBoard gets every 5th step, the file log every line."""
    with _setup(tmp_path, sample={"train/*": 5, "*": 2}):
        log = logging.getLogger("train")
        for step in range(12):
            log.info("step %d", step, extra={"tag": "train/loss", "value": 1.0, "step": step})
            log.info("eval %d", step, extra={"tag": "eval/acc", "value": 1.0, "step": step})
    data = read_run(tmp_path / "runs" / "loop")
    assert [0, 5, 10] == data.steps("train/loss")  # the first matching pattern decides
    assert [0, 2, 4, 6, 8, 10] == data.steps("eval/acc")
    log_text = (tmp_path / "logs" / "loop.log").read_text()
    assert 12 == log_text.count("train: step ")
    assert 12 == log_text.count("train: eval ")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "needs every="),
        ({"every": 0}, ValueError, "every must be an int >= 1"),
        ({"every": 2, "tags": "train/*"}, TypeError, "not the str"),
        ({"max_per_second": -1}, ValueError, "max_per_second must be a number > 0"),
    ],
)
def test_sample_filter_checks_its_arguments(
    kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    """Bad arguments raise naming the argument."""
    with pytest.raises(error, match=match):
        tblog.SampleFilter(**kwargs)


def test_setup_sample_is_checked_before_anything_starts(tmp_path: Path) -> None:
    """setup(sample={"x": 0}) raises and leaves no file behind."""
    with pytest.raises(ValueError, match=r"sample\['x'\] must be an int >= 1"):
        _setup(tmp_path, sample={"x": 0})
    assert not (tmp_path / "logs").exists()


def test_sample_filter_selects_a_tag_by_its_exact_name_even_with_glob_characters(
    tmp_path: Path,
) -> None:
    """tags=["acc[0]"] samples the tag named acc[0] (a glob alone would miss it), not acc1."""
    handler = tblog.TensorBoardHandler(tmp_path / "run")
    handler.addFilter(tblog.SampleFilter(every=5, tags=["acc[0]"]))
    log = logging.getLogger("sampled.exact")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    for step in range(10):
        log.info("", extra={"tag": "acc[0]", "value": float(step), "step": step})
        log.info("", extra={"tag": "acc1", "value": float(step), "step": step})
    handler.close()
    data = read_run(tmp_path / "run")
    assert [0, 5] == data.steps("acc[0]")
    assert list(range(10)) == data.steps("acc1")
