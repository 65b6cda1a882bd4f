"""The ``tblog demo`` run: a small numpy network learns two spirals, logged with ``tblog.setup``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import tblog

log = logging.getLogger("demo")


def _spirals(rng: Any, n: int) -> tuple[Any, Any]:
    import numpy as np

    t = np.sqrt(rng.random(n)) * 3 * np.pi
    labels = rng.integers(0, 2, n)
    sign = np.where(labels == 1, 1.0, -1.0)
    points = np.stack([sign * t * np.cos(t), sign * t * np.sin(t)], axis=1) / (3 * np.pi)
    return points + rng.normal(0, 0.02, points.shape), labels.astype(float)


def train(run: tblog.RootLogger, epochs: int, hidden: int = 64, lr: float = 0.5) -> float:
    """Train a 2-layer tanh network (full batch, momentum 0.9); return the final accuracy."""
    import numpy as np

    rng = np.random.default_rng(0)
    x, y = _spirals(rng, 1024)
    x = x * 3.0
    params = [rng.normal(0, 1.0, (2, hidden)), np.zeros(hidden)]
    params += [rng.normal(0, 1.0 / np.sqrt(hidden), hidden), np.zeros(())]
    velocity = [np.zeros_like(p) for p in params]
    run.hparams({"hidden": hidden, "lr": lr, "epochs": epochs}, {"hparam/accuracy": 0.0})
    log.info("training on %d points with %d hidden units", len(x), hidden)
    loss = accuracy = 0.0
    for epoch in range(epochs):
        with run.timer("time/epoch"):
            w1, b1, w2, b2 = params
            h = np.tanh(x @ w1 + b1)
            p = 1 / (1 + np.exp(-(h @ w2 + b2)))
            loss = float(-np.mean(y * np.log(p + 1e-9) + (1 - y) * np.log(1 - p + 1e-9)))
            grad = (p - y) / len(x)
            grad_h = np.outer(grad, w2) * (1 - h**2)
            grads = [x.T @ grad_h, grad_h.sum(axis=0), h.T @ grad, grad.sum()]
            for i, g in enumerate(grads):
                velocity[i] = 0.9 * velocity[i] + g
                params[i] = params[i] - lr * velocity[i]
        accuracy = float(np.mean((p > 0.5) == y))
        run.scalars({"loss": loss, "accuracy": accuracy}, step=epoch, prefix="train")
        if epoch % 25 == 0:
            run.histogram("weights/hidden", params[0], epoch)
            # A record with a value: a line in the file log and a scalar in TensorBoard.
            log.info(
                "epoch %d: loss %.4f, accuracy %.3f",
                epoch,
                loss,
                accuracy,
                extra={"tag": "milestones/accuracy", "value": accuracy, "step": epoch},
            )
    run.scalar("hparam/accuracy", accuracy, epochs)
    run.table("summary", ["epochs", "loss", "accuracy"], [[epochs, f"{loss:.4f}", accuracy]])
    log.info("finished: accuracy %.3f", accuracy)
    return accuracy


def main(logdir: str = "runs", epochs: int = 300) -> Path:
    """Run the demo into ``<logdir>/demo_<stamp>`` and print what was written; return the run."""
    with tblog.setup("demo", runs_root=logdir, log_root=Path(logdir) / "logs") as run:
        train(run, epochs)
        run.flush()
        stats = run.writer.stats if run.writer is not None else None
    assert run.run_path is not None  # noqa: S101 - rank 0 always has a run
    print()
    print(f"run:      {run.run_path}")
    print(f"file log: {run.log_file}")
    if stats is not None:
        print(f"points:   {stats.written} written, {stats.dropped} dropped")
    print(f"see it:   tblog summary {run.run_path}")
    print(f"          tensorboard --logdir {logdir}")
    return Path(run.run_path)  # the demo writes locally
