"""Comparing a sweep: hparams table + every scalar, on disk and in a bucket, by three readers.

Writes a sweep of N runs (default 200) with tblog's SummaryWriter, each with 3 hyperparameters
(``add_hparams`` at the start, metric ``loss``) and 5 tags x 1,000 steps, copies it to a local S3
server (moto on 127.0.0.1, started here), then reads the sweep's hparams table and all its
scalars with each reader in a fresh interpreter, several times, and prints a Markdown table
(median seconds and the min-max spread; imports done before the clock starts):

* ``tblog``: ``tblog.read_hparams(path)`` + ``tblog.read_scalars(path)`` (and each alone);
* ``EventMultiplexer``: TensorBoard's ``event_multiplexer.EventMultiplexer`` on the root
  (``AddRunsFromDirectory`` + ``Reload``), sessions from ``PluginRunToTagToContent("hparams")``
  and every ``Scalars(run, tag)``; TensorBoard reads ``s3://`` through boto3;
* ``tbparse``: ``SummaryReader(path).hparams`` and ``.scalars``.

    pip install tbparse "moto[server]" s3fs boto3
    python benchmarks/bench_sweep.py                       # 200 runs, 3 repeats
    python benchmarks/bench_sweep.py --runs 20 --repeat 1  # a quick look
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from s3fixtures import boto3_client, child_env, s3_env, start_moto_server

TAGS = ["loss", "acc", "lr", "grad_norm", "throughput"]
BUCKET = "sweep"

READERS = {
    "tblog": """
import numpy, pandas, tblog
from tblog import _read, _hparams_read
_read.event_class(); _hparams_read._plugin_data_class()
def read(path):
    table = tblog.read_hparams(path, progress=False)
    scalars = tblog.read_scalars(path)
    return len(table), len(scalars)
""",
    "tblog.read_hparams (table only)": """
import numpy, pandas, tblog
from tblog import _read, _hparams_read
_read.event_class(); _hparams_read._plugin_data_class()
def read(path):
    return len(tblog.read_hparams(path, progress=False)), 0
""",
    "tblog.read_scalars (scalars only)": """
import numpy, pandas, tblog
from tblog import _read
_read.event_class()
def read(path):
    return 0, len(tblog.read_scalars(path))
""",
    "EventMultiplexer": """
import numpy, pandas
from tensorboard.backend.event_processing import event_accumulator as ea
from tensorboard.backend.event_processing import event_multiplexer as em
from tensorboard.plugins.hparams import metadata
def read(path):
    mux = em.EventMultiplexer(size_guidance={ea.SCALARS: 0})
    mux.AddRunsFromDirectory(path)
    mux.Reload()
    sessions = {}
    for run, tags in mux.PluginRunToTagToContent(metadata.PLUGIN_NAME).items():
        if metadata.SESSION_START_INFO_TAG in tags:
            start = metadata.parse_session_start_info_plugin_data(
                tags[metadata.SESSION_START_INFO_TAG])
            sessions[run] = {k: v for k, v in start.hparams.items()}
    rows = {"run": [], "tag": [], "step": [], "wall_time": [], "value": []}
    for run, tags in mux.Runs().items():
        for tag in tags["scalars"]:
            for e in mux.Scalars(run, tag):
                rows["run"].append(run)
                rows["tag"].append(tag)
                rows["step"].append(e.step)
                rows["wall_time"].append(e.wall_time)
                rows["value"].append(e.value)
    return len(sessions), len(pandas.DataFrame(rows))
""",
    "tbparse": """
import numpy, pandas
from tbparse import SummaryReader
def read(path):
    reader = SummaryReader(path, extra_columns={"dir_name", "wall_time"})
    hparams = reader.hparams
    return hparams["dir_name"].nunique() if len(hparams) else 0, len(reader.scalars)
""",
}

MEASURE = """
import json, sys, time
path = sys.argv[1]
start = time.perf_counter()
sessions, rows = read(path)
print(json.dumps({"seconds": time.perf_counter() - start, "sessions": sessions, "rows": rows}))
"""


def write_sweep(root: Path, runs: int, steps: int) -> None:
    """``runs`` runs: 3 hyperparameters and 5 tags x ``steps`` steps each."""
    import tblog

    for i in range(runs):
        with tblog.SummaryWriter(root / f"lr{i:04d}") as writer:
            hparams = {"lr": 10 ** -(1 + i % 4), "optimizer": ["adam", "sgd"][i % 2], "layers": i}
            writer.add_hparams(hparams, {"loss": 1.0})
            for step in range(steps):
                for k, tag in enumerate(TAGS):
                    writer.add_scalar(tag, 1.0 / (step + 1 + k + i), step)


def upload(root: Path, endpoint: str) -> str:
    """Copy the sweep into a fresh bucket; return its URL."""
    client = boto3_client(endpoint)
    client.create_bucket(Bucket=BUCKET)
    for path in sorted(root.rglob("*")):
        if path.is_file():
            client.upload_file(str(path), BUCKET, f"runs/{path.relative_to(root).as_posix()}")
    return f"s3://{BUCKET}/runs"


def measure(reader: str, path: str, env: dict[str, str]) -> dict[str, float]:
    code = READERS[reader] + MEASURE
    out = subprocess.run(
        [sys.executable, "-c", code, path],
        capture_output=True, text=True, check=False, env=env, timeout=3600,
    )  # fmt: skip
    if out.returncode:
        raise RuntimeError(f"{reader} on {path} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    """Write the sweep, copy it to the S3 server, read it with each reader, print the table."""
    parser = argparse.ArgumentParser(description="sweep reading: tblog vs TensorBoard vs tbparse")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--steps", type=int, default=1000, help="steps per tag (5 tags)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh interpreters per cell")
    parser.add_argument("--readers", default=",".join(READERS), help="comma-separated")
    parser.add_argument("--where", default="disk,bucket", help="comma-separated")
    args = parser.parse_args(argv)
    readers = [r for r in args.readers.split(",") if r]
    server, endpoint = start_moto_server()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "runs"
            start = time.perf_counter()
            write_sweep(root, args.runs, args.steps)
            size = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
            print(f"wrote {args.runs} runs ({size / 1e6:.1f} MB) in "
                  f"{time.perf_counter() - start:.1f}s", file=sys.stderr)  # fmt: skip
            url = upload(root, endpoint) if "bucket" in args.where else ""
            places = {
                "disk": (str(root), child_env({})),
                "bucket": (url, child_env(s3_env(endpoint))),
            }
            rows = []
            for where in [w for w in args.where.split(",") if w]:
                path, env = places[where]
                for reader in readers:
                    runs = []
                    try:
                        runs.extend(measure(reader, path, env) for _ in range(args.repeat))
                    except RuntimeError as exc:  # tbparse reads local paths only
                        print(exc, file=sys.stderr)
                    rows.append((where, reader, runs))
                    seconds = [r["seconds"] for r in runs]
                    print(
                        f"{where} {reader}: {seconds} {runs[-1] if runs else ''}", file=sys.stderr
                    )
    finally:
        server.stop()
    print(table(rows, args))
    return 0


def table(rows: list[tuple[str, str, list[dict[str, float]]]], args: argparse.Namespace) -> str:
    """The Markdown table: median, min-max, speed-up of tblog over the fastest other reader."""
    medians = {(w, r): statistics.median(x["seconds"] for x in runs) for w, r, runs in rows if runs}
    title = (
        f"{args.runs} runs x (3 hparams, {len(TAGS)} tags x {args.steps:,} steps), "
        f"{args.repeat} fresh interpreters per cell; Python {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end"
    )
    lines = [
        title,
        "",
        "| where | reader | seconds (median) | min - max | sessions | scalar rows | vs tblog |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    for where, reader, runs in rows:
        if not runs:
            lines.append(f"| {where} | {reader} | fails (see stderr) | | | | |")
            continue
        seconds = [r["seconds"] for r in runs]
        median = medians[(where, reader)]
        mine = medians.get((where, "tblog"))
        ratio = f"{median / mine:.1f}x" if mine and not reader.startswith("tblog") else ""
        lines.append(
            f"| {where} | {reader} | {median:.2f} | {min(seconds):.2f} - {max(seconds):.2f} "
            f"| {runs[-1]['sessions']} | {runs[-1]['rows']:,} | {ratio} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
