"""structlog over the standard library: records reach TensorBoardHandler with the same keys.

Both bridges are shown: ``render_to_log_kwargs`` (the keys become the record's ``extra``) and
``ProcessorFormatter.wrap_for_formatter`` (the event dict travels in ``record.msg``).

    python examples/structlog_stdlib.py --logdir runs/structlog-stdlib
"""

from __future__ import annotations

import argparse
import logging

import structlog

import tblog


def main(argv: list[str] | None = None) -> int:
    """Log through structlog into stdlib handlers: a TensorBoard run and the console."""
    parser = argparse.ArgumentParser(description="structlog over stdlib -> TensorBoard")
    parser.add_argument("--logdir", default="runs/structlog-stdlib")
    parser.add_argument("--bridge", choices=["kwargs", "formatter"], default="kwargs")
    args = parser.parse_args(argv)

    console = logging.StreamHandler()
    tensorboard = tblog.TensorBoardHandler(args.logdir)
    if args.bridge == "kwargs":
        last = structlog.stdlib.render_to_log_kwargs
        console.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    else:
        last = structlog.stdlib.ProcessorFormatter.wrap_for_formatter
        formatter = structlog.stdlib.ProcessorFormatter(
            processor=structlog.dev.ConsoleRenderer(colors=False)
        )
        console.setFormatter(formatter)
        tensorboard.setFormatter(formatter)  # text points render like the console
    logging.basicConfig(level=logging.INFO, handlers=[console, tensorboard], force=True)
    structlog.configure(
        processors=[structlog.stdlib.add_log_level, last],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    log = structlog.get_logger("train")
    for step in range(3):
        log.info("train", tag="loss", value=1.0 / (step + 1), step=step)
    log.info("eval", metrics={"acc": 0.9}, step=2)
    log.warning("plain event, written as text")
    tensorboard.flush()
    print(f"view them with:  tensorboard --logdir {args.logdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
