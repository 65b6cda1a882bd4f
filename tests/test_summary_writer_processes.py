"""Several processes writing one run through ``SummaryWriter``, compared with the peers.

A training script run twice on the same directory: what the first process wrote must shape what
the second writes (HParams sessions, metric tags, the Custom Scalars layout), as TensorBoard's
loader shows it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from s3fixtures import s3_fixture, s3_server_fixture  # noqa: F401 - the s3 fixture

ROOT = Path(__file__).resolve().parent.parent
PEER = "from tensorboardX import SummaryWriter"
TBLOG = "from tblog import SummaryWriter"


def _script(importer: str, body: str, cwd: Path) -> None:
    """Run ``body`` in a fresh Python process (the same script run again later)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    code = importer + "\n" + textwrap.dedent(body)
    subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, check=True, timeout=120)


def _runs(root: Path) -> list[Path]:
    return sorted(
        {Path(dirpath) for dirpath, _, files in os.walk(root) for f in files if "tfevents" in f}
    )


def _sessions(root: Path) -> list[tuple[dict[str, Any], dict[str, list[tuple[int, float]]]]]:
    """Every HParams session below ``root``, as TensorBoard's loader sees it: (hparams, metrics).

    A session is a run holding ``_hparams_/session_start_info``; its metrics are the run's
    scalar series of the metric tags its experiment names.
    """
    from tensorboard.backend.event_processing import plugin_event_accumulator as pea
    from tensorboard.plugins.hparams import metadata
    from tensorboard.util import tensor_util

    found = []
    for run in _runs(root):
        acc = pea.EventAccumulator(str(run), size_guidance={"tensors": 0})
        acc.Reload()
        tags = acc.Tags()["tensors"]
        if "_hparams_/session_start_info" not in tags:
            continue
        content = acc.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
        start = metadata.parse_session_start_info_plugin_data(content)
        hparams = {k: v.number_value for k, v in start.hparams.items()}
        names = [n for n in ("hparam/acc", "val_loss") if n in tags]
        metrics = {
            n: [
                (e.step, round(float(tensor_util.make_ndarray(e.tensor_proto)), 5))
                for e in acc.Tensors(n)
            ]
            for n in names
        }
        found.append((hparams, metrics))
    return sorted(found, key=repr)


def _twice_hparams(importer: str, cwd: Path) -> None:
    for lr, acc in ((0.1, 0.5), (0.2, 0.75)):
        _script(
            importer,
            f"""
            w = SummaryWriter("runs/exp")
            w.add_hparams({{"lr": {lr}}}, {{"hparam/acc": {acc}}})
            w.close()
            """,
            cwd,
        )


def test_a_script_run_twice_shows_two_sessions_like_the_peer(tmp_path: Path) -> None:
    """The second process sees the first one's session on disk and makes a sub-run."""
    (tmp_path / "peer").mkdir()
    (tmp_path / "tblog").mkdir()
    _twice_hparams(PEER, tmp_path / "peer")
    _twice_hparams(TBLOG, tmp_path / "tblog")
    theirs, ours = _sessions(tmp_path / "peer"), _sessions(tmp_path / "tblog")
    assert [
        ({"lr": 0.1}, {"hparam/acc": [(0, 0.5)]}),
        ({"lr": 0.2}, {"hparam/acc": [(0, 0.75)]}),
    ] == theirs
    assert theirs == ours


def _curve_then_hparams(importer: str, cwd: Path, split: bool) -> None:
    curve = """
        w = SummaryWriter("runs/exp")
        for step in range(100):
            w.add_scalar("val_loss", 1.0 / (step + 1), step)
        """
    hparams = """
        w.add_hparams({"lr": 0.1}, {"val_loss": 0.01}, global_step=0)
        w.close()
        """
    if split:  # the curve by an earlier process
        _script(importer, curve + "w.close()\n", cwd)
        _script(importer, 'w = SummaryWriter("runs/exp")\n' + textwrap.dedent(hparams), cwd)
    else:
        _script(importer, textwrap.dedent(curve) + textwrap.dedent(hparams), cwd)


@pytest.mark.parametrize("split", [False, True], ids=["one-process", "two-processes"])
def test_an_hparams_metric_never_joins_a_curve_of_the_run(tmp_path: Path, split: bool) -> None:
    """``val_loss`` logged 100 steps, then an add_hparams metric ``val_loss``: the curve stays."""
    from tbread import read_run

    for name, importer in (("peer", PEER), ("tblog", TBLOG)):
        (tmp_path / name).mkdir()
        _curve_then_hparams(importer, tmp_path / name, split)
    theirs, ours = (read_run(tmp_path / n / "runs" / "exp") for n in ("peer", "tblog"))
    assert list(range(100)) == theirs.steps("val_loss")
    assert theirs.scalars["val_loss"] == ours.scalars["val_loss"]
    assert _sessions(tmp_path / "peer") == _sessions(tmp_path / "tblog")


def _layout(run: Path) -> dict[str, list[str]]:
    """The Custom Scalars layout TensorBoard shows for a run: category -> chart titles."""
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.plugins.custom_scalar import layout_pb2
    from tensorboard.util import tensor_util

    acc = ea.EventAccumulator(str(run), size_guidance={ea.TENSORS: 0})
    acc.Reload()
    if "custom_scalars__config__" not in acc.Tags()["tensors"]:
        return {}
    latest = acc.Tensors("custom_scalars__config__")[-1]
    layout = layout_pb2.Layout.FromString(tensor_util.make_ndarray(latest.tensor_proto).item())
    return {c.title: sorted(chart.title for chart in c.chart) for c in layout.category}


def test_a_layout_of_an_earlier_process_stays_like_the_peer(tmp_path: Path) -> None:
    """Process 1 adds a chart, process 2 calls add_scalars: the first chart is still shown."""
    for name, importer in (("peer", PEER), ("tblog", TBLOG)):
        (tmp_path / name).mkdir()
        _script(
            importer,
            """
            w = SummaryWriter("runs/exp")
            w.add_custom_scalars({"mine": {"losses": ["Multiline", ["loss/.*"]]}})
            w.close()
            """,
            tmp_path / name,
        )
        _script(
            importer,
            """
            w = SummaryWriter("runs/exp")
            w.add_scalars("pair", {"a": 1.0, "b": 2.0}, 0)
            w.close()
            """,
            tmp_path / name,
        )
    theirs = _layout(tmp_path / "peer" / "runs" / "exp")
    ours = _layout(tmp_path / "tblog" / "runs" / "exp")
    assert {"mine": ["losses"]} == theirs
    assert {"mine": ["losses"], "add_scalars": ["pair"]} == ours


def test_a_script_run_twice_on_a_bucket_keeps_its_sessions_apart(s3: Any) -> None:
    """On ``s3://`` too: the second process finds the first one's session in the bucket."""
    from s3fixtures import child_env, read_s3_run

    url = s3.url("runs/exp")
    env = dict(child_env(s3.env), PYTHONPATH=str(ROOT))
    for lr, acc in ((0.1, 0.5), (0.2, 0.75)):
        code = TBLOG + textwrap.dedent(
            f"""
            w = SummaryWriter({url!r})
            w.add_hparams({{"lr": {lr}}}, {{"hparam/acc": {acc}}}, name="second")
            w.close()
            """
        )
        subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    assert [(0, 0.5)] == read_s3_run(url, s3.env).scalars["hparam/acc"]
    assert [(0, 0.75)] == read_s3_run(url + "/second", s3.env).scalars["hparam/acc"]
