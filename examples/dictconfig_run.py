"""Configure logging from ``dictconfig.json`` and log a few points.

python examples/dictconfig_run.py [--logdir DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import logging.config
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    """Load the JSON config (optionally overriding the run directory) and log through it."""
    parser = argparse.ArgumentParser(description="dictConfig -> TensorBoard")
    parser.add_argument("--config", default=str(Path(__file__).with_name("dictconfig.json")))
    parser.add_argument("--logdir", default=None, help="override the handler's logdir")
    args = parser.parse_args(argv)

    config = json.loads(Path(args.config).read_text())
    if args.logdir is not None:
        config["handlers"]["tensorboard"]["logdir"] = args.logdir
    logging.config.dictConfig(config)
    log = logging.getLogger("train")
    for step in range(3):
        log.info("step %d", step, extra={"tag": "loss", "value": 1.0 / (step + 1), "step": step})
    log.info("eval", extra={"metrics": {"acc": 0.9, "f1": 0.8}, "step": 2})
    log.warning("configured from %s", Path(args.config).name)
    logging.shutdown()  # flushes and closes every handler, the TensorBoard one included
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
