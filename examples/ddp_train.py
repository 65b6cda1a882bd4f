"""Distributed data-parallel training on the CPU (gloo), logged with ``tblog.setup``.

Every rank keeps a file log; by default only rank 0 writes TensorBoard events, and with
``--per-rank`` every rank writes its own sub-run ``rank_<r>``.

    torchrun --standalone --nproc_per_node=3 examples/ddp_train.py
    torchrun --standalone --nproc_per_node=3 examples/ddp_train.py --per-rank
"""

from __future__ import annotations

import argparse
import logging

import torch
import torch.distributed as dist

import tblog


def main(argv: list[str] | None = None) -> int:
    """Train a linear model with DDP for a few steps, logging loss and messages on every rank."""
    parser = argparse.ArgumentParser(description="DDP + tblog")
    parser.add_argument("--runs-root", default="runs")
    parser.add_argument("--log-root", default="logs")
    parser.add_argument("--per-rank", action="store_true")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args(argv)

    dist.init_process_group("gloo")
    # All ranks call setup; under torch.distributed they share rank 0's run name.
    run = tblog.setup(
        "ddp", log_root=args.log_root, runs_root=args.runs_root, per_rank=args.per_rank,
        console=False,
    )  # fmt: skip
    log = logging.getLogger("train")
    torch.manual_seed(run.rank)
    model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    for step in range(args.steps):
        x = torch.randn(32, 4)
        loss = ((model(x) - x.sum(dim=1, keepdim=True)) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        # A 0-d tensor is a scalar: no .item() needed.
        log.info("step", extra={"tag": "loss", "value": loss.detach(), "step": step})
    run.histogram("weights", model.module.weight.detach(), args.steps)
    log.info("rank %d of %d done", run.rank, dist.get_world_size())
    print(f"rank {run.rank}: log {run.log_file}, run {run.run_path}")
    tblog.close()
    dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
