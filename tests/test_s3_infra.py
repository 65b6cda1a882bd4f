"""The S3 test harness works for real: moto on loopback, the counting proxy, TensorBoard reading."""

from __future__ import annotations

import http.client
import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest
from s3fixtures import (
    S3Bucket,
    boto3_client,
    read_s3_run,
    s3_fixture,  # noqa: F401 - the fixture "s3"
    s3_server_fixture,  # noqa: F401 - the fixture "s3_server"
    tensorboard_server,
)
from tbread import event_files, read_run

import tblog

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("moto", "s3fs", "boto3", "tensorboard")),
    reason='needs moto[server], s3fs, boto3 and tensorboard: pip install -e ".[test]"',
)

STEPS = 100


def write_local_run(path: Path) -> Path:
    """A run written by tblog to a local directory: 100 scalars and a text; its one event file."""
    writer = tblog.get_writer(path)
    for step in range(STEPS):
        writer.add_scalar("loss", 1.0 / (step + 1), step)
    writer.add_text("notes", "hello from a bucket", 7)
    writer.close()
    (event_file,) = event_files(path)
    return Path(event_file)


def fail_fast(s3: S3Bucket) -> Any:
    """An s3fs filesystem on the bucket that gives up after one short attempt."""
    import s3fs

    fs = s3fs.S3FileSystem(
        **s3.storage_options,
        config_kwargs={"connect_timeout": 1, "read_timeout": 2, "retries": {"max_attempts": 1}},
        skip_instance_cache=True,
    )
    fs.retries = 1  # s3fs's own retry loop around botocore's (a class attribute, 5 by default)
    return fs


def test_upload_is_counted_and_tensorboard_reads_every_point(s3: S3Bucket, tmp_path: Path) -> None:
    """An event file uploaded by s3fs (endpoint from the env) is one PUT; TensorBoard reads it."""
    import fsspec

    event_file = write_local_run(tmp_path / "run")
    size = event_file.stat().st_size
    assert s3.endpoint_url == os.environ["AWS_ENDPOINT_URL"]

    fsspec.filesystem("s3").put(str(event_file), s3.url(f"runs/exp1/{event_file.name}"))

    key = f"runs/exp1/{event_file.name}"
    assert {key: size} == s3.objects("runs/")
    assert event_file.read_bytes() == s3.get(key)
    assert s3.proxy is not None
    assert {f"{s3.bucket}/{key}": 1} == dict(s3.proxy.writes())
    assert [1] == [n for (method, _), n in s3.proxy.counts().items() if method == "PUT"]
    uploaded = s3.proxy.uploaded_bytes(f"{s3.bucket}/runs/")
    assert size <= uploaded <= size * 1.05 + 1024  # the body, and at most some framing
    expected = read_run(tmp_path / "run")
    remote = read_s3_run(s3.url("runs/exp1"), s3.env)
    assert [(s, pytest.approx(1.0 / (s + 1))) for s in range(STEPS)] == remote.scalars["loss"]
    assert expected.scalars == remote.scalars
    assert {"notes": [(7, "hello from a bucket")]} == remote.texts


@pytest.mark.parametrize("attempt", [1, 2])
def test_tensorboard_reads_the_bucket_in_process(
    s3: S3Bucket, tmp_path: Path, attempt: int
) -> None:
    """TensorBoard's loader in this process reads each test's bucket (a new endpoint each time)."""
    import fsspec

    event_file = write_local_run(tmp_path / "run")
    fsspec.filesystem("s3").put(str(event_file), s3.url(f"runs/exp1/{event_file.name}"))
    assert s3.proxy is not None
    s3.proxy.reset()

    remote = read_run(s3.url("runs/exp1"))

    assert read_run(tmp_path / "run").scalars == remote.scalars
    assert {f"{s3.bucket}/runs/exp1/{event_file.name}"} <= {
        f"{r.bucket}/{r.key}" for r in s3.proxy.snapshot() if r.method == "GET"
    }


@pytest.mark.e2e
def test_tensorboard_server_serves_the_bucket(s3: S3Bucket, tmp_path: Path) -> None:
    """``tensorboard --logdir s3://...`` lists the run and returns every point over HTTP."""
    import s3fs

    event_file = write_local_run(tmp_path / "run")
    s3fs.S3FileSystem(**s3.storage_options).put(
        str(event_file), s3.url(f"runs/exp1/{event_file.name}")
    )

    with tensorboard_server(s3.url("runs"), s3.env) as board:
        assert ["exp1"] == board.wait("/data/runs", lambda runs: runs == ["exp1"])
        loss = board.scalars("exp1", "loss", STEPS)
        assert list(range(STEPS)) == [step for step, _ in loss]
        assert [pytest.approx(1.0 / (s + 1)) for s in range(STEPS)] == [v for _, v in loss]
        tags = board.wait("/data/plugin/text/tags", lambda answer: bool(answer.get("exp1")))
        assert {"exp1": ["notes"]} == tags


def test_cut_fails_uploads_and_restore_lets_them_through(s3: S3Bucket, tmp_path: Path) -> None:
    """While cut, an upload fails and the bucket stays readable directly; restored, it succeeds."""
    import botocore.exceptions

    event_file = write_local_run(tmp_path / "run")
    fs = fail_fast(s3)
    fs.put(str(event_file), s3.url(f"runs/exp1/{event_file.name}"))  # its connection stays pooled
    assert s3.proxy is not None

    s3.proxy.cut()
    assert s3.proxy.is_cut
    with pytest.raises(botocore.exceptions.BotoCoreError):  # EndpointConnectionError: refused
        fs.put(str(event_file), s3.url(f"runs/exp2/{event_file.name}"))
    assert [f"runs/exp1/{event_file.name}"] == list(s3.objects())
    assert STEPS == len(read_s3_run(s3.url("runs/exp1"), s3.direct().env).scalars["loss"])

    s3.proxy.restore()
    assert not s3.proxy.is_cut
    fs.put(str(event_file), s3.url(f"runs/exp2/{event_file.name}"))
    assert event_file.read_bytes() == s3.get(f"runs/exp2/{event_file.name}")
    expected = {f"{s3.bucket}/runs/{run}/{event_file.name}": 1 for run in ("exp1", "exp2")}
    assert expected == dict(s3.proxy.writes())


def test_proxy_follows_multipart_chunked_and_head_requests(s3: S3Bucket) -> None:
    """A multipart upload counts as one object write; chunked bodies and HEAD answers parse."""
    import s3fs

    assert s3.proxy is not None
    fs = s3fs.S3FileSystem(**s3.storage_options)
    with fs.open(s3.url("big.bin"), "wb", block_size=5 * 2**20) as f:
        f.write(b"m" * (5 * 2**20))
        f.write(b"n" * (5 * 2**20 + 1))
    methods = [(r.method, r.key) for r in s3.proxy.snapshot()]
    assert ("POST", "big.bin") in methods  # CreateMultipartUpload ... Complete
    assert {f"{s3.bucket}/big.bin": 1} == dict(s3.proxy.writes())
    assert 10 * 2**20 + 1 <= s3.proxy.uploaded_bytes(f"{s3.bucket}/big.bin")

    s3.proxy.reset()
    connection = http.client.HTTPConnection("127.0.0.1", s3.proxy.port, timeout=10)
    try:
        body = iter([b"a" * 1000, b"b" * 234])
        connection.request("PUT", f"/{s3.bucket}/chunked.bin", body=body, encode_chunked=True)
        connection.getresponse().read()
    finally:
        connection.close()
    client = boto3_client(s3.endpoint_url)
    assert 1234 == client.head_object(Bucket=s3.bucket, Key="chunked.bin")["ContentLength"]
    client.put_object(Bucket=s3.bucket, Key="plain.bin", Body=b"c" * 10)
    requests = s3.proxy.snapshot()
    assert ["PUT", "HEAD", "PUT"] == [r.method for r in requests]
    assert [200, 200, 200] == [r.status for r in requests]
    assert 1234 < requests[0].body_bytes  # the data and its chunk framing
    assert 10 == requests[2].body_bytes
    assert {"big.bin": 10 * 2**20 + 1, "chunked.bin": 1234, "plain.bin": 10} == s3.objects()


def test_refused_listing_answers_403_and_writes_still_go_through(s3: S3Bucket) -> None:
    """refuse_listing(): ListObjects gets AccessDenied (as S3 answers), PutObject still works."""
    import botocore.exceptions

    assert s3.proxy is not None
    s3.proxy.refuse_listing()
    client = boto3_client(s3.endpoint_url)
    client.put_object(Bucket=s3.bucket, Key="runs/x/a", Body=b"data")
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        client.list_objects_v2(Bucket=s3.bucket, Prefix="runs/x/")
    assert b"data" == client.get_object(Bucket=s3.bucket, Key="runs/x/a")["Body"].read()
    assert {"runs/x/a": 4} == s3.objects("runs/x")  # the server itself still lists
    assert [403] == [r.status for r in s3.proxy.snapshot() if r.method == "GET" and not r.key]
