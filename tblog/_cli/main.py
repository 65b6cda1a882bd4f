"""The ``tblog`` parser, built from each command's own parser lines, and the command runner."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tblog._cli import demo, export, replay, runs, summary, upload, watch
from tblog._cli.common import CommandError, os_problem

#: The commands in the order ``tblog --help`` lists them; each module adds its own parser.
COMMANDS = (demo, summary, export, watch, replay, upload, runs)


def build_parser() -> argparse.ArgumentParser:
    """The ``tblog`` argument parser and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog="tblog",
        description="TensorBoard as a destination of Python's logging: demo, inspect, export, "
        "watch and replay runs.",
    )
    from tblog import __version__

    parser.add_argument("--version", action="version", version=f"tblog {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tblog`` command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args, sys.stdout)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (``tblog summary runs | head``): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except CommandError as exc:
        print(f"tblog {args.command}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a path the user gave that the OS refuses (read error, ...)
        print(f"tblog {args.command}: {os_problem(exc)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return status
