"""This process's rank: torch.distributed's when initialised, else the launcher's environment."""

from __future__ import annotations

import os
import sys
from typing import Any

_RANK_VARIABLES = ("RANK", "SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMI_RANK")


def get_rank() -> int:
    """Return this process's rank: torch.distributed's when initialised, else the environment's.

    The variables read are RANK, SLURM_PROCID, OMPI_COMM_WORLD_RANK and PMI_RANK, in that order;
    none set means rank 0. torch is never imported for this.
    """
    dist = torch_distributed()
    if dist is not None:
        return int(dist.get_rank())
    for name in _RANK_VARIABLES:
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return int(value)
    return 0


def torch_distributed() -> Any:
    """The ``torch.distributed`` module when a process group is initialised, else None."""
    torch = sys.modules.get("torch")
    dist = getattr(torch, "distributed", None) if torch is not None else None
    try:
        if dist is not None and dist.is_available() and dist.is_initialized():
            return dist
    except Exception:  # noqa: BLE001 - a half-initialised backend means no usable rank
        return None
    return None
