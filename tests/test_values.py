"""Values as users really pass them: huge, str subclasses, hostile objects, helpers' checks."""

from __future__ import annotations

import enum
import importlib.util
import io
import logging
import math
import struct
from collections.abc import Iterator, Mapping
from itertools import count
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from tbread import read_run

import tblog

# ---- helpers -------------------------------------------------------------------------------


def _histograms(path: Path) -> dict[str, list[Any]]:
    """The HistogramProtos of a run, per tag, as TensorBoard's EventAccumulator reads them."""
    from tensorboard.backend.event_processing import event_accumulator as ea

    acc = ea.EventAccumulator(str(path), size_guidance={ea.HISTOGRAMS: 0})
    acc.Reload()
    return {t: [e.histogram_value for e in acc.Histograms(t)] for t in acc.Tags()["histograms"]}


def _shown_buckets(path: Path, tag: str) -> list[list[float]]:
    """The [left, right, count] buckets TensorBoard's histogram plugin serves (Python loader)."""
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.util import tensor_util

    acc = pea.EventAccumulator(str(path), size_guidance={"tensors": 0})
    acc.Reload()
    (event,) = acc.Tensors(tag)
    return tensor_util.make_ndarray(event.tensor_proto).tolist()  # type: ignore[no-any-return]


def _logger(name: str, logdir: Path, **options: Any) -> tuple[logging.Logger, Any]:
    logger = logging.getLogger(f"values.{name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = tblog.TensorBoardHandler(logdir, **options)
    logger.addHandler(handler)
    return logger, handler


def _f32(value: float) -> float:
    number = float(value)
    if math.isfinite(number) and abs(number) > 3.4028234663852886e38:
        return math.copysign(math.inf, number)
    return float(struct.unpack("<f", struct.pack("<f", number))[0])


class Hostile:
    """Every dunder a check of a value, tag, step or mapping might call raises."""

    def _boom(self, *args: Any, **kwargs: Any) -> Any:
        msg = "hostile dunder"
        raise RuntimeError(msg)

    __float__ = __int__ = __index__ = __repr__ = __str__ = __format__ = _boom
    __len__ = __iter__ = __bool__ = __eq__ = __hash__ = _boom  # type: ignore[assignment]


class HostileStr(str):
    """A str subclass whose every dunder and method a check might call raises."""

    def _boom(self, *args: Any, **kwargs: Any) -> Any:
        msg = "hostile str dunder"
        raise RuntimeError(msg)

    __repr__ = __str__ = __format__ = __len__ = __iter__ = __bool__ = _boom
    __eq__ = __hash__ = __getitem__ = __contains__ = encode = replace = _boom  # type: ignore[assignment]


class LoudFloat(float):
    """A valid number that cannot be printed (``__repr__``, ``__str__``, ``__format__`` raise)."""

    def _boom(self, *args: Any, **kwargs: Any) -> Any:
        msg = "cannot print"
        raise RuntimeError(msg)

    __repr__ = __str__ = __format__ = _boom


class HostileMapping(Mapping[Any, Any]):
    """A mapping whose items are given (keys need not be hashable) or whose iteration raises."""

    def __init__(self, items: list[tuple[Any, Any]] | None) -> None:
        self._items = items

    def __getitem__(self, key: Any) -> Any:
        raise KeyError(key)

    def __iter__(self) -> Iterator[Any]:
        if self._items is None:
            msg = "hostile iteration"
            raise RuntimeError(msg)
        return iter([k for k, _ in self._items])

    def __len__(self) -> int:
        return 0 if self._items is None else len(self._items)

    def items(self) -> Any:
        """The given pairs, or raise."""
        if self._items is None:
            msg = "hostile items"
            raise RuntimeError(msg)
        return list(self._items)


class Color(str, enum.Enum):
    """A str-mixin Enum: ``str(Color.RED)`` is ``"Color.RED"`` on Python 3.11."""

    RED = "red"
    SCALAR = "scalar"


_run_ids = count()


# ---- 9: histograms of huge values ----------------------------------------------------------


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # TensorBoard's float32
def test_histogram_values_beyond_1e20_land_in_buckets(logdir: Path) -> None:
    """Values past +-1e20 are counted in buckets; min/max/num/sum stay right (sum_squares inf)."""
    writer = tblog.get_writer(logdir)
    writer.add_histogram("some", np.array([1.0, 2.0, 1e25]), 0)
    writer.add_histogram("all", np.array([1e25, -2e30]), 0)
    writer.add_histogram("extreme", np.array([1.0, -1e200, 1e308, 1e308]), 0)
    writer.close()

    histos = _histograms(logdir)
    some, every, extreme = histos["some"][0], histos["all"][0], histos["extreme"][0]
    assert (3, 3, 1.0, 1e25) == (some.num, sum(some.bucket), some.min, some.max)
    assert 1e25 == some.bucket_limit[-1]
    assert (2, 2, -2e30, 1e25) == (every.num, sum(every.bucket), every.min, every.max)
    assert (4, 4, -1e200, 1e308) == (extreme.num, sum(extreme.bucket), extreme.min, extreme.max)
    assert math.inf == extreme.sum
    assert math.inf == extreme.sum_squares
    shown = _shown_buckets(logdir, "some")  # what the histogram plugin serves
    assert 3 == sum(c for _, _, c in shown)
    assert pytest.approx(1e25) == shown[-1][1]
    assert 2 == sum(c for _, _, c in _shown_buckets(logdir, "all"))


def test_histogram_of_float32_nan_inf_empty_and_all_nan_input(logdir: Path) -> None:
    """float32 near its max, NaN/inf left out, empty and all-NaN input: num counts finite values."""
    writer = tblog.get_writer(logdir)
    big32 = np.array([1.5, 3e38, -3e38, np.inf, np.nan], dtype=np.float32)
    writer.add_histogram("f32", big32, 0)
    writer.add_histogram("f64", np.array([1.5, np.nan, -np.inf, 1e21]), 0)
    writer.add_histogram("empty", np.array([]), 0)
    writer.add_histogram("nan", np.full(4, np.nan), 0)
    writer.add_histogram("after", np.arange(5.0), 0)
    writer.close()

    histos = _histograms(logdir)
    f32 = histos["f32"][0]
    assert (3, 3) == (f32.num, sum(f32.bucket))
    assert (float(np.float32(-3e38)), float(np.float32(3e38))) == (f32.min, f32.max)
    f64 = histos["f64"][0]
    assert (2, 2, 1e21) == (f64.num, sum(f64.bucket), f64.max)
    assert 0 == histos["empty"][0].num
    assert 0 == histos["nan"][0].num
    assert 5 == histos["after"][0].num


def test_histogram_max_bins_caps_the_buckets_and_keeps_every_value(logdir: Path) -> None:
    """max_bins=3 over 10 bins: at most 3 buckets with values (plus the empty left-edge one)."""
    writer = tblog.get_writer(logdir)
    writer.add_histogram("w", np.arange(100.0), 0, bins=10, max_bins=3)
    writer.add_histogram("tf", np.arange(-50.0, 1e25, 1e23), 0, max_bins=7)
    writer.close()

    histos = _histograms(logdir)
    w, tf = histos["w"][0], histos["tf"][0]
    assert 3 >= len([c for c in w.bucket if c])
    assert 4 >= len(w.bucket)
    assert (100, 100) == (w.num, sum(w.bucket))
    assert 8 >= len(tf.bucket)
    assert tf.num == sum(tf.bucket)


def test_histogram_bins_may_be_an_array_of_edges(logdir: Path) -> None:
    """Bins given as a numpy array of edges is used as is (no ambiguous array comparison)."""
    writer = tblog.get_writer(logdir)
    writer.add_histogram("w", np.arange(10.0), 0, bins=np.linspace(0.0, 9.0, 4))
    writer.close()

    (w,) = _histograms(logdir)["w"]
    assert (10, [0.0, 3.0, 6.0, 9.0], [0, 3, 3, 4]) == (w.num, list(w.bucket_limit), list(w.bucket))


@pytest.mark.e2e
@pytest.mark.parametrize("load_fast", [False, True], ids=["python-loader", "rust-loader"])
def test_tensorboard_serves_histograms_of_huge_values(tmp_path: Path, load_fast: bool) -> None:
    """The real server shows every value of [1, 2, 1e25], its last bucket ending at 1e25."""
    if importlib.util.find_spec("tensorboard_data_server") is None and load_fast:
        pytest.skip("needs tensorboard-data-server")
    import test_tensorboard_e2e as e2e

    runs = tmp_path / "runs"
    writer = tblog.get_writer(runs / "exp")
    writer.add_histogram("w", np.array([1.0, 2.0, 1e25]), 0)
    writer.close()
    with e2e.tensorboard(runs, load_fast=load_fast) as url:
        tags = e2e._wait_for(url, "/data/plugin/histograms/tags", lambda a: "exp" in a)
        assert ["w"] == list(tags["exp"])
        path = "/data/plugin/histograms/histograms"
        ((_, step, buckets),) = e2e._get(url, path, run="exp", tag="w")
    assert 0 == step
    assert 3 == sum(c for _, _, c in buckets)
    assert pytest.approx(1e25) == buckets[-1][1]


# ---- 15: str subclasses --------------------------------------------------------------------


def test_str_subclass_values_are_text_never_scalars(logdir: Path) -> None:
    """np.str_ and str-Enum values are text holding their string (np.str_("1.5") is no scalar)."""
    logger, handler = _logger("strvalue", logdir, text_tag=None)
    logger.info("m", extra={"tag": "num", "value": np.str_("1.5"), "step": 0})
    logger.info("m", extra={"tag": "cat", "value": np.str_("cat"), "step": 0})
    logger.info("m", extra={"tag": "color", "value": Color.RED, "step": 0})
    logger.info("m", extra={"tag": "forced", "value": Color.RED, "kind": "text", "step": 0})
    handler.close()

    run = read_run(logdir)
    assert {} == run.scalars
    expected = {"num": "1.5", "cat": "cat", "color": "red", "forced": "red"}
    assert expected == {tag: texts[0][1] for tag, texts in run.texts.items()}


def test_str_subclass_tags_keys_and_kinds_are_accepted_as_plain_str(
    logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """np.str_/Enum tags, metrics keys, prefixes and kinds work; one tag means one step counter."""
    logger, handler = _logger("strtag", logdir, text_tag=None)
    logger.info("m", extra={"tag": np.str_("loss"), "value": 1.0})
    logger.info("m", extra={"tag": "loss", "value": 2.0})
    logger.info("m", extra={"tag": Color.RED, "value": 3.0, "step": 4})
    logger.info("m", extra={"tag": np.str_("val"), "metrics": {Color.RED: 5.0}, "step": 1})
    logger.info("m", extra={"tag": "k", "value": np.float64(6), "kind": Color.SCALAR, "step": 0})
    logger.info("m", extra={"tag": "k2", "value": 7, "kind": np.str_("scalar"), "step": 0})
    with tblog.step(np.int64(9)):
        logger.info("m", extra={"tag": "ctx", "value": 8.0})
    handler.writer.add_scalar(Color.RED, 9.0, 5)
    processor = tblog.TensorBoardProcessor(logdir=str(logdir))
    processor(None, "info", {"event": "e", "tag": np.str_("proc"), "value": 1.0, "step": 0})
    processor.close()
    handler.close()

    run = read_run(logdir)
    assert [(0, 1.0), (1, 2.0)] == run.scalars["loss"]
    assert [(4, 3.0), (5, 9.0)] == run.scalars["red"]
    assert [(1, 5.0)] == run.scalars["val/red"]
    assert [(0, 6.0)] == run.scalars["k"]
    assert [(0, 7.0)] == run.scalars["k2"]
    assert [(9, 8.0)] == run.scalars["ctx"]
    assert [(0, 1.0)] == run.scalars["proc"]
    assert "" == capsys.readouterr().err


def test_str_subclasses_in_facade_helpers_and_tables(tmp_path: Path) -> None:
    """RootLogger.scalars keys/prefix and table cells given as np.str_ or Enum read as strings."""
    with tblog.setup(
        "s", log_root=tmp_path / "logs", runs_root=tmp_path / "runs", log_name="s", console=False
    ) as run:
        run.scalars({Color.RED: 1.0, np.str_("b"): 2.0}, 0, prefix=np.str_("p"))
        run.table("t", [np.str_("name"), "color"], [[np.str_("x"), Color.RED]], 0)
    assert run.run_path is not None
    data = read_run(run.run_path)
    assert {"p/red": [(0, 1.0)], "p/b": [(0, 2.0)]} == data.scalars
    assert [(0, "| name | color |\n|---|---|\n| x | red |")] == data.texts["t"]


# ---- 20: values whose conversions raise ----------------------------------------------------


def test_an_int_beyond_float_raises_value_error_at_add_scalar(logdir: Path) -> None:
    """add_scalar(2**1100) raises ValueError naming the value; 2**100 and 2**200 are kept."""
    writer = tblog.get_writer(logdir)
    with pytest.raises(ValueError, match=r"beyond float range\): 1358298529049385849277"):
        writer.add_scalar("x", 2**1100, 0)
    writer.add_scalar("x", 2**100, 1)
    writer.add_scalar("x", 2**200, 2)  # beyond float32: inf, as a float32 cast gives
    writer.close()

    assert [(1, _f32(2**100)), (2, math.inf)] == read_run(logdir).scalars["x"]


def test_bad_walltimes_are_reported_once_and_never_raise(
    logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Walltime 10**400, inf or NaN in extra: one stderr line, no traceback, other points kept."""
    logger, handler = _logger("wall", logdir, text_tag=None)
    for walltime in (10**400, 10**400, math.inf, math.nan, -math.inf):
        logger.info("m", extra={"tag": "x", "value": 1.0, "step": 0, "walltime": walltime})
    logger.info("m", extra={"tag": "y", "value": 2.0, "step": 0, "walltime": 1_000_000.0})
    handler.close()

    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert 1 == err.count("walltime must be finite float seconds, got 1000000000")
    assert {"y": [(0, 2.0)]} == read_run(logdir).scalars
    assert [1_000_000.0] == read_run(logdir).wall_times


def test_facade_scalars_validates_walltime_and_the_writer_keeps_going(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """run.scalars(walltime="x") is reported and skipped; the writer thread writes on unharmed."""
    with tblog.setup(
        "w", log_root=tmp_path / "logs", runs_root=tmp_path / "runs", log_name="w", console=False
    ) as run:
        run.scalars({"a": 1.0}, 0, walltime="x")  # type: ignore[arg-type]
        run.scalars({"a": 2.0}, 1, walltime=10**400)
        run.scalars({"a": 3.0}, 2)
        run.flush()
        assert run.writer is not None
        assert 0 == run.writer.stats.errors
    assert run.run_path is not None
    assert [(2, 3.0)] == read_run(run.run_path).scalars["a"]
    err = capsys.readouterr().err
    assert "walltime must be finite float seconds, got 'x'" in err
    assert "Recursion" not in err


def test_hostile_objects_in_every_extra_never_raise_and_lose_nothing_else(
    logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hostile value/tag/step/walltime/kind/metrics: reported, no traceback, the rest written."""
    logger, handler = _logger("hostile", logdir, text_tag=None)
    bad_key = HostileMapping([(Hostile(), 1.0), (HostileStr("hs"), 2.0), ("ok", 3.0)])
    extras: list[dict[str, Any]] = [
        {"tag": "v", "value": Hostile(), "metrics": {"m1": 1.0, "m2": Hostile()}, "step": 0},
        {"tag": Hostile(), "value": 1.0, "step": 0},
        {"tag": "s", "value": 1.0, "step": Hostile()},
        {"tag": "w", "value": 1.0, "step": 0, "walltime": Hostile()},
        {"tag": "k", "value": 1.0, "step": 0, "kind": Hostile()},
        {"tag": "k", "value": Hostile(), "step": 0, "kind": "scalar"},
        {"tag": "k", "value": Hostile(), "step": 0, "kind": "text"},
        {"tag": "k", "value": [1.0, Hostile()], "step": 0, "kind": "histogram"},
        {"metrics": Hostile(), "step": 0},
        {"metrics": HostileMapping(None), "step": 0},
        {"tag": "keys", "metrics": bad_key, "step": 0},
        {"tag": HostileStr("hostile/tag"), "value": LoudFloat(4.5), "step": 0},
        {"tag": "loud", "metrics": {"a": LoudFloat(5.5), "b": Hostile()}, "step": 0},
    ]
    for extra in extras:
        logger.info("m", extra=extra)
    logger.info("m", extra={"tag": "after", "value": 1.0, "step": 0})
    writer = handler.writer
    handler.flush()
    assert 0 == writer.stats.errors
    handler.close()

    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "Logging error" not in err
    assert "<Hostile object>" in err
    expected = {
        "m1": [(0, 1.0)],
        "keys/hs": [(0, 2.0)],
        "keys/ok": [(0, 3.0)],
        "hostile/tag": [(0, 4.5)],
        "loud/a": [(0, 5.5)],
        "after": [(0, 1.0)],
    }
    assert expected == read_run(logdir).scalars


def test_hostile_objects_in_processor_events_never_raise(
    logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The processor with hostile values, keys and metrics: event returned, the rest written."""
    processor = tblog.TensorBoardProcessor(logdir=str(logdir), keys=["loss", "acc"])
    events: list[dict[str, Any]] = [
        {"event": "e", "tag": "v", "value": Hostile(), "metrics": {"ok": 1.0, "bad": Hostile()}},
        {"event": "e", "tag": Hostile(), "value": 1.0, "step": Hostile(), "walltime": Hostile()},
        {"event": "e", "tag": "k", "value": 1.0, "kind": Hostile()},
        {"event": "train", "loss": Hostile(), "acc": 0.5, "step": 3},
        {"event": "e", "metrics": HostileMapping([(Hostile(), 1.0), ("m", LoudFloat(2.0))])},
    ]
    for event in events:
        assert processor(None, "info", event) is event
    processor.flush()
    processor.close()

    assert "Traceback" not in capsys.readouterr().err
    expected = {"ok": [(0, 1.0)], "train/acc": [(3, 0.5)], "m": [(0, 2.0)]}
    assert expected == read_run(logdir).scalars


def test_hostile_objects_in_facade_helpers_never_raise(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """RootLogger helpers given hostile objects report once and skip; the run goes on."""
    with tblog.setup(
        "h", log_root=tmp_path / "logs", runs_root=tmp_path / "runs", log_name="h", console=False
    ) as run:
        h = Hostile()
        run.scalar(h, 1.0)  # type: ignore[arg-type]
        run.scalar("x", h, h, walltime=h)
        run.scalar("x", 1.0, 0, walltime=h)
        run.scalars(h, h)
        run.scalars({"a": 1.0}, 0, prefix=h, walltime=h)
        run.scalars(HostileMapping(None), 0)
        run.scalars(HostileMapping([(h, 1.0), ("ok", 2.0), ("bad", h), ("loud", LoudFloat(3))]), 0)
        run.text(h, h)  # type: ignore[arg-type]
        run.histogram("h", h)
        run.histogram("h", [1.0, h])
        run.histogram("bins", [1.0, 2.0], 0, bins=h)  # fails on the writer thread, reported
        run.table("t", h, [["a"]])  # type: ignore[arg-type]
        run.table("t", ["a"], h)  # type: ignore[arg-type]
        run.table("t", ["a"], [h])  # type: ignore[list-item]
        run.table("t", ["a"], [[h]])
        run.table("t", ["a", "b"], [[1]])
        run.table("ok", ["a"], [[1]], 0)
        run.scalar("after", 4.0, 0)
        run.flush()
    assert run.run_path is not None
    data = read_run(run.run_path)
    assert {"ok": [(0, 2.0)], "loud": [(0, 3.0)], "after": [(0, 4.0)]} == data.scalars
    assert [(0, "| a |\n|---|\n| 1 |")] == data.texts["ok"]
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "table(): ValueError: row 0 has 1 cells, the table has 2 columns" in err
    assert 2 == err.count("table(): ")  # once per kind of problem: RuntimeError, ValueError


# Hostile objects are built in the test from plain draws: hypothesis hashes and prints draws.
# Each maker returns (the object, what it must become: a plain tag or number; None if invalid).
_TAGS = [
    lambda: ("a", "a"),
    lambda: (HostileStr("b"), "b"),
    lambda: (np.str_("c"), "c"),
    lambda: (Color.RED, "red"),
    lambda: (Hostile(), None),
    lambda: ("", None),
    lambda: (HostileStr(""), None),
    lambda: (3, None),
]
_VALUES = [
    lambda n: (n, n),
    lambda n: (int(n), float(int(n))),
    lambda n: (LoudFloat(n), n),
    lambda _: (Hostile(), None),
    lambda n: (HostileStr(repr(n)), None),
    lambda _: (2**1100, None),
]
# (step, walltime, valid); None means the record's index, so steps grow through the run.
_STEPS = [
    lambda: (None, 1.0, True),
    lambda: (None, 10**400, False),
    lambda: (None, Hostile(), False),
    lambda: (Hostile(), 1.0, False),
    lambda: (-1, 1.0, False),
    lambda: (HostileStr("1"), 1.0, False),
]
_records = st.lists(
    st.tuples(
        st.integers(0, len(_TAGS) - 1),
        st.integers(0, len(_VALUES) - 1),
        st.floats(-1e30, 1e30, allow_nan=False),
        st.integers(0, len(_STEPS) - 1),
    ),
    min_size=1,
    max_size=20,
)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=_records)
def test_handler_and_processor_survive_hostile_records(
    tmp_path: Path,
    records: list,  # type: ignore[type-arg]
) -> None:
    """Hostile and subclassed tags/values/steps/walltimes/metrics: nothing raises, all else kept."""
    logdir = tmp_path / f"hostile{next(_run_ids)}"
    logger, handler = _logger(f"fuzz{logdir.name}", logdir, text_tag=None)
    processor = tblog.TensorBoardProcessor(logdir=str(logdir))
    want: dict[str, list[tuple[int, float]]] = {}
    for index, (tag_kind, value_kind, drawn, step_kind) in enumerate(records):
        tag, plain = _TAGS[tag_kind]()
        value, number = _VALUES[value_kind](drawn)
        step, walltime, valid = _STEPS[step_kind]()
        payload = {
            "tag": tag,
            "value": value,
            "step": index if step is None else step,
            "walltime": walltime,
            "metrics": HostileMapping([(tag, value), ("ok", 1.0)]),  # unprefixed: a value too
        }
        logger.info("m", extra=payload)
        event = {"event": "e", **payload}
        assert processor(None, "info", event) is event
        if not valid:
            continue
        if plain is not None and number is not None:  # the value and the metric, twice each
            want.setdefault(plain, []).extend([(index, _f32(number))] * 4)
        want.setdefault("ok", []).extend([(index, 1.0)] * 2)
    processor.close()
    handler.close()

    got = read_run(logdir).scalars if logdir.exists() else {}
    assert {t: sorted(p) for t, p in want.items()} == {t: sorted(p) for t, p in got.items()}


# ---- 22: adapter helpers check values at the call ------------------------------------------


def test_adapter_scalar_insists_on_a_number(logdir: Path) -> None:
    """scalar("x", "notanumber"), a str number, an array or 2**1100: ValueError naming it."""
    logger, handler = _logger("adapt", logdir, text_tag=None)
    tlog = tblog.adapter(logger)
    for bad in ("notanumber", "1.5", np.str_("2"), np.arange(3.0), Hostile(), 2**1100):
        with pytest.raises(ValueError, match="value is not a scalar number"):
            tlog.scalar("x", bad, step=0)
    tlog.scalar("x", np.float32(0.5), step=1)
    tlog.scalar("x", 2, step=2)
    handler.close()

    run = read_run(logdir)
    assert [(1, 0.5), (2, 2.0)] == run.scalars["x"]
    assert {} == run.texts
    assert {} == run.histograms


def test_adapter_histogram_text_and_metrics_check_values_at_the_call(logdir: Path) -> None:
    """Histogram of a str or non-numbers, metrics with a non-number, text whose str() fails."""
    logger, handler = _logger("adapt2", logdir, text_tag=None)
    tlog = tblog.adapter(logger)
    with pytest.raises(ValueError, match="not an array of numbers"):
        tlog.histogram("h", "abc", step=0)
    with pytest.raises(ValueError, match="not an array of numbers"):
        tlog.histogram("h", [1.0, Hostile()], step=0)
    with pytest.raises(ValueError, match=r"metrics\['bad'\] must be a number, got 'x'"):
        tlog.metrics({"ok": 1.0, "bad": "x"}, step=0)
    with pytest.raises(ValueError, match="metrics keys must be non-empty str"):
        tlog.metrics(HostileMapping([(Hostile(), 1.0)]), step=0)
    with pytest.raises(ValueError, match="cannot be read"):
        tlog.text("t", Hostile(), step=0)  # type: ignore[arg-type]
    tlog.histogram("h", [1.0, 2.0], step=1)
    handler.close()

    run = read_run(logdir)
    assert {} == run.scalars
    assert {"h": [(1, 2.0)]} == run.histograms


def test_adapter_records_carry_checked_values_and_forced_kinds(logdir: Path) -> None:
    """Records carry kind="scalar"/"histogram" and checked numbers; unprintable numbers log fine."""
    records: list[logging.LogRecord] = []
    logger, handler = _logger("adapt3", logdir, text_tag=None)
    capture = logging.Handler()
    capture.emit = records.append  # type: ignore[method-assign]
    logger.addHandler(capture)
    stream = io.StringIO()
    logger.addHandler(logging.StreamHandler(stream))
    tlog = tblog.adapter(logger)
    weights = np.arange(3.0)
    tlog.scalar(np.str_("loss"), LoudFloat(0.25), step=0)
    tlog.metrics({Color.RED: LoudFloat(0.5)}, step=0, prefix="val")
    tlog.histogram("w", weights, step=0)
    weights[:] = 9.0
    handler.close()

    scalar, metrics, histogram = records
    assert ("loss", 0.25, float, "scalar") == (
        scalar.tag,  # type: ignore[attr-defined]
        scalar.value,  # type: ignore[attr-defined]
        type(scalar.value),  # type: ignore[attr-defined]
        scalar.kind,  # type: ignore[attr-defined]
    )
    assert {"red": 0.5} == metrics.metrics  # type: ignore[attr-defined]
    assert [0.0, 1.0, 2.0] == histogram.value.tolist()  # type: ignore[attr-defined]
    assert "histogram" == histogram.kind  # type: ignore[attr-defined]
    assert ["loss=0.25", "red=0.5", "histogram w"] == stream.getvalue().splitlines()
    run = read_run(logdir)
    assert {"loss": [(0, 0.25)], "val/red": [(0, 0.5)]} == run.scalars


# ---- torch ---------------------------------------------------------------------------------


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")
def test_bfloat16_tensors_are_scalars_and_histograms(logdir: Path) -> None:
    """A bfloat16 0-d tensor is a scalar and a bfloat16 tensor a histogram (numpy lacks bf16)."""
    import torch

    logger, handler = _logger("bf16", logdir, text_tag=None)
    loss = torch.tensor(0.5, dtype=torch.bfloat16)
    logger.info("m", extra={"tag": "loss", "value": loss, "step": 0})
    logger.info("m", extra={"tag": "w", "value": torch.ones(4, dtype=torch.bfloat16), "step": 0})
    handler.close()

    run = read_run(logdir)
    assert {"loss": [(0, 0.5)]} == run.scalars
    assert {"w": [(0, 4.0)]} == run.histograms


def test_steps_beyond_int64_are_bad_input(logdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Steps >= 2**63 (shown negative or as 0 by TensorBoard) are refused; 2**63 - 1 is kept."""
    logger, handler = _logger("bigstep", logdir, text_tag=None)
    for step in (2**63 - 1, 2**63, 2**64, np.uint64(2**63)):
        logger.info("m", extra={"tag": "x", "value": 1.0, "step": step})
    with pytest.raises(ValueError, match="step must be an int >= 0 and < 2"):
        handler.writer.add_scalar("w", 1.0, 2**63)
    with pytest.raises(ValueError, match="step must be"):
        tblog.step(2**64)
    handler.close()
    assert [(2**63 - 1, 1.0)] == read_run(logdir).scalars["x"]
    assert 1 == capsys.readouterr().err.count("step must be an int >= 0 and < 2**63")


def test_str_subclass_events_and_image_tags_stay_plain(logdir: Path) -> None:
    """A (str, Enum) event prefixes keys= scalars by its value; an Enum image tag is plain."""
    processor = tblog.TensorBoardProcessor(logdir=str(logdir), keys=["loss"])
    processor(None, "info", {"event": Color.RED, "loss": 0.5, "step": 3})
    processor.close()
    pytest.importorskip("PIL")
    with tblog.get_writer(logdir) as writer:
        writer.add_image(Color.RED, np.zeros((3, 4, 4), dtype=np.uint8))
        writer.add_image("red", np.zeros((3, 4, 4), dtype=np.uint8))
    run = read_run(logdir)
    assert [(3, 0.5)] == run.scalars["red/loss"]
    assert [0, 1] == [step for step, _, _ in run.images["red"]]


def test_complex_values_are_refused_like_a_python_complex(
    logdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Complex numpy scalars and arrays are refused with a clear line, not cut to their real part.

    A Python ``complex`` was refused already; numpy's used to be written as its real part with
    only numpy's ComplexWarning. The real values around them are written.
    """
    logger, handler = _logger("complex", logdir, text_tag=None)
    values = [np.complex64(1 + 2j), np.complex128(3 + 4j), np.array(7 + 8j), np.array([1 + 1j])]
    logger.info("m", extra={"tag": "x", "value": 0.5, "step": 0})
    for step, value in enumerate(values, start=1):
        logger.info("m", extra={"tag": "x", "value": value, "step": step})
    logger.info("m", extra={"tag": "x", "value": np.float32(2.5), "step": 9})
    with pytest.raises(ValueError, match="complex"):
        handler.writer.add_scalar("w", np.complex64(1j), 0)
    with pytest.raises(ValueError, match="complex"):
        handler.writer.add_histogram("h", np.array([1 + 1j, 2.0]), 0)
    handler.close()
    run = read_run(logdir)
    assert [(0, 0.5), (9, 2.5)] == run.scalars["x"]
    assert {} == run.histograms
    err = capsys.readouterr().err
    assert 1 == err.count("value is complex"), err  # told once, as every bad value
    assert "ComplexWarning" not in err
