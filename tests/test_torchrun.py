"""torchrun: examples/ddp_train.py on 3 CPU processes, rank-0-only and per-rank runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tbread import event_files, read_run

pytest.importorskip("torch", reason="torch is optional; CI installs the CPU build")
pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ddp_train.py"


def _torchrun(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=3",
         str(EXAMPLE), "--steps", "10", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert 0 == result.returncode, result.stderr[-3000:]
    return result


def test_only_rank_zero_writes_events_and_every_rank_keeps_a_file_log(tmp_path: Path) -> None:
    """Default: one event file (rank 0's), a file log per rank, one shared run name."""
    _torchrun(tmp_path)
    files = event_files(tmp_path / "runs", recursive=True)
    assert 1 == len(files)
    run_dir = Path(files[0]).parent
    assert run_dir.parent == tmp_path / "runs"
    name = run_dir.name
    assert [f"{name}.log", f"{name}.rank1.log", f"{name}.rank2.log"] == sorted(
        os.listdir(tmp_path / "logs")
    )
    for rank in range(3):
        log = tmp_path / "logs" / (f"{name}.log" if rank == 0 else f"{name}.rank{rank}.log")
        assert f"rank {rank} of 3 done" in log.read_text()
    data = read_run(run_dir)
    assert list(range(10)) == data.steps("loss")  # 0-d tensors arrive as scalars
    assert [(10, 4.0)] == data.histograms["weights"]


def test_per_rank_gives_every_rank_its_sub_run(tmp_path: Path) -> None:
    """--per-rank: runs/<name>/rank_<r> for r = 0, 1, 2, each with its own loss curve."""
    _torchrun(tmp_path, "--per-rank")
    files = event_files(tmp_path / "runs", recursive=True)
    sub_runs = sorted(Path(f).parent.name for f in files)
    assert ["rank_0", "rank_1", "rank_2"] == sub_runs
    assert 1 == len({Path(f).parent.parent for f in files})  # one shared run name
    for path in files:
        assert list(range(10)) == read_run(Path(path).parent).steps("loss")
