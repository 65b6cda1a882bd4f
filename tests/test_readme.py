"""Every Python example in README.md runs as printed and writes the run it shows."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tbread import event_files, read_run

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
pytestmark = pytest.mark.slow

#: Optional packages a block needs, recognised by what the block contains.
NEEDS = {
    "structlog": "structlog",
    "torch": "torch",
    "lightning": "lightning",
    "add_image": "PIL",
    ".image(": "PIL",
    "read_scalars": "pandas",
}
#: The tags a block names: ``"tag": "loss"`` in an ``extra`` dict or ``tag="loss"`` in a call.
TAG = re.compile(r"""(?:"tag":\s*|\btag=)"([^"]+)\"""")


def bash_lines() -> list[str]:
    """The lines of README's ```bash blocks, in order."""
    lines, inside = [], False
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.strip() in {"```bash", "```"}:
            inside = line.strip() == "```bash"
        elif inside:
            lines.append(line.split("  #")[0].strip())
    return lines


def python_blocks() -> list[pytest.ParameterSet]:
    """Each ```python block of README.md, named by the line it starts on."""
    blocks, lines, start = [], README.read_text(encoding="utf-8").splitlines(), None
    for number, line in enumerate(lines, 1):
        if start is None and line.strip() == "```python":
            start = number
        elif start is not None and line.strip() == "```":
            code = "\n".join(lines[start:number - 1]) + "\n"  # fmt: skip
            blocks.append(pytest.param(code, id=f"README.md:{start}"))
            start = None
    return blocks


def test_first_command_installs_what_it_tells_you_to_run() -> None:
    """The first set-up command installs TensorBoard, whose ``tensorboard --logdir`` it names."""
    tomllib = pytest.importorskip("tomllib")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert 'pip install -e ".[tensorboard]" && tblog demo' == bash_lines()[0]
    assert ["tensorboard>=2.14"] == extras["tensorboard"]
    assert "tensorboard --logdir runs" in bash_lines()


def test_ci_runs_the_test_command_readme_shows() -> None:
    """``.ci/run`` ends with README's test command, character for character."""
    command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert 'pip install -e ".[test]" && python -m pytest' == command
    assert command in bash_lines()


def test_readme_has_python_examples() -> None:
    """The extraction finds README's examples (an empty list would make the next test vacuous)."""
    assert len(python_blocks()) >= 6


@pytest.fixture
def bucket(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """For a block that writes to s3://my-bucket: a real S3 server on loopback with that bucket."""
    code = request.node.callspec.params["code"]
    if "s3://my-bucket" not in code:
        yield {}
        return
    if any(importlib.util.find_spec(m) is None for m in ("moto", "s3fs", "boto3")):
        pytest.skip("needs moto[server], s3fs and boto3")
    from s3fixtures import boto3_client, s3_env, start_moto_server

    server, url = start_moto_server()
    try:
        boto3_client(url).create_bucket(Bucket="my-bucket")
        yield s3_env(url)
    finally:
        server.stop()


def _remote_runs(env: dict[str, str]) -> list[str]:
    """The run directories (s3:// URLs) holding event files in s3://my-bucket."""
    from s3fixtures import boto3_client

    client = boto3_client(env["AWS_ENDPOINT_URL"])
    keys = [o["Key"] for o in client.list_objects_v2(Bucket="my-bucket").get("Contents", [])]
    return sorted({f"s3://my-bucket/{k.rsplit('/', 1)[0]}" for k in keys if "tfevents" in k})


@pytest.mark.parametrize("code", python_blocks())
def test_readme_python_block_runs_and_writes_its_run(
    tmp_path: Path, code: str, bucket: dict[str, str]
) -> None:
    """The block runs verbatim as a script and TensorBoard's loader sees the tags it logs."""
    for marker, module in NEEDS.items():
        if marker in code and importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module}")
    script = tmp_path / "readme_example.py"
    script.write_text(code, encoding="utf-8")
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", **bucket}
    env["TBLOG_SPOOL"] = str(tmp_path / "spool")
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert 0 == result.returncode, f"{code}\n--- stderr ---\n{result.stderr[-3000:]}"

    seen: set[str] = set()
    if bucket:
        from s3fixtures import read_s3_run

        remote = _remote_runs(bucket)
        assert 3 == len(remote), remote
        for url in remote:
            data = read_s3_run(url, bucket)
            seen |= {*data.scalars, *data.texts, *data.histograms, *data.images}
        assert {"loss", "acc", "lr"} <= seen
    run_dirs = sorted({Path(f).parent for f in event_files(cwd, recursive=True)})
    assert run_dirs or bucket, f"no run written by:\n{code}"
    for run_dir in run_dirs:
        data = read_run(run_dir)
        seen |= {*data.scalars, *data.texts, *data.histograms, *data.images}
    assert seen, f"TensorBoard sees no tag in {run_dirs}"
    expected = set(TAG.findall(code))
    assert expected == expected & seen
