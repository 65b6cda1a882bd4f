"""Bytes and requests each writer sends to S3 for the same run, as the run gets longer.

The same run (N scalar points per interval, a ``flush()`` after every interval, K intervals) is
written to a local S3 server (moto on 127.0.0.1, started here) through a counting proxy by:

  tensorboardX               ``SummaryWriter("s3://...")``: its S3RecordWriter (boto3)
  torch.utils.tensorboard    ``SummaryWriter("s3://...")``: TensorBoard's gfile S3 path (boto3),
                             when torch is installed
  tblog                      ``tblog.get_writer("s3://...")``, when this tblog writes URLs

For each K (doubling) the table gives the bytes stored in the bucket, the request-body bytes
uploaded, their ratio, the requests sent, how uploads grew from the previous K (2x is linear,
4x quadratic), and the points TensorBoard's own loader reads back from the bucket.

    python benchmarks/bench_remote.py                        # N=1000, K = 10 20 40
    python benchmarks/bench_remote.py --points 200 --intervals 5 10
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import platform
import struct
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from s3fixtures import (  # the test harness's server, proxy and reader
    CountingProxy,
    boto3_client,
    read_s3_run,
    s3_env,
    start_moto_server,
)

TAG = "loss"
Run = Callable[[str, int, int], None]  # (url, points per interval, intervals)


def wait_for_tensorboardx(writer: Any, records: int) -> None:
    """Wait until ``records`` records are in tensorboardX's S3 buffer.

    tensorboardX's flush() uploads what its thread has written so far, without waiting for the
    events still in its queue: waiting here makes every flush upload every point added before it.
    """
    buffer = writer._get_file_writer().event_writer._ev_writer._py_recordio_writer._writer.buffer
    deadline = time.monotonic() + 10
    offset = count = 0
    while time.monotonic() < deadline:
        data = buffer.getvalue()
        while offset + 12 <= len(data):  # uint64 length, uint32 crc, data, uint32 crc
            (length,) = struct.unpack_from("<Q", data, offset)
            if offset + 16 + length > len(data):
                break
            offset += 16 + length
            count += 1
        if count >= records:
            return
        time.sleep(0.001)


def run_tensorboardx(url: str, points: int, intervals: int) -> None:
    from tensorboardX import SummaryWriter

    writer = SummaryWriter(url)
    step = 0
    for _ in range(intervals):
        for _ in range(points):
            writer.add_scalar(TAG, 1.0 / (step + 1), step)
            step += 1
        wait_for_tensorboardx(writer, 1 + step)  # the file_version record, then one per point
        writer.flush()
    writer.close()


def run_torch(url: str, points: int, intervals: int) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(url)
    step = 0
    for _ in range(intervals):
        for _ in range(points):
            writer.add_scalar(TAG, 1.0 / (step + 1), step)
            step += 1
        writer.flush()
    writer.close()


def run_tblog(url: str, points: int, intervals: int) -> None:
    import tblog

    writer = tblog.get_writer(url)
    step = 0
    for _ in range(intervals):
        for _ in range(points):
            writer.add_scalar(TAG, 1.0 / (step + 1), step)
            step += 1
        writer.flush()
    writer.close()


@contextlib.contextmanager
def scratch_cwd() -> Iterator[Path]:
    """Run in an empty directory: a writer that takes a URL for a path leaves ``./s3:`` there."""
    before = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        os.chdir(tmp)
        try:
            yield Path(tmp)
        finally:
            os.chdir(before)


class Bench:
    """The moto server, the proxy in front of it, and one fresh bucket per row."""

    def __init__(self) -> None:
        self.server, self.server_url = start_moto_server()
        self.proxy = CountingProxy(self.server_url)
        os.environ.update(s3_env(self.proxy.url))  # before TensorBoard reads S3_ENDPOINT
        self.client = boto3_client(self.server_url)
        self.buckets = 0

    def close(self) -> None:
        """Stop the proxy and the server."""
        self.proxy.close()
        self.server.stop()

    def bucket(self) -> str:
        """A new, empty bucket."""
        self.buckets += 1
        name = f"bench-{self.buckets}"
        self.client.create_bucket(Bucket=name)
        return name

    def stored(self, bucket: str) -> dict[str, int]:
        """Size of every object in ``bucket``, read from the server directly."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return {o["Key"]: o["Size"] for page in pages for o in page.get("Contents", [])}

    def measure(self, run: Run, points: int, intervals: int) -> dict[str, Any]:
        """Write one run through the proxy; what it cost and what TensorBoard reads back."""
        bucket = self.bucket()
        url = f"s3://{bucket}/runs/exp1"
        self.proxy.reset()
        start = time.perf_counter()
        with scratch_cwd() as cwd:
            run(url, points, intervals)
            local = (cwd / url.split("/", 1)[0]).exists()  # "./s3:": the URL taken for a path
        seconds = time.perf_counter() - start
        requests = self.proxy.snapshot()
        stored = self.stored(bucket)
        read_back = 0
        if stored:
            data = read_s3_run(url, s3_env(self.server_url))
            read_back = len(data.scalars.get(TAG, []))
        return {
            "points": points * intervals,
            "stored": sum(stored.values()),
            "objects": len(stored),
            "uploaded": sum(r.body_bytes for r in requests if r.method in ("PUT", "POST")),
            "requests": len(requests),
            "writes": sum(1 for r in requests if r.writes_object),
            "read_back": read_back,
            "seconds": seconds,
            "local": local,
        }


def writers(bench: Bench) -> dict[str, Run]:
    """The writers to compare; tblog only when it really writes to the bucket."""
    found: dict[str, Run] = {"tensorboardX": run_tensorboardx}
    if importlib.util.find_spec("torch") is not None:
        found["torch.utils.tensorboard"] = run_torch
    else:
        print("torch.utils.tensorboard: torch is not installed; row skipped", file=sys.stderr)
    try:
        probe = bench.measure(run_tblog, 1, 1)
    except Exception as exc:  # a version that rejects URLs, or a remote writer that failed
        print(f"tblog: remote runs not supported by this version ({exc!r})")
    else:
        if probe["local"] or not probe["objects"]:
            where = "a local folder ./s3:" if probe["local"] else "nothing"
            print(f"tblog: remote runs not supported by this version (it wrote {where})")
        else:
            found["tblog"] = run_tblog
    return found


def main(argv: list[str] | None = None) -> int:
    """Run every writer for every K and print a Markdown table."""
    parser = argparse.ArgumentParser(description="S3 upload cost of TensorBoard writers")
    parser.add_argument("--points", type=int, default=1000, help="points per interval (N)")
    parser.add_argument("--intervals", type=int, nargs="+", default=[10, 20, 40], help="K")
    args = parser.parse_args(argv)

    bench = Bench()
    rows: list[tuple[str, int, dict[str, Any], str]] = []
    try:
        for label, run in writers(bench).items():
            previous = None
            for k in args.intervals:
                result = bench.measure(run, args.points, k)
                growth = f"{result['uploaded'] / previous:.2f}x" if previous else "-"
                previous = result["uploaded"]
                rows.append((label, k, result, growth))
                print(f"  {label} K={k}: {result['seconds']:.1f} s", file=sys.stderr)
    finally:
        bench.close()

    print(
        f"\nN={args.points} scalar points per interval, flush() after each of K intervals; "
        f"moto on 127.0.0.1 behind a counting proxy; Python {platform.python_version()}, "
        f"{os.cpu_count()} cores\n"
    )
    print(
        "| writer | K | points | bytes stored | bytes uploaded | uploaded/stored | "
        "uploaded B/point | requests | object writes | uploads growth | read back |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for label, k, r, growth in rows:
        ratio = r["uploaded"] / r["stored"] if r["stored"] else float("nan")
        print(
            f"| {label} | {k} | {r['points']} | {r['stored']:,} | {r['uploaded']:,} | "
            f"{ratio:.2f} | {r['uploaded'] / r['points']:.0f} | {r['requests']} | "
            f"{r['writes']} | {growth} | {r['read_back']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
