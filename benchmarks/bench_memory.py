"""Memory with a stalled writer: the queue is bounded, so RSS stays flat however much is logged.

The writer thread is stopped on purpose; 1M records are logged after the queue filled up.

    python benchmarks/bench_memory.py                       # drop policy (block_secs=0)
    python benchmarks/bench_memory.py --records 200000 --block-secs 0.001
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time

import tblog
from tblog import _run
from tblog._options import DEFAULT_MAX_QUEUE


def rss_mb() -> float:
    """Resident set size of this process in MiB (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


def main(argv: list[str] | None = None) -> int:
    """Stall the writer, log the records, print RSS before and after and the counters."""
    parser = argparse.ArgumentParser(description="tblog memory with a stalled writer")
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--max-queue", type=int, default=DEFAULT_MAX_QUEUE)
    parser.add_argument("--block-secs", type=float, default=0.0)
    args = parser.parse_args(argv)

    stall = threading.Event()
    drain = _run.Run._drain
    _run.Run._drain = lambda self: stall.wait()  # type: ignore[method-assign]
    log = logging.getLogger("bench.memory")
    log.propagate = False
    log.setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as root:
        handler = tblog.TensorBoardHandler(
            root, max_queue=args.max_queue, block_secs=args.block_secs
        )
        log.addHandler(handler)
        for step in range(args.max_queue + 1000):  # fill the queue first
            log.info("", extra={"tag": "x", "value": 0.5, "step": step})
        before = rss_mb()
        start = time.perf_counter()
        for step in range(args.records):
            log.info("", extra={"tag": "x", "value": 0.5, "step": args.max_queue + step})
        elapsed = time.perf_counter() - start
        after = rss_mb()
        stats = handler.stats
        print(f"records logged with the writer stalled: {args.records:,}")
        growth = after - before
        print(f"RSS before: {before:.1f} MiB, after: {after:.1f} MiB, growth {growth:+.1f} MiB")
        print(
            f"queued: {stats.queued:,} (max_queue {args.max_queue:,}), dropped: {stats.dropped:,}"
        )
        print(f"time per record while full: {elapsed / args.records * 1e6:.2f} us")
        _run.Run._drain = drain  # type: ignore[method-assign]
        stall.set()
        handler.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
