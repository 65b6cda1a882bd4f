"""What one ``add_scalar(tag, value, step)`` costs the caller: tblog vs tensorboardX vs torch.

Each writer logs the same N points into its own fresh directory; the time is the caller's, in
microseconds per call (median of interleaved repetitions), then the time until the data is on
disk (close). Run: ``python benchmarks/bench_writer.py``.
"""

from __future__ import annotations

import importlib.util
import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

N = 100_000
REPEATS = 5


def _tblog(path: str) -> Any:
    import tblog

    return tblog.RunWriter(path)


def _tensorboardx(path: str) -> Any:
    from tensorboardX import SummaryWriter

    return SummaryWriter(path)


def _torch(path: str) -> Any:
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(path)


def _measure(make: Callable[[str], Any]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as path:
        writer = make(path)
        add = writer.add_scalar
        start = time.perf_counter()
        for step in range(N):
            add("loss", 0.5, step)
        calls = time.perf_counter() - start
        writer.close()
        total = time.perf_counter() - start
    return calls / N * 1e6, total / N * 1e6


def main() -> None:
    """Print a Markdown table of the median costs and the ratios to tblog."""
    writers = {"tblog.RunWriter": _tblog, "tensorboardX.SummaryWriter": _tensorboardx}
    if importlib.util.find_spec("torch") is not None:
        writers["torch.utils.tensorboard.SummaryWriter"] = _torch
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in writers}
    names = list(writers)
    for repeat in range(REPEATS):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            results[name].append(_measure(writers[name]))
    base = statistics.median(call for call, _ in results["tblog.RunWriter"])
    print(f"{N:,} add_scalar calls with an explicit step, {REPEATS} rotated repetitions, medians")
    print("| writer | us/call (caller) | us/point to disk | x tblog (caller) |")
    print("|---|---:|---:|---:|")
    for name, runs in results.items():
        call = statistics.median(c for c, _ in runs)
        total = statistics.median(t for _, t in runs)
        print(f"| {name} | {call:.2f} | {total:.2f} | {call / base:.1f} |")


if __name__ == "__main__":
    main()
