"""Cost of a logged scalar through tblog and its peers, each timed until its data is on disk.

The same loop of ``logger.info(..., extra={"tag", "value", "step"})`` calls runs through:

  (a) logging.NullHandler              the floor: stdlib's own cost of a record
  (b) logging.FileHandler              a line of text per record
  (c) tblog.TensorBoardHandler         this library
  (d) Handler -> tensorboardX          SummaryWriter.add_scalar, as written by hand today
  (e) Handler -> torch.utils.tensorboard, when torch is installed

Each repetition runs every variant once, in a rotated order, with a fresh logger and directory;
the clock stops after ``close()`` (data on disk). Medians over repetitions are reported.

    python benchmarks/bench_handler.py                # 100k records, 5 repetitions
    python benchmarks/bench_handler.py --records 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable

import tblog

Factory = Callable[[str], logging.Handler]


class SummaryWriterHandler(logging.Handler):
    """What users write by hand today: a Handler that calls ``SummaryWriter.add_scalar``."""

    def __init__(self, writer_class: type, logdir: str) -> None:
        super().__init__()
        self.writer = writer_class(logdir)

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record's scalar through the SummaryWriter."""
        try:
            self.writer.add_scalar(record.tag, record.value, record.step)  # type: ignore[attr-defined]
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        """Flush and close the SummaryWriter (its data is on disk afterwards)."""
        self.writer.close()
        super().close()


def variants() -> dict[str, Factory]:
    """The handlers to compare, by label; (e) only when torch is installed."""
    from tensorboardX import SummaryWriter

    found: dict[str, Factory] = {
        "(a) NullHandler": lambda d: logging.NullHandler(),
        "(b) FileHandler": lambda d: logging.FileHandler(os.path.join(d, "log.txt")),
        "(c) tblog.TensorBoardHandler": tblog.TensorBoardHandler,
        "(d) Handler+tensorboardX": lambda d: SummaryWriterHandler(SummaryWriter, d),
    }
    if importlib.util.find_spec("torch") is not None:
        from torch.utils.tensorboard import SummaryWriter as TorchWriter

        found["(e) Handler+torch.utils.tensorboard"] = lambda d: SummaryWriterHandler(
            TorchWriter, d
        )
    return found


def time_once(factory: Factory, records: int, root: str) -> float:
    """Seconds to log ``records`` scalars and close the handler."""
    logdir = tempfile.mkdtemp(dir=root)
    logger = logging.getLogger(f"bench.{os.path.basename(logdir)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = factory(logdir)
    logger.addHandler(handler)
    gc.collect()
    info = logger.info
    start = time.perf_counter()
    for step in range(records):
        info("step %d", step, extra={"tag": "loss/train", "value": 0.5, "step": step})
    handler.close()
    elapsed = time.perf_counter() - start
    logger.removeHandler(handler)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    """Run the comparison and print a Markdown table of us/record and ratios."""
    parser = argparse.ArgumentParser(description="tblog handler benchmark")
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    found = variants()
    labels = list(found)
    samples: dict[str, list[float]] = {label: [] for label in labels}
    with tempfile.TemporaryDirectory() as root:
        for label in labels:  # warm-up: imports, first files
            time_once(found[label], min(args.records, 2000), root)
        for rep in range(args.repeats):
            order = labels[rep % len(labels) :] + labels[: rep % len(labels)]
            for label in order:
                samples[label].append(time_once(found[label], args.records, root))
                print(
                    f"  rep {rep + 1}/{args.repeats} {label}: "
                    f"{samples[label][-1] / args.records * 1e6:.2f} us",
                    file=sys.stderr,
                )

    us = {label: statistics.median(s) / args.records * 1e6 for label, s in samples.items()}
    floor, ours = us["(a) NullHandler"], us["(c) tblog.TensorBoardHandler"]
    print(
        f"\n{args.records} records x {args.repeats} repetitions, median; "
        f"Python {platform.python_version()}, {os.cpu_count()} cores\n"
    )
    print("| handler | us/record | x NullHandler | x tblog |")
    print("|---|---:|---:|---:|")
    for label in labels:
        print(f"| {label} | {us[label]:.2f} | {us[label] / floor:.2f} | {us[label] / ours:.2f} |")
    print()
    print(
        f"target (c) <= 1.5x (a): {ours / floor:.2f}x  {'met' if ours / floor <= 1.5 else 'MISSED'}"
    )
    print(
        f"target (c) faster than (b): {us['(b) FileHandler'] / ours:.2f}x  "
        f"{'met' if ours < us['(b) FileHandler'] else 'MISSED'}"
    )
    ratio = us["(d) Handler+tensorboardX"] / ours
    print(f"target (d)/(c) >= 7: {ratio:.1f}  {'met' if ratio >= 7 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
