"""A small training loop (logistic regression in pure numpy) that logs only through ``logging``.

Run it, then look at the run in TensorBoard:

    python examples/train_numpy.py --logdir runs/numpy-demo
    tensorboard --logdir runs
"""

from __future__ import annotations

import argparse
import logging
import sys

import numpy as np

import tblog

log = logging.getLogger("train")


def make_data(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs in 2-D, labelled 0 and 1."""
    x = np.concatenate([rng.normal(-1.0, 1.0, (n // 2, 2)), rng.normal(1.0, 1.0, (n // 2, 2))])
    y = np.concatenate([np.zeros(n // 2), np.ones(n // 2)])
    order = rng.permutation(n)
    return x[order], y[order]


def train(epochs: int, batch_size: int, lr: float, seed: int) -> float:
    """Train and log a scalar per step, metrics per epoch, a histogram and plain messages."""
    rng = np.random.default_rng(seed)
    x, y = make_data(rng, 2048)
    x_val, y_val = make_data(rng, 512)
    weights, bias = np.zeros(2), 0.0
    log.info("data: %d training and %d validation examples", len(x), len(x_val))
    step = 0
    accuracy = 0.0
    for epoch in range(epochs):
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            p = 1.0 / (1.0 + np.exp(-(xb @ weights + bias)))
            loss = float(-np.mean(yb * np.log(p + 1e-9) + (1 - yb) * np.log(1 - p + 1e-9)))
            weights -= lr * xb.T @ (p - yb) / len(xb)
            bias -= lr * float(np.mean(p - yb))
            log.debug("step", extra={"tag": "loss/train", "value": loss, "step": step})
            step += 1
        p_val = 1.0 / (1.0 + np.exp(-(x_val @ weights + bias)))
        accuracy = float(np.mean((p_val > 0.5) == y_val))
        val_loss = float(
            -np.mean(y_val * np.log(p_val + 1e-9) + (1 - y_val) * np.log(1 - p_val + 1e-9))
        )
        log.info(
            "epoch %d done",
            epoch,
            extra={"tag": "val", "metrics": {"accuracy": accuracy, "loss": val_loss}, "step": step},
        )
        log.info("weights", extra={"tag": "weights", "value": weights, "step": epoch})
    with tblog.step(step):
        log.info("lr", extra={"tag": "hparams/lr", "value": lr})
    log.info("finished: validation accuracy %.3f", accuracy)
    return accuracy


def main(argv: list[str] | None = None) -> int:
    """Set up logging (console + TensorBoard), train, and say where the run is."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="runs/numpy-demo", help="the TensorBoard run directory")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    handler = tblog.TensorBoardHandler(args.logdir, level=logging.DEBUG)
    console = logging.StreamHandler(sys.stdout)
    console.setLevel(logging.INFO)
    console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG, handlers=[console, handler])

    train(args.epochs, args.batch_size, args.lr, args.seed)
    handler.flush()
    stats = handler.writer.stats
    print(f"\nwrote {stats.written} points to {handler.logdir}")
    print(f"view them with:  tensorboard --logdir {args.logdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
