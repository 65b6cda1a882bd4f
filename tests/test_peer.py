"""The peers' argument forms, as ``tblog._peer`` resolves them for ``SummaryWriter``."""

from __future__ import annotations

import numpy as np
import pytest

from tblog import _peer


def test_writer_arguments_take_the_peers_forms() -> None:
    """comment=None is no comment, flush_secs=0 the fastest period, purge_step is checked."""
    assert ("", _peer.FASTEST_FLUSH_SECS, 3) == _peer.writer_arguments(None, 0, "", 3)
    assert ("c", 2.5, None) == _peer.writer_arguments("c", 2.5, ".x", None)


@pytest.mark.parametrize(
    ("comment", "suffix", "purge", "error"),
    [(1, "", None, TypeError), ("", b"s", None, TypeError), ("", "", -1, ValueError)],
)
def test_writer_arguments_name_a_bad_one(
    comment: object, suffix: object, purge: object, error: type[Exception]
) -> None:
    """A comment or suffix that is no str, or a negative purge_step, is refused at once."""
    with pytest.raises(error):
        _peer.writer_arguments(comment, 1.0, suffix, purge)


def test_checked_when_fills_what_is_missing_from_defaults() -> None:
    """use_metadata's defaults stand in only for a step or walltime not given."""
    assert (5, 9.0) == _peer.checked_when(None, None, (5, 9.0))
    assert (7, 9.0) == _peer.checked_when(np.float32(7), None, (5, 9.0))
    assert (5, 1.0) == _peer.checked_when(None, np.float64(1.0), (5, None))
    assert (None, None) == _peer.checked_when(None, None)


def test_scalar_points_prefix_keys_and_stop_at_a_bad_value() -> None:
    """add_scalars' mapping: tags prefixed, one-element arrays taken, a str value refused."""
    points = _peer.scalar_points({"a": np.array([0.5]), "b": 2}, "m/", 3, None)
    assert [("m/a", 0.5, 3), ("m/b", 2.0, 3)] == [(t, float(v), s) for _, t, v, s, _ in points]
    with pytest.raises(ValueError, match="scalar"):
        _peer.scalar_points({"a": "x"}, "", None, None)


def test_scalar_arguments_read_torchs_positional_flags() -> None:
    """A bool in display_name's place is torch's new_style, the next its double_precision."""
    torch_call: tuple[bool, bool, bool, bool] = (True, True, False, False)
    assert ("", "", True, True) == _peer.scalar_arguments(*torch_call)
    tensorboardx_call: tuple[str, str, bool, bool] = ("t", "d", False, True)
    assert tensorboardx_call == _peer.scalar_arguments(*tensorboardx_call)


def test_boxes_and_hparams_positional_orders_keep_keyword_values() -> None:
    """Positional arguments in either peer's order win; the others keep their keyword values."""
    assert (1, "HWC", None) == _peer.boxes_arguments(("HWC",), 1, "CHW", None)
    assert (2.0, "CHW", ["l"]) == _peer.boxes_arguments((2.0, "CHW", ["l"]), 1, "HWC", None)
    assert (None, "s", 4) == _peer.hparams_arguments(("s", 4), None, None, None)
    domain = {"lr": [0.1]}
    assert (domain, "r", 2) == _peer.hparams_arguments((domain, "r", 2), None, "n", None)
    assert (None, "n", None) == _peer.hparams_arguments((), None, "n", None)
    with pytest.raises(TypeError):
        _peer.hparams_arguments((domain, "r", 2, 3), None, None, None)


@pytest.mark.parametrize("rate", [0, 1.5, 2**32, "16000", True])
def test_sample_rate_refuses_what_no_wav_header_holds(rate: object) -> None:
    """A sample rate must be a whole number >= 1 and < 2**32."""
    with pytest.raises(ValueError, match="sample_rate"):
        _peer.sample_rate(rate)


def test_sample_rate_takes_whole_numbers_in_any_form() -> None:
    """16e3, a numpy int and a 0-d array are all 16000, as torch takes them."""
    assert [16000] * 3 == [_peer.sample_rate(r) for r in (16e3, np.int64(16000), np.array(16000))]
