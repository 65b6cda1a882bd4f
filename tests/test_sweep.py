"""Comparing runs: tblog.read_hparams and ``tblog runs`` against TensorBoard's HParams plugin."""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from s3fixtures import S3Bucket, s3_fixture, s3_server_fixture  # noqa: F401
from tbread import read_run

import tblog
from tblog import _fetch
from tblog.cli import main

pd = pytest.importorskip("pandas")
ROOT = Path(__file__).resolve().parent.parent
needs_tensorboard = pytest.mark.skipif(
    importlib.util.find_spec("tensorboard") is None, reason="needs the tensorboard package"
)
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="needs torch")


def write_tblog_runs(root: Path) -> None:
    """Sessions written by tblog: the setup facade with a handler, and its SummaryWriter."""
    with tblog.setup(
        "facade", log_root=root.parent / "logs", runs_root=root, log_name="facade", console=False
    ) as run:
        run.hparams({"lr": 0.01, "opt": "sgd", "nesterov": True}, {"acc": 0.0})
        train = logging.getLogger("sweep.train")
        for step in range(1, 6):
            train.info("m", extra={"metrics": {"acc": step / 10, "loss": 1 / step}, "step": step})
    with tblog.SummaryWriter(root / "writer") as writer:
        for step in range(4):
            writer.add_scalar("acc", 0.2 * step, step)
            writer.add_scalar("loss", 2.0 - step, step)
        writer.add_hparams({"lr": 0.1, "opt": "adam", "nesterov": False}, {"acc": 0.7})


def write_peer_runs(root: Path) -> None:
    """Sessions written by tensorboardX and torch (each add_hparams makes a sub-run)."""
    import tensorboardX

    with tensorboardX.SummaryWriter(str(root / "tbx")) as writer:
        writer.add_scalar("acc", 0.5, 0)
        writer.add_hparams({"lr": 0.5, "opt": "rms", "layers": 3}, {"acc": 0.55}, name="hp")
    if importlib.util.find_spec("torch") is not None:
        from torch.utils.tensorboard import SummaryWriter

        with SummaryWriter(str(root / "torch")) as torch_writer:
            torch_writer.add_hparams({"lr": 0.25, "opt": "sgd"}, {"acc": 0.6}, run_name="hp")


def session_groups(url: str) -> list[dict[str, Any]]:
    """The sessions TensorBoard's HParams plugin serves (the request its frontend sends)."""
    body = {
        "startIndex": 0,
        "sliceSize": 1000,
        "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE", "STATUS_RUNNING"],
        "aggregationType": "AGGREGATION_AVG",
    }
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url + "/data/plugin/hparams/session_groups",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read()).get("sessionGroups", [])  # type: ignore[no-any-return]


def served_table(url: str, expected_sessions: int) -> dict[str, dict[str, Any]]:
    """Each run's {hparam: value, metric: value} as the plugin serves them, all sessions loaded."""
    deadline = time.monotonic() + 60
    while True:
        groups = session_groups(url)
        if len(groups) >= expected_sessions or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    table: dict[str, dict[str, Any]] = {}
    for group in groups:
        for session in group["sessions"]:
            row = dict(group["hparams"])
            for metric in session.get("metricValues", []):
                name = metric["name"]
                key = f"{name['group']}/{name['tag']}" if name.get("group") else name["tag"]
                row[key] = metric["value"]
            table[session["name"]] = row
    return table


def frame_table(df: Any) -> dict[str, dict[str, Any]]:
    """Each run's {column: value} of read_hparams, missing values left out."""
    table = {}
    for record in df.to_dict("records"):
        run = record.pop("run")
        table[run] = {
            k: v
            for k, v in record.items()
            if v is not None and not (isinstance(v, float) and math.isnan(v))
        }
    return table


@needs_tensorboard
@pytest.mark.e2e
@pytest.mark.parametrize("load_fast", [False, True], ids=["python-loader", "rust-loader"])
def test_read_hparams_equals_what_tensorboards_hparams_plugin_serves(
    tmp_path: Path, load_fast: bool
) -> None:
    """Sessions of tblog, tensorboardX and torch: the same rows as the plugin's session_groups."""
    from test_tensorboard_e2e import tensorboard

    if load_fast and importlib.util.find_spec("tensorboard_data_server") is None:
        pytest.skip("needs tensorboard-data-server")

    runs = tmp_path / "runs"
    write_tblog_runs(runs)
    write_peer_runs(runs)
    df = tblog.read_hparams(runs)
    expected_runs = 4 if importlib.util.find_spec("torch") is not None else 3
    assert expected_runs == len(df)
    with tensorboard(runs, load_fast=load_fast) as url:
        served = served_table(url, expected_runs)
    assert served == frame_table(df)
    facade = df.set_index("run").loc["facade"]
    assert (0.01, "sgd", True, 0.5) == (facade.lr, facade.opt, facade.nesterov, facade.acc)


@needs_tensorboard
def test_read_hparams_types_columns_as_logged(tmp_path: Path) -> None:
    """Numbers are float64, bools bool, strings str; a metric's value is its last point."""
    runs = tmp_path / "runs"
    write_tblog_runs(runs)
    df = tblog.read_hparams(runs)
    assert ["run", "lr", "nesterov", "opt", "acc"] == list(df.columns)
    assert ["float64", "bool", "object", "float64"] == [str(df[c].dtype) for c in df.columns[1:]]
    # The writer's add_hparams names a metric its run already logs: its session is a sub-run,
    # as the peers write it, so the metric never joins the training curve.
    assert "facade" == df.run[0]
    assert df.run[1].startswith("writer/")
    loaded = read_run(runs / df.run[1])  # TensorBoard's loader: the session's acc is add_hparams'
    assert loaded.scalars["acc"][-1][1] == pytest.approx(df.acc[1])


def test_without_an_experiment_every_scalar_of_the_session_is_a_metric(tmp_path: Path) -> None:
    """A session start alone: metrics are the session's scalar tags, sub-runs as group/tag."""
    from tblog._encode import constant, hparams_summaries

    runs = tmp_path / "runs"
    with tblog.get_writer(runs / "s1") as writer:
        writer.add_scalar("loss", 1.0, 0)
        writer.add_scalar("loss", 0.5, 1)
    with tblog.get_writer(runs / "s1" / "eval") as writer:
        writer.add_scalar("acc", 0.75, 1)
    _, start, _ = hparams_summaries({"depth": 2}, {})
    with tblog.SummaryWriter(runs / "s1") as writer:
        writer.add_summary(start, 0)
    del constant
    df = tblog.read_hparams(runs)
    assert ["run", "depth", "eval/acc", "loss"] == list(df.columns)
    assert [["s1", 2.0, 0.75, 0.5]] == df.to_numpy().tolist()


def test_no_sessions_give_an_empty_table(tmp_path: Path) -> None:
    """Runs without hparams: no rows, a run column."""
    with tblog.get_writer(tmp_path / "r") as writer:
        writer.add_scalar("loss", 1.0, 0)
    df = tblog.read_hparams(tmp_path)
    assert ["run"] == list(df.columns)
    assert 0 == len(df)


def test_a_missing_path_raises_file_not_found(tmp_path: Path) -> None:
    """As read_scalars does."""
    with pytest.raises(FileNotFoundError):
        tblog.read_hparams(tmp_path / "nope")


# ---- many runs from a bucket --------------------------------------------------------------


def write_sweep(root: Path, runs: int, steps: int = 20) -> None:
    """``runs`` sessions of 2 hparams and 2 tags."""
    for i in range(runs):
        with tblog.SummaryWriter(root / f"run{i:03d}") as writer:
            writer.add_hparams({"lr": 0.001 * (i + 1), "seed": str(i)}, {"loss": 10.0})
            for step in range(steps):
                writer.add_scalar("loss", 1.0 / (step + 1 + i), step)
                writer.add_scalar("acc", step / steps, step)


def _upload_and_count_fetches(
    local: Path, s3: S3Bucket, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> list[int]:
    """Copy ``local`` to the bucket under ``prefix``; the list each fetch appends its size to."""
    import fsspec

    fs = fsspec.filesystem("s3", **s3.storage_options)
    fs.put(str(local), s3.url(prefix), recursive=True)
    fs.invalidate_cache()
    assert s3.proxy is not None
    s3.proxy.reset()
    calls: list[int] = []
    fetch = _fetch.FetchedSource.fetch
    monkeypatch.setattr(
        _fetch.FetchedSource,
        "fetch",
        lambda self, paths: calls.append(len(paths)) or fetch(self, paths),
    )
    return calls


def _gets_per_file(s3: S3Bucket, prefix: str) -> list[int]:
    """How many times each event file under ``prefix`` was fetched (GET) since the reset."""
    assert s3.proxy is not None
    counts = s3.proxy.counts()
    files = [k for k in s3.objects(prefix) if "tfevents" in k]
    return [counts[("GET", f"{s3.bucket}/{key}")] for key in files]


def test_a_bucket_of_runs_reads_like_disk_fetching_every_file_at_once(
    tmp_path: Path, s3: S3Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same table from S3 as from disk; all files in one fsspec call, each fetched once."""
    write_sweep(tmp_path / "runs", 12)
    calls = _upload_and_count_fetches(tmp_path / "runs", s3, "sweep", monkeypatch)
    remote = tblog.read_hparams(s3.url("sweep"))
    local = tblog.read_hparams(tmp_path / "runs")
    pd.testing.assert_frame_equal(local, remote)
    assert 12 == len(remote)
    assert [12] == calls  # one fs.cat of the 12 files: s3fs runs the GETs concurrently
    assert [1] * 12 == _gets_per_file(s3, "sweep")
    assert s3.proxy is not None
    counts = s3.proxy.counts()
    listings = sum(n for (method, key), n in counts.items() if key == f"{s3.bucket}/")
    assert 3 >= listings, counts  # the checks of the root and one recursive listing


@pytest.mark.parametrize("read", ["read_scalars", "read_text", "read_histograms"])
def test_every_read_of_a_bucket_fetches_its_files_at_once(
    tmp_path: Path, s3: S3Bucket, monkeypatch: pytest.MonkeyPatch, read: str
) -> None:
    """Scalars, text and histograms from a bucket: one fs.cat of every file, each GET once."""
    for i in range(6):
        with tblog.SummaryWriter(tmp_path / "runs" / f"run{i}") as writer:
            for step in range(3):
                writer.add_scalar("loss", 1.0 / (step + 1 + i), step)
                writer.add_text("note", f"run {i} step {step}", step)
                writer.add_histogram("w", [float(i), float(step), 2.5], step)
    calls = _upload_and_count_fetches(tmp_path / "runs", s3, "reads", monkeypatch)
    remote = getattr(tblog, read)(s3.url("reads"))
    assert [6] == calls
    assert [1] * 6 == _gets_per_file(s3, "reads")
    local = getattr(tblog, read)(tmp_path / "runs")
    assert 18 == len(local)
    pd.testing.assert_frame_equal(local, remote)


def test_progress_shows_on_stderr_once_reading_is_slow(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the delay passed, each run read is counted; with progress=False nothing shows."""
    write_sweep(tmp_path, 3, steps=2)
    monkeypatch.setattr(_fetch, "PROGRESS_AFTER", 0.0)
    tblog.read_hparams(tmp_path, progress=False)
    assert "" == capsys.readouterr().err
    tblog.read_hparams(tmp_path, progress=True)
    assert "tblog: read 3/3 runs" in capsys.readouterr().err


# ---- the tblog runs command -----------------------------------------------------------------


def run_cli(*args: str, columns: int = 80) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": str(columns)}
    return subprocess.run(
        [sys.executable, "-m", "tblog", "runs", *args],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def test_runs_prints_a_table_sorted_and_cut_to_top_n(tmp_path: Path) -> None:
    """--sort -TAG is descending, --top N keeps N rows, every line fits 80 columns."""
    write_sweep(tmp_path, 5)
    result = run_cli(str(tmp_path), "--metric", "loss", "--sort=-lr", "--top", "2")
    assert 0 == result.returncode, result.stderr
    lines = result.stdout.splitlines()
    assert ["run", "lr", "seed", "loss"] == lines[0].split()  # hparams sorted by name
    assert ["run004", "run003"] == [line.split()[0] for line in lines[1:]]
    assert all(len(line) <= 80 for line in lines)


def test_runs_agg_min_max_mean_and_default_metrics(tmp_path: Path) -> None:
    """--agg applies to every metric; without --metric the session's metrics are shown."""
    write_sweep(tmp_path, 1, steps=4)
    out = tmp_path / "t.csv"
    assert 0 == main(["runs", str(tmp_path), "--format", "csv", "-o", str(out)])
    default = pd.read_csv(out)
    assert ["run", "lr", "seed", "loss"] == list(default.columns)
    assert 0.25 == default.loss[0]  # the last point, as the HParams tab shows
    for agg, expected in {
        "min": 0.25,
        "max": 10.0,
        "mean": (10 + 1 + 0.5 + 1 / 3 + 0.25) / 5,
    }.items():
        assert 0 == main(["runs", str(tmp_path), "--agg", agg, "--format", "csv", "-o", str(out)])
        assert pytest.approx(expected) == pd.read_csv(out).loss[0]


def test_runs_writes_jsonl_and_parquet_through_a_temporary_file(tmp_path: Path) -> None:
    """-o writes beside the target and renames: no temporary file is left behind."""
    write_sweep(tmp_path / "r", 3)
    out = tmp_path / "out"
    out.mkdir()
    assert 0 == main(["runs", str(tmp_path / "r"), "--metric", "acc", "--format", "jsonl",
                      "-o", str(out / "t.jsonl")])  # fmt: skip
    rows = [json.loads(line) for line in (out / "t.jsonl").read_text().splitlines()]
    assert {"run": "run000", "lr": 0.001, "seed": "0", "acc": pytest.approx(0.95)} == rows[0]
    pytest.importorskip("pyarrow")
    assert 0 == main(["runs", str(tmp_path / "r"), "--format", "parquet", "-o", str(out / "t.pq")])
    assert 3 == len(pd.read_parquet(out / "t.pq"))
    assert ["t.jsonl", "t.pq"] == sorted(p.name for p in out.iterdir())


def test_a_wide_table_fits_80_columns(tmp_path: Path) -> None:
    """Many long hparam names: every printed line fits, columns beyond the width are named."""
    with tblog.SummaryWriter(tmp_path / "a_very_long_run_name_that_goes_on_and_on") as writer:
        names = {f"hyperparameter_number_{i}": i * 1.5 for i in range(12)}
        writer.add_hparams(names, {"validation/accuracy_top5": 0.875})
    result = run_cli(str(tmp_path))
    assert 0 == result.returncode, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), result.stdout
    assert "more columns" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{missing}"], "no such file or directory"),
        (["{root}", "--sort", "nope"], "--sort nope: no such column"),
        (["{root}", "--format", "parquet"], "-o FILE"),
        (["{root}", "-o", "{missing}/t.csv"], "t.csv: No such file or directory"),
        (["{root}/notes.txt"], "a file, not a run directory or event file"),
    ],
)
def test_runs_errors_are_one_line_and_exit_1(tmp_path: Path, args: list[str], message: str) -> None:
    """A path or column it cannot use: one ``tblog runs: ...`` line, exit status 1."""
    write_sweep(tmp_path / "r", 1, steps=1)
    (tmp_path / "r" / "notes.txt").write_text("not events")
    given = [a.format(root=tmp_path / "r", missing=tmp_path / "missing") for a in args]
    result = run_cli(*given)
    assert 1 == result.returncode
    assert 1 == len(result.stderr.splitlines()), result.stderr
    assert result.stderr.startswith("tblog runs: ")
    assert message in result.stderr


def test_runs_without_hyperparameters_lists_every_run_and_its_tags(tmp_path: Path) -> None:
    """No session anywhere: a row per run, a column per scalar tag (its last value)."""
    for name, last in (("a", 0.5), ("b", 0.25)):
        with tblog.get_writer(tmp_path / name) as writer:
            writer.add_scalar("loss", 1.0, 0)
            writer.add_scalar("loss", last, 1)
    out = tmp_path / "t.csv"
    assert 0 == main(["runs", str(tmp_path), "-o", str(out)])
    assert [["a", 0.5], ["b", 0.25]] == pd.read_csv(out).to_numpy().tolist()
