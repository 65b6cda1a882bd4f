"""The ``tblog`` command: run the demo, summarize, export, watch and replay TensorBoard runs.

The commands live in ``tblog._cli``, one module each; this module is the entry point
(``tblog.cli:main``, ``python -m tblog``) and keeps the names it has always offered.
"""

from __future__ import annotations

from tblog._cli.common import CommandError
from tblog._cli.demo import cmd_demo
from tblog._cli.export import cmd_export
from tblog._cli.main import build_parser, main
from tblog._cli.replay import cmd_replay
from tblog._cli.runs import cmd_runs
from tblog._cli.summary import cmd_summary
from tblog._cli.tags import SPARKS, sparkline
from tblog._cli.upload import cmd_upload
from tblog._cli.watch import cmd_watch

__all__ = [
    "SPARKS",
    "CommandError",
    "build_parser",
    "cmd_demo",
    "cmd_export",
    "cmd_replay",
    "cmd_runs",
    "cmd_summary",
    "cmd_upload",
    "cmd_watch",
    "main",
    "sparkline",
]

if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
