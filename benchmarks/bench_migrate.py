"""One training loop, unchanged but for the import, through tensorboardX, torch and tblog.

Per step the loop logs 5 scalars; every 10 steps a histogram of 10,000 weights; every 100 steps
a 3x64x64 image. Each run is a fresh interpreter running the loop's source with one import line
swapped; it reports the time from the start of its imports to ``close()`` returning (the data on
disk), in three parts: imports and the writer's construction (tblog imports tensorboardX there,
lazily), the loop, and ``close()``. Writers take turns in rotated order; the table
gives medians. Each run is read back afterwards to check that every scalar was written.

Run: ``python benchmarks/bench_migrate.py [--steps 5000] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

IMPORTS = {
    "tensorboardX": "from tensorboardX import SummaryWriter",
    "torch.utils.tensorboard": "from torch.utils.tensorboard import SummaryWriter",
    "tblog": "from tblog import SummaryWriter",
}

LOOP = """
import json, sys, time
start = time.perf_counter()
import numpy as np
{import_line}

steps, logdir = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(0)
weights = rng.standard_normal(10_000)
image = rng.integers(0, 256, (3, 64, 64), dtype=np.uint8)
writer = SummaryWriter(logdir)
ready = time.perf_counter()
for step in range(steps):
    loss = 1.0 / (step + 1)
    writer.add_scalar("train/loss", loss, step)
    writer.add_scalar("train/acc", 1.0 - loss, step)
    writer.add_scalar("train/lr", 0.001, step)
    writer.add_scalar("train/grad_norm", 2.0 * loss, step)
    writer.add_scalar("train/throughput", 1000.0 + step % 7, step)
    if step % 10 == 0:
        writer.add_histogram("weights", weights * loss, step)
    if step % 100 == 0:
        writer.add_image("sample", image, step)
looped = time.perf_counter()
writer.close()
done = time.perf_counter()
print(json.dumps({{"start": ready - start, "loop": looped - ready, "close": done - looped}}))
"""


def _run_once(name: str, steps: int) -> dict[str, float]:
    """Run the loop through one writer in a fresh interpreter; check its run; return times."""
    with tempfile.TemporaryDirectory() as tmp:
        logdir = os.path.join(tmp, "run")
        script = os.path.join(tmp, "train.py")
        Path(script).write_text(LOOP.format(import_line=IMPORTS[name]), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
        result = subprocess.run(
            [sys.executable, script, str(steps), logdir],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        )
        times = json.loads(result.stdout.strip().splitlines()[-1])
        _check(logdir, steps)
    return {**times, "total": sum(times.values())}


def _check(logdir: str, steps: int) -> None:
    """Every scalar of the loop is on disk (tblog's reader, CRC-checked)."""
    sys.path.insert(0, str(ROOT))
    import tblog

    counts = tblog.read_scalars(logdir).groupby("tag").size().to_dict()
    if set(counts.values()) != {steps} or len(counts) != 5:
        msg = f"{logdir}: expected 5 tags x {steps} points, read {counts}"
        raise RuntimeError(msg)


def main() -> None:
    """Print a Markdown table of the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    names = [n for n in IMPORTS if importlib.util.find_spec(n.split(".")[0]) is not None]
    results: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for repeat in range(args.repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            results[name].append(_run_once(name, args.steps))

    def median(name: str, part: str) -> float:
        return statistics.median(run[part] for run in results[name])

    print(
        f"{args.steps:,} steps (5 scalars each, a histogram every 10, an image every 100), "
        f"{args.repeats} rotated repetitions, medians in seconds"
    )
    print("| `SummaryWriter` from | imports + writer | loop | close | total to disk | x tblog |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in results:
        parts = [median(name, part) for part in ("start", "loop", "close", "total")]
        cells = " | ".join(f"{value:.2f}" for value in parts)
        print(f"| `{name}` | {cells} | {parts[3] / median('tblog', 'total'):.2f} |")


if __name__ == "__main__":
    main()
