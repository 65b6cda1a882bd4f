"""Records made on tblog's own threads (writer, uploader, store IO) stay out of runs."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from s3fixtures import (
    S3Bucket,
    child_env,
    read_s3_run,
    s3_fixture,  # noqa: F401 - the fixture "s3"
    s3_server_fixture,  # noqa: F401 - the fixture "s3_server"
)
from tbread import read_run

import tblog

ROOT = Path(__file__).resolve().parent.parent
HAS_S3 = all(importlib.util.find_spec(m) for m in ("fsspec", "s3fs", "moto", "boto3"))


def _texts(data: object) -> list[str]:
    return [text for series in data.texts.values() for _, text in series]  # type: ignore[attr-defined]


def test_a_record_from_a_tblog_thread_is_not_written_as_text(tmp_path: Path) -> None:
    """A line logged on a thread named like tblog's writer reaches the file log, not the run."""
    with tblog.setup("t", log_root=tmp_path / "logs", runs_root=tmp_path / "runs",
                     log_name="t", console=False) as run:  # fmt: skip
        thread = threading.Thread(
            target=lambda: logging.getLogger("lib").info("from the writer"), name="tblog-writer:t"
        )
        thread.start()
        thread.join(10)
        logging.getLogger("lib").info("from the user")
    texts = _texts(read_run(tmp_path / "runs" / "t"))
    assert any("from the user" in t for t in texts)
    assert not any("from the writer" in t for t in texts)
    assert run.log_file is not None
    assert "from the writer" in Path(run.log_file).read_text()


_REMOTE = """
import sys, tblog
url, logs = sys.argv[1], sys.argv[2]
with tblog.setup("r", log_root=logs, runs_root=url, log_name="r", console=False,
                 spool_dir=logs + "/spool") as run:
    run.info("user line")
    run.scalar("x", 1.0, 0)
"""


@pytest.mark.skipif(not HAS_S3, reason="needs fsspec, s3fs, moto[server] and boto3")
def test_the_store_clients_info_lines_stay_out_of_a_remote_run(
    tmp_path: Path, s3: S3Bucket
) -> None:
    """The store client's "Found credentials ..." (logged on its IO thread) is not in the run."""
    env = child_env(s3.env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    subprocess.run(
        [sys.executable, "-c", _REMOTE, s3.url("runs"), str(tmp_path / "logs")],
        env=env, check=True, timeout=120, capture_output=True,
    )  # fmt: skip
    texts = _texts(read_s3_run(s3.url("runs/r"), s3.env))
    assert any("user line" in t for t in texts)
    assert not any("credentials" in t for t in texts), texts
