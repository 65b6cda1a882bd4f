"""structlog on its own: a TensorBoardProcessor in the chain, JSON lines still printed.

python examples/structlog_native.py --logdir runs/structlog-native
"""

from __future__ import annotations

import argparse

import structlog

import tblog


def main(argv: list[str] | None = None) -> int:
    """Configure structlog with the processor, log a few events, flush and say where they are."""
    parser = argparse.ArgumentParser(description="structlog -> TensorBoard")
    parser.add_argument("--logdir", default="runs/structlog-native")
    args = parser.parse_args(argv)

    processor = tblog.TensorBoardProcessor(logdir=args.logdir, keys=["loss", "acc"])
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            processor,  # before the renderer: it reads the event dict and passes it on
            structlog.processors.JSONRenderer(),
        ],
        cache_logger_on_first_use=False,
    )
    log = structlog.get_logger()
    for step in range(5):
        log.info("train", loss=1.0 / (step + 1), acc=0.5 + step / 10, step=step)  # keys=...
    log.info("eval", metrics={"acc": 0.91, "f1": 0.88}, step=4)  # metrics
    log.info("lr", tag="lr", value=3e-4, step=4)  # tag/value/step
    processor.flush()
    print(f"view them with:  tensorboard --logdir {args.logdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
