"""``tblog upload``: push the segments a remote run left in its local spool."""

from __future__ import annotations

import argparse
import os
from typing import IO, Any

from tblog._cli.common import CommandError


def add_parser(commands: Any) -> None:
    """Register ``upload`` on the ``tblog`` sub-command parsers."""
    upload = commands.add_parser(
        "upload",
        help="upload the segments a remote run left in its spool",
        description="Upload, in order, the event-file segments that a run in object storage "
        "left in its local spool when the store could not be reached before the process "
        "ended. Credentials and endpoints come from the environment. The exit status is 1 "
        "while segments are left.",
    )
    upload.add_argument(
        "spools",
        nargs="*",
        metavar="SPOOL",
        help="a spool directory, or a directory of them (default: $TBLOG_SPOOL, else "
        "<tmp>/tblog-spool)",
    )
    upload.set_defaults(func=cmd_upload)


def cmd_upload(args: argparse.Namespace, out: IO[str]) -> int:
    """Upload the segments a remote run left in its spool (the store was down at exit)."""
    from tblog._spool import TARGET_FILE, default_spool_root
    from tblog._upload import upload_spool

    spools = []
    for path in args.spools or [default_spool_root()]:
        if os.path.isfile(os.path.join(path, TARGET_FILE)):
            spools.append(path)
        elif os.path.isdir(path):
            spools += sorted(
                os.path.join(path, name)
                for name in os.listdir(path)
                if os.path.isfile(os.path.join(path, name, TARGET_FILE))
            )
        else:
            msg = f"{path}: no such spool directory"
            raise CommandError(msg)
    left_in_all = 0
    for spool in spools:
        try:
            result = upload_spool(spool)
        except (ValueError, ModuleNotFoundError) as exc:
            raise CommandError(f"{spool}: {exc}") from exc
        if result is None:  # its run is still writing (its process uploads it), or an upload
            print(f"{spool}: in use by a running process, left alone", file=out)
            continue
        done, left = result
        print(f"{spool}: {done} segments uploaded, {left} left", file=out)
        left_in_all += left
    if not spools:
        print("nothing to upload", file=out)
    return 1 if left_in_all else 0
