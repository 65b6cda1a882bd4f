"""Several processes, one run: workers send records through a queue, the parent writes them.

python examples/multiprocess.py --logdir runs --workers 4

"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
from typing import Any

import tblog


def work(queue: Any, worker: int, batches: int) -> None:
    """A worker: its root logger goes to the queue and nowhere else."""
    tblog.log_to_queue(queue, level=logging.INFO)
    log = logging.getLogger(f"worker{worker}")
    for batch in range(batches):
        loss = 1.0 / (batch + 1) + worker * 0.01
        log.info("batch", extra={"tag": f"loss/worker{worker}", "value": loss, "step": batch})
        log.info("batch", extra={"tag": "batches", "value": worker})  # steps assigned centrally
    log.info("worker %d finished %d batches", worker, batches)


def main(argv: list[str] | None = None) -> int:
    """Start workers that log through the run's queue; the parent's run writes everything."""
    parser = argparse.ArgumentParser(description="the multi-process logging recipe")
    parser.add_argument("--logdir", default="runs", help="runs root")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--batches", type=int, default=50)
    parser.add_argument("--start-method", default=None, choices=["fork", "spawn", "forkserver"])
    args = parser.parse_args(argv)

    context = multiprocessing.get_context(args.start_method)
    with tblog.setup("multiprocess", log_root=f"{args.logdir}/logs", runs_root=args.logdir) as run:
        queue = run.log_queue(context.Queue(-1))
        workers = [
            context.Process(target=work, args=(queue, n, args.batches)) for n in range(args.workers)
        ]
        for process in workers:
            process.start()
        for process in workers:
            process.join()
    print(f"file log: {run.log_file}\nrun:      {run.run_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
