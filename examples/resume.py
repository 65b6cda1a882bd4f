"""Resume after a crash from a checkpoint: ``run.state_dict(step=...)`` and ``restore(state=...)``.

The run's state is saved inside the training checkpoint, so a restarted job continues the same
file log and the same TensorBoard run, and TensorBoard shows one curve: the points the dead job
logged after its last checkpoint are purged.

    python examples/resume.py --workdir exp --hang-at 25  # stops at step 25: kill -9 it
    python examples/resume.py --workdir exp               # resumes from the step-19 checkpoint
    torchrun --standalone --nproc_per_node=2 examples/resume.py --workdir exp --per-rank

Under torchrun only rank 0 saves the checkpoint; every rank restores its own file log and
sub-run from rank 0's state.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import time
from pathlib import Path
from typing import Any

import tblog

log = logging.getLogger("train")


def load_checkpoint(path: Path) -> dict[str, Any] | None:
    """The last checkpoint, or None on a first start."""
    if not path.exists():
        return None
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def save_checkpoint(path: Path, checkpoint: dict[str, Any]) -> None:
    """Write the checkpoint atomically: a job killed mid-write keeps the previous one."""
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(checkpoint))
    os.replace(temporary, path)


def main(argv: list[str] | None = None) -> int:
    """Train y = 3x + 1 by SGD, checkpointing every few steps; resume from the last checkpoint."""
    parser = argparse.ArgumentParser(description="checkpoint-resumable tblog runs")
    parser.add_argument("--workdir", default="exp")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--every", type=int, default=10, help="checkpoint every N steps")
    parser.add_argument("--hang-at", type=int, default=None, help="stop responding at this step")
    parser.add_argument("--per-rank", action="store_true", help="one sub-run per rank")
    args = parser.parse_args(argv)

    if int(os.environ.get("WORLD_SIZE", "1")) > 1:  # under torchrun: ranks share one run name
        import torch.distributed as dist

        dist.init_process_group("gloo")
    workdir = Path(args.workdir)
    checkpoint_file = workdir / "checkpoint.json"
    checkpoint = load_checkpoint(checkpoint_file)
    if checkpoint is None:
        run = tblog.setup(
            "resume", log_root=workdir / "logs", runs_root=workdir / "runs",
            per_rank=args.per_rank, console=False,
        )  # fmt: skip
        w, b, first = 0.0, 0.0, 0
        run.hparams({"lr": 0.05, "every": args.every})
        log.info("started")
    else:
        # The same file log and run; points after the checkpoint's step are purged.
        run = tblog.restore(state=checkpoint["tblog"], console=False)
        w, b, first = checkpoint["w"], checkpoint["b"], checkpoint["step"] + 1
        log.info("resumed from the checkpoint of step %d", checkpoint["step"])

    for step in range(first, args.steps):
        data = random.Random(step * 1000 + run.rank)  # the same batch when a step is redone
        xs = [data.uniform(-1, 1) for _ in range(16)]
        errors = [(w * x + b) - (3 * x + 1) for x in xs]
        loss = sum(e * e for e in errors) / len(errors)
        w -= 0.05 * 2 * sum(e * x for e, x in zip(errors, xs, strict=True)) / len(xs)
        b -= 0.05 * 2 * sum(errors) / len(xs)
        log.info(
            "step %d loss %.4f", step, loss, extra={"tag": "loss", "value": loss, "step": step}
        )
        run.scalars({"w": w, "b": b}, step=step, prefix="params")
        if (step + 1) % args.every == 0 and run.rank == 0:
            state = run.state_dict(step=step)  # the last step this checkpoint covers
            save_checkpoint(checkpoint_file, {"step": step, "w": w, "b": b, "tblog": state})
            log.info("checkpoint at step %d", step)
        if step == args.hang_at:  # a job that stops responding, to be killed
            run.flush()  # its points so far are on disk, as a crashed job's often are
            print(f"rank {run.rank} hanging at step {step}", flush=True)
            while True:
                time.sleep(1)
    log.info("done at step %d", args.steps - 1)
    print(f"rank {run.rank}: file log {run.log_file}, run {run.run_path}", flush=True)
    tblog.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
