"""One setup, one teardown: a file log, a TensorBoard run and a console from ``tblog.setup``.

python examples/facade.py --logdir runs            # a new run
python examples/facade.py --logdir runs --resume   # continue the newest run from step 5

"""

from __future__ import annotations

import argparse
import logging
import random
import time
from pathlib import Path

import tblog

log = logging.getLogger("train")


def train(run: tblog.RootLogger, first_step: int, steps: int) -> None:
    """A stand-in training loop: every kind of point the facade writes."""
    run.hparams({"lr": 1e-3, "batch_size": 64}, {"hparam/accuracy": 0.0})
    accuracy = 0.0
    for step in range(first_step, first_step + steps):
        with run.timer("time/step"):
            time.sleep(0.001)
        loss = 1.0 / (step + 1) + random.random() * 0.01
        accuracy = 1.0 - loss
        log.info("step %d", step, extra={"tag": "loss", "value": loss, "step": step})
        run.scalars({"accuracy": accuracy, "lr": 1e-3}, step=step, prefix="train")
        run.histogram("activations", [random.gauss(0, 1) for _ in range(100)], step)
    run.scalar("hparam/accuracy", accuracy, first_step + steps)
    run.table("results", ["steps", "accuracy"], [[first_step + steps, f"{accuracy:.3f}"]])
    log.info("done after %d steps", first_step + steps)


def main(argv: list[str] | None = None) -> int:
    """Start or resume a run, train, and print where the file log and the run are."""
    parser = argparse.ArgumentParser(description="tblog.setup and tblog.restore")
    parser.add_argument("--logdir", default="runs", help="runs root")
    parser.add_argument("--resume", action="store_true", help="continue the newest run")
    args = parser.parse_args(argv)

    logs = Path(args.logdir) / "logs"
    if args.resume:
        newest = max(logs.glob("facade_*.log"), key=lambda p: p.stat().st_mtime)
        run = tblog.restore(log_file=newest, run_path=Path(args.logdir) / newest.stem, purge_step=5)
        first_step = 5
    else:
        run = tblog.setup("facade", log_root=logs, runs_root=args.logdir)
        first_step = 0
    with run:
        train(run, first_step, 10)
    print(f"file log: {run.log_file}\nrun:      {run.run_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
