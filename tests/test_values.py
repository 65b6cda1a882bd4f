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
