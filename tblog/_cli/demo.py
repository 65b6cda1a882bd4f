"""``tblog demo``: train a small numpy network into a local run and say how to view it."""

from __future__ import annotations

import argparse
from typing import IO, Any

from tblog._cli.common import CommandError, at_least, make_dir


def add_parser(commands: Any) -> None:
    """Register ``demo`` on the ``tblog`` sub-command parsers."""
    demo = commands.add_parser(
        "demo",
        help="train a small numpy network, logging through tblog.setup",
        description="Train a small numpy network on two spirals, logging scalars, metrics, "
        "histograms, hparams and text through tblog.setup, then say how to view the run.",
    )
    demo.add_argument("--logdir", default="runs", help="runs root (default: %(default)s)")
    demo.add_argument(
        "--epochs", type=at_least(1), default=300, help="at least 1 (default: %(default)s)"
    )
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace, out: IO[str]) -> int:
    """Run the numpy demo into ``--logdir`` and say how to look at it."""
    from tblog._demo import main as demo

    del out
    if "://" in args.logdir:
        msg = f"{args.logdir}: the demo writes a local run; give a local --logdir"
        raise CommandError(msg)
    make_dir(args.logdir)
    demo(args.logdir, args.epochs)
    return 0
