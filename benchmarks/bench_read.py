"""Reading runs back: tblog.read_scalars against tbparse and TensorBoard's EventAccumulator.

Writes a 1,000,000-scalar run with tblog (20 tags) and a run with tensorboardX (20 tags written
in turn, one record per call, as a training loop does), then reads each with every reader in a
fresh interpreter, several times, and prints a Markdown table of the medians: seconds for the
read (imports done before the clock starts), speed-up over EventAccumulator, the growth of peak
RSS during the read and the size of the resulting DataFrame.

    pip install tbparse
    python benchmarks/bench_read.py                      # 1M tblog points, 200k tensorboardX
    python benchmarks/bench_read.py --points 100000 --tbx-points 20000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

READERS = {
    "tblog.read_scalars": """
import numpy, pandas, tblog
from tblog import _read
_read.event_class()
def read(path):
    return tblog.read_scalars(path)
""",
    "tbparse": """
import numpy, pandas
from tbparse import SummaryReader
def read(path):
    return SummaryReader(path, extra_columns={"wall_time"}).scalars
""",
    "EventAccumulator": """
import numpy, pandas
from tensorboard.backend.event_processing import event_accumulator as ea
def read(path):
    acc = ea.EventAccumulator(path, size_guidance={ea.SCALARS: 0})
    acc.Reload()
    rows = {"tag": [], "step": [], "wall_time": [], "value": []}
    for tag in acc.Tags()["scalars"]:
        for e in acc.Scalars(tag):
            rows["tag"].append(tag)
            rows["step"].append(e.step)
            rows["wall_time"].append(e.wall_time)
            rows["value"].append(e.value)
    return pandas.DataFrame(rows)
""",
}

MEASURE = """
import json, resource, sys, time
def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096
def peak():
    try:
        with open("/proc/self/status") as status:
            return next(int(l.split()[1]) * 1024 for l in status if l.startswith("VmHWM:"))
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak RSS starts again from here (Linux)
except OSError:
    pass
path = sys.argv[1]
before = rss()
start = time.perf_counter()
df = read(path)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": len(df), "growth": peak() - before,
                  "frame": int(df.memory_usage(deep=True).sum())}))
"""


def write_tblog_run(path: str, points: int, tags: int = 20) -> None:
    import tblog

    names = [f"tag{i}" for i in range(tags)]
    with tblog.RunWriter(path, block_secs=math.inf) as writer:
        for step in range(points // tags):
            for name in names:
                writer.add_scalar(name, step * 0.001, step)


def write_tensorboardx_run(path: str, points: int, tags: int = 20) -> None:
    from tensorboardX import SummaryWriter

    names = [f"train/metric_{i}" for i in range(tags)]
    with SummaryWriter(path, max_queue=10_000, flush_secs=60) as writer:
        for step in range(points // tags):
            for name in names:
                writer.add_scalar(name, step * 0.001, step)


def measure(reader: str, path: str) -> dict[str, float]:
    code = READERS[reader] + MEASURE
    out = subprocess.run(
        [sys.executable, "-c", code, path], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise RuntimeError(f"{reader} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    """Write the runs (once per work directory), read them, print the table."""
    parser = argparse.ArgumentParser(description="read speed: tblog vs tbparse vs TensorBoard")
    parser.add_argument("--points", type=int, default=1_000_000, help="tblog run size")
    parser.add_argument("--tbx-points", type=int, default=200_000, help="tensorboardX run size")
    parser.add_argument("--repeat", type=int, default=3, help="fresh interpreters per cell")
    parser.add_argument("--workdir", help="keep the runs here (default: a temporary directory)")
    parser.add_argument("--readers", default=",".join(READERS), help="comma-separated")
    args = parser.parse_args(argv)
    readers = [r for r in args.readers.split(",") if r]
    with tempfile.TemporaryDirectory() as tmp:
        work = args.workdir or tmp
        runs = {
            f"tblog, {args.points:,} scalars": (
                os.path.join(work, f"tblog_{args.points}"),
                write_tblog_run,
                args.points,
            ),
            f"tensorboardX, {args.tbx_points:,} scalars": (
                os.path.join(work, f"tbx_{args.tbx_points}"),
                write_tensorboardx_run,
                args.tbx_points,
            ),
        }
        rows = []
        for label, (path, write, points) in runs.items():
            if not os.path.isdir(path):
                start = time.perf_counter()
                write(path, points)
                print(f"wrote {label} in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            size = sum(e.stat().st_size for e in os.scandir(path)) / 1e6
            results = {}
            for reader in readers:
                samples = [measure(reader, path) for _ in range(args.repeat)]
                results[reader] = {
                    key: statistics.median(s[key] for s in samples) for key in samples[0]
                }
                print(f"{label}: {reader}: {results[reader]}", file=sys.stderr)
            base = results.get("EventAccumulator", {}).get("seconds")
            for reader, r in results.items():
                speedup = f"{base / r['seconds']:.1f}x" if base else "-"
                rows.append(
                    f"| {label} ({size:.0f} MB) | {reader} | {r['seconds']:.2f} | {speedup} "
                    f"| {r['growth'] / 2**20:.0f} | {r['frame'] / 2**20:.0f} |"
                )
    print("| run | reader | seconds (median) | vs EventAccumulator | peak RSS growth MiB "
          "| DataFrame MiB |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
