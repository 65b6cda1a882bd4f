"""A real S3 server on loopback for tests: moto, a fresh bucket per test, a counting proxy, readers.

Test modules import the fixtures they use (pytest finds fixtures in the module's namespace; the
functions are named ``*_fixture`` so that a test's ``s3`` argument does not shadow an import)::

    from s3fixtures import S3Bucket, read_s3_run, s3_fixture, s3_server_fixture  # noqa: F401

    def test_upload(s3: S3Bucket) -> None:
        fsspec.filesystem("s3").put(local_file, s3.url(f"runs/exp1/{name}"))  # env endpoint
        assert 1 == s3.proxy.writes()[f"{s3.bucket}/runs/exp1/{name}"]
        assert expected == read_s3_run(s3.url("runs/exp1"), s3.env).scalars

Everything stays on 127.0.0.1: moto's ``ThreadedMotoServer`` on a free port, and a
``CountingProxy`` in front of it that counts the requests and bytes a client sends, can cut
the connection (an outage) and restore it, and can refuse listings with 403 AccessDenied (a
policy that grants PutObject but not ListBucket). moto enforces IAM policies only for the whole
server (``INITIAL_NO_AUTH_ACTION_COUNT``), which every test shares; the proxy does it per bucket.
TensorBoard reads ``s3://`` through boto3 (its Python loader only); it takes the endpoint from
``S3_ENDPOINT``, which it reads once, when its ``gfile`` module is imported: :func:`read_s3_run`
and :func:`tensorboard_server` therefore run TensorBoard in a subprocess with the bucket's
environment.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import importlib.util
import itertools
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tbread import RunData

TESTS = Path(__file__).resolve().parent
ACCESS_KEY = "testing"
SECRET_KEY = "testing"  # noqa: S105 - moto accepts any credentials; these never leave loopback
REGION = "us-east-1"

# Settings a developer's machine may carry that would send boto3/s3fs elsewhere or to a profile.
ISOLATED_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL_S3",  # wins over AWS_ENDPOINT_URL for S3 clients
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
    "AWS_CA_BUNDLE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
)


def s3_env(endpoint_url: str) -> dict[str, str]:
    """The environment that points boto3, s3fs/fsspec, TensorBoard and tensorboardX at a server.

    Args:
        endpoint_url: ``http://127.0.0.1:PORT`` of the S3 server (or of a proxy in front of it).

    Returns:
        Variables to set: recent botocore and so s3fs read ``AWS_ENDPOINT_URL``; TensorBoard's
        boto3 reader and tensorboardX read ``S3_ENDPOINT``; ``S3_USE_HTTPS``/``S3_VERIFY_SSL``
        are read only by TensorFlow's own S3 filesystem (when tensorflow is installed).
    """
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,  # no ~/.aws/config profile or endpoint
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",  # never probe an instance metadata service
        "S3_ENDPOINT": endpoint_url,
        "S3_USE_HTTPS": "0",
        "S3_VERIFY_SSL": "0",
    }


def child_env(env: dict[str, str]) -> dict[str, str]:
    """This process's environment with ``env`` applied, for a subprocess."""
    base = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
    return {**base, **env}


def clear_fsspec_caches() -> None:
    """Forget cached s3fs instances: each caches its endpoint, and tests change endpoints."""
    s3fs = sys.modules.get("s3fs")
    if s3fs is not None:
        s3fs.S3FileSystem.clear_instance_cache()


def start_moto_server() -> tuple[Any, str]:
    """Start moto's threaded S3 server on 127.0.0.1 and a free port; return it and its URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one access-log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def boto3_client(endpoint_url: str) -> Any:
    """A boto3 S3 client on ``endpoint_url`` with the fake credentials, whatever the env says."""
    import boto3

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        region_name=REGION,
    )


@dataclasses.dataclass
class S3Bucket:
    """A fresh bucket on the test S3 server, reached through a counting proxy.

    Attributes:
        endpoint_url: ``http://127.0.0.1:PORT`` of the proxy (what clients should use).
        server_url: The moto server itself (bypasses the proxy, e.g. to read during a cut).
        bucket: The bucket's name.
        proxy: The proxy clients go through (None for a view of the bucket from ``direct()``).
    """

    endpoint_url: str
    server_url: str
    bucket: str
    proxy: CountingProxy | None

    def url(self, path: str = "") -> str:
        """``s3://bucket/path``."""
        return f"s3://{self.bucket}/{path.lstrip('/')}"

    @property
    def storage_options(self) -> dict[str, Any]:
        """Explicit fsspec/s3fs options for this bucket's endpoint and credentials."""
        return {
            "client_kwargs": {"endpoint_url": self.endpoint_url, "region_name": REGION},
            "key": ACCESS_KEY,
            "secret": SECRET_KEY,
        }

    @property
    def env(self) -> dict[str, str]:
        """Environment variables that point every S3 client at this bucket's endpoint."""
        return s3_env(self.endpoint_url)

    def direct(self) -> S3Bucket:
        """The same bucket reached without the proxy (its reads are not counted, nor cut)."""
        return dataclasses.replace(self, endpoint_url=self.server_url, proxy=None)

    def objects(self, prefix: str = "") -> dict[str, int]:
        """Size of every object under ``prefix``, by key, read from the server directly."""
        client = boto3_client(self.server_url)
        sizes: dict[str, int] = {}
        for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            sizes.update({o["Key"]: o["Size"] for o in page.get("Contents", [])})
        return sizes

    def get(self, key: str) -> bytes:
        """The bytes of one object, read from the server directly."""
        body = boto3_client(self.server_url).get_object(Bucket=self.bucket, Key=key)["Body"]
        return bytes(body.read())


# --------------------------------------------------------------------------- counting proxy


@dataclasses.dataclass
class ProxiedRequest:
    """One HTTP request that went through the proxy.

    Attributes:
        method: ``GET``, ``PUT``, ``POST``, ``HEAD``, ``DELETE``.
        bucket: The bucket of a path-style URL (``/bucket/key``), "" for the service.
        key: The object key (URL-decoded), "" for bucket-level requests.
        query: The raw query string (``uploads``, ``partNumber=1&uploadId=...``, ``list-type=2``).
        body_bytes: Request body bytes forwarded upstream (chunked framing included).
        status: The response's status code; None if no response came back (cut, reset).
    """

    method: str
    bucket: str
    key: str
    query: str
    body_bytes: int = 0
    status: int | None = None

    @property
    def ok(self) -> bool:
        """The server answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def writes_object(self) -> bool:
        """A request that creates an object whole: PutObject or CompleteMultipartUpload."""
        params = urllib.parse.parse_qs(self.query, keep_blank_values=True)
        if self.method == "PUT" and self.key:
            return "uploadId" not in params  # not UploadPart
        return self.method == "POST" and bool(self.key) and "uploadId" in params


class _HttpParser:
    """Incremental parser of one direction of an HTTP/1.1 connection (no pipelining needed).

    ``on_head(start_line, headers) -> body length`` (an int, "chunked", or -1 for "until the
    connection closes") is called per message; ``on_body(n)`` per body chunk of n wire bytes;
    ``on_end()`` when a message is complete.
    """

    def __init__(
        self,
        on_head: Callable[[str, dict[str, str]], int | str],
        on_body: Callable[[int], None],
        on_end: Callable[[], None],
    ) -> None:
        self._on_head, self._on_body, self._on_end = on_head, on_body, on_end
        self._buffer = bytearray()
        self._state = "head"  # head | body | chunk-size | chunk-data | trailer | eof
        self._remaining = 0

    def feed(self, data: bytes) -> None:
        """Parse ``data`` (any split of the stream)."""
        self._buffer += data
        while self._buffer and self._step():
            pass

    def _step(self) -> bool:
        """Consume what the current state can; False when it needs more bytes."""
        if self._state == "head":
            return self._head()
        if self._state in ("body", "chunk-data", "eof"):
            return self._data()
        return self._line()

    def _head(self) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        lines = self._buffer[:end].decode("latin-1").split("\r\n")
        del self._buffer[: end + 4]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        self._start_body(self._on_head(lines[0], headers))
        return True

    def _data(self) -> bool:
        eof = self._state == "eof"
        n = len(self._buffer) if eof else min(len(self._buffer), self._remaining)
        del self._buffer[:n]
        self._remaining -= n
        self._on_body(n)
        if eof or self._remaining:
            return False
        if self._state == "body":
            self._finish()
        else:
            self._state = "chunk-size"
        return True

    def _line(self) -> bool:
        """A chunk-size line (the CRLF ending a chunk's data reads as an empty one), a trailer."""
        end = self._buffer.find(b"\r\n")
        if end < 0:
            return False
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 2]
        self._on_body(end + 2)
        if self._state == "trailer":
            if not line:
                self._finish()
        elif line:
            size = int(line.split(b";")[0], 16)
            self._state, self._remaining = ("chunk-data", size) if size else ("trailer", 0)
        return True

    def _start_body(self, length: int | str) -> None:
        if length == "chunked":
            self._state = "chunk-size"
        elif length == -1:
            self._state = "eof"
        elif isinstance(length, int) and length > 0:
            self._state, self._remaining = "body", length
        else:
            self._finish()

    def _finish(self) -> None:
        self._state = "head"
        self._on_end()


def _body_length(headers: dict[str, str]) -> int | str:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return "chunked"
    return int(headers.get("content-length", "0") or 0)


class _Connection:
    """One client connection and its upstream connection, pumped by two threads."""

    def __init__(self, proxy: CountingProxy, client: socket.socket, upstream: socket.socket):
        self.proxy, self.client, self.upstream = proxy, client, upstream
        self.pending: collections.deque[tuple[ProxiedRequest, str]] = collections.deque()
        self.current: ProxiedRequest | None = None
        self.refused: ProxiedRequest | None = None  # answered 403 by the proxy itself
        self.ended = 0  # directions whose pump has returned
        self.requests = _HttpParser(self._request_head, self._request_body, lambda: None)
        self.responses = _HttpParser(self._response_head, lambda _: None, lambda: None)
        self.threads = [
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True),
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True),
        ]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        """Reset both sides at once (the client sees its connection drop)."""
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()

    def _pump(self, source: socket.socket, target: socket.socket, upward: bool) -> None:
        parser = self.requests if upward else self.responses
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self.proxy.lock:
                    if upward:
                        self.proxy.bytes_up += len(data)
                    else:
                        self.proxy.bytes_down += len(data)
                    parser.feed(data)  # before forwarding: the answer must find its request
                    refused = self.refused if upward else None
                if refused is not None:
                    self._refuse(refused)
                    break
                target.sendall(data)
        except (OSError, ValueError):
            pass  # a reset, a cut, teardown, or a stream this parser cannot follow
        finally:
            with contextlib.suppress(OSError):
                target.shutdown(socket.SHUT_WR)  # pass the end of this direction on
            with self.proxy.lock:
                self.ended += 1
                last = self.ended == 2
            if last:
                self.client.close()
                self.upstream.close()
                self.proxy.forget(self)

    def _refuse(self, request: ProxiedRequest) -> None:
        """Answer 403 AccessDenied as S3 does for a policy without the permission; then close."""
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            b"<Message>Access Denied</Message></Error>"
        )
        head = (
            "HTTP/1.1 403 Forbidden\r\nContent-Type: application/xml\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with contextlib.suppress(OSError):
            self.client.sendall(head.encode("ascii") + body)
        with self.proxy.lock:
            request.status = 403

    def _request_head(self, line: str, headers: dict[str, str]) -> int | str:
        method, target = line.split(" ")[:2]
        parts = urllib.parse.urlsplit(target)
        path = urllib.parse.unquote(parts.path).lstrip("/")
        bucket, _, key = path.partition("/")
        host = headers.get("host", "").split(":")[0]
        if host and host not in ("127.0.0.1", "localhost") and host.endswith(".127.0.0.1"):
            bucket, key = host[: -len(".127.0.0.1")], path  # virtual-hosted style
        request = ProxiedRequest(method, bucket, key, parts.query)
        self.proxy.requests.append(request)
        if self.proxy.refuses(request):
            self.refused = request
            return _body_length(headers)
        self.pending.append((request, method))
        self.current = request
        return _body_length(headers)

    def _request_body(self, n: int) -> None:
        if self.current is not None:
            self.current.body_bytes += n
            self.proxy.body_bytes += n

    def _response_head(self, line: str, headers: dict[str, str]) -> int | str:
        status = int(line.split(" ")[1])
        if 100 <= status < 200:
            return 0  # an interim answer (100 Continue): the final one follows
        request, method = self.pending.popleft() if self.pending else (None, "")
        if request is not None:
            request.status = status
        if method == "HEAD" or status in (204, 304):
            return 0
        if "content-length" not in headers and "transfer-encoding" not in headers:
            return -1
        return _body_length(headers)


class CountingProxy:
    """A TCP proxy on 127.0.0.1 that counts the HTTP requests a client sends to an S3 server.

    Each client connection gets its own upstream connection; bytes are forwarded as they come
    (keep-alive, ``Expect: 100-continue`` and chunked bodies pass through unchanged) while both
    directions are parsed to count requests, body bytes and answers. ``cut()`` resets every open
    connection and refuses new ones until ``restore()``: a client fails at once, as in an
    outage. Use as a context manager or call ``close()``; its threads end there.

    Args:
        upstream: ``http://host:port`` of the server (loopback only).
    """

    def __init__(self, upstream: str) -> None:
        parts = urllib.parse.urlsplit(upstream)
        if parts.hostname not in ("127.0.0.1", "localhost"):
            raise ValueError(f"upstream must be on loopback, got {upstream!r}")
        self._upstream = (parts.hostname, parts.port or 80)
        self.lock = threading.Lock()
        self.requests: list[ProxiedRequest] = []
        self.bytes_up = 0
        self.bytes_down = 0
        self.body_bytes = 0
        self._closed = threading.Event()
        self._connections: set[_Connection] = set()
        self._refuse_listing = False
        self._swap = threading.Lock()  # cut/restore/close swap the listening socket
        self._placeholder: socket.socket | None = None
        self._listener: socket.socket | None = self._listen(0)
        self.port: int = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    def __enter__(self) -> CountingProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what tests read

    def snapshot(self) -> list[ProxiedRequest]:
        """A copy of every request so far, in arrival order."""
        with self.lock:
            return [dataclasses.replace(r) for r in self.requests]

    def counts(self) -> collections.Counter[tuple[str, str]]:
        """Requests by ``(method, "bucket/key")``."""
        return collections.Counter((r.method, f"{r.bucket}/{r.key}") for r in self.snapshot())

    def writes(self) -> collections.Counter[str]:
        """Successful whole-object writes (PutObject, CompleteMultipartUpload) by "bucket/key"."""
        return collections.Counter(
            f"{r.bucket}/{r.key}" for r in self.snapshot() if r.writes_object and r.ok
        )

    def uploaded_bytes(self, prefix: str = "") -> int:
        """Request body bytes sent in PUT/POST requests to keys starting with "bucket/prefix"."""
        return sum(
            r.body_bytes
            for r in self.snapshot()
            if r.method in ("PUT", "POST") and f"{r.bucket}/{r.key}".startswith(prefix)
        )

    def reset(self) -> None:
        """Forget every count (open connections stay)."""
        with self.lock:
            self.requests.clear()
            self.bytes_up = self.bytes_down = self.body_bytes = 0

    # -- permissions

    def refuse_listing(self) -> None:
        """Answer every ListObjects/HeadBucket with 403 AccessDenied from now on.

        That is what S3 answers credentials whose policy grants ``s3:PutObject`` (and
        ``s3:GetObject``) but not ``s3:ListBucket``: a usual least-privilege policy.
        """
        self._refuse_listing = True

    def refuses(self, request: ProxiedRequest) -> bool:
        """Whether the proxy answers ``request`` itself with 403 instead of forwarding it."""
        listing = request.method in ("GET", "HEAD") and request.bucket and not request.key
        return bool(self._refuse_listing and listing and "location" not in request.query)

    # -- outages

    @property
    def is_cut(self) -> bool:
        """Whether ``cut()`` is in force."""
        return self._listener is None and not self._closed.is_set()

    def cut(self) -> None:
        """Refuse new connections and reset every open one, until ``restore()``.

        The port stays reserved (bound, not listening): a client's connect is refused at once.
        """
        with self._swap:
            if self._listener is not None:
                _close_listener(self._listener)
                self._listener = None
                self._placeholder = socket.socket()
                self._placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self._placeholder.bind(("127.0.0.1", self.port))
        with self.lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()

    def restore(self) -> None:
        """Accept connections again, on the same port."""
        with self._swap:
            if self._listener is None and not self._closed.is_set():
                if self._placeholder is not None:
                    self._placeholder.close()
                    self._placeholder = None
                self._listener = self._listen(self.port)

    def close(self) -> None:
        """Stop accepting, drop every connection and wait for the proxy's threads to end."""
        with self._swap:
            self._closed.set()
            for sock in (self._listener, self._placeholder):
                if sock is not None:
                    _close_listener(sock)
            self._listener = self._placeholder = None
        self._accepter.join(5)
        with self.lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        for connection in connections:
            for thread in connection.threads:
                thread.join(5)

    def forget(self, connection: _Connection) -> None:
        """Called by a connection's pump when its side ends."""
        with self.lock:
            self._connections.discard(connection)

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.create_server(("127.0.0.1", port), reuse_port=False)
        listener.settimeout(0.1)
        return listener

    def _accept(self) -> None:
        while not self._closed.is_set():
            listener = self._listener
            if listener is None:  # cut: nothing listens
                self._closed.wait(0.05)
                continue
            try:
                client, _ = listener.accept()
            except OSError:  # a timeout, or the listener closed by cut() or close()
                continue
            client.settimeout(None)
            try:
                upstream = socket.create_connection(self._upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            connection = _Connection(self, client, upstream)
            with self.lock:
                self._connections.add(connection)
            connection.start()
            if self._listener is None or self._closed.is_set():  # cut while connecting
                connection.close()


def _close_listener(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread waiting in accept()
    sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0): the peer sees "connection reset" at once."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00" * 2)
    sock.close()


# --------------------------------------------------------------------------- fixtures

_BUCKETS = itertools.count()


@pytest.fixture(scope="session", name="s3_server")
def s3_server_fixture() -> Iterator[str]:
    """A real S3 server (moto) on 127.0.0.1 for the whole session; yields its URL."""
    server, url = start_moto_server()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(name="s3")
def s3_fixture(s3_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Bucket]:
    """A fresh bucket behind a fresh CountingProxy; the environment points at the proxy.

    In this process, boto3, s3fs and fsspec find the endpoint and credentials through the
    environment alone (``AWS_ENDPOINT_URL``, ...); so do TensorBoard's gfile (also when an
    earlier test imported it) and tensorboardX. The environment is restored afterwards.
    """
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    name = f"tblog-{next(_BUCKETS)}-{uuid.uuid4().hex[:8]}"
    boto3_client(s3_server).create_bucket(Bucket=name)
    with CountingProxy(s3_server) as proxy:
        bucket = S3Bucket(proxy.url, s3_server, name, proxy)
        for key, value in bucket.env.items():
            monkeypatch.setenv(key, value)
        gfile = sys.modules.get("tensorboard.compat.tensorflow_stub.io.gfile")
        if gfile is not None and "s3" in gfile._REGISTERED_FILESYSTEMS:
            # Imported by an earlier test: it kept that test's S3_ENDPOINT. Point it here.
            tb_s3 = gfile._REGISTERED_FILESYSTEMS["s3"]
            monkeypatch.setattr(tb_s3, "_s3_endpoint", bucket.endpoint_url)
        clear_fsspec_caches()
        try:
            yield bucket
        finally:
            clear_fsspec_caches()
    _delete_bucket(s3_server, name)


def _delete_bucket(server_url: str, name: str) -> None:
    client = boto3_client(server_url)
    with contextlib.suppress(Exception):  # a test may have left anything: keep the session going
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=obj["Key"])
        client.delete_bucket(Bucket=name)


# --------------------------------------------------------------------------- TensorBoard

_READER = """
import dataclasses, json, sys
sys.path.insert(0, sys.argv[2])
from tbread import read_run
print(json.dumps(dataclasses.asdict(read_run(sys.argv[1]))))
"""


def read_s3_run(url: str, env: dict[str, str], timeout: float = 120) -> RunData:
    """Read a run from ``s3://...`` with TensorBoard's own loader, in a subprocess with ``env``.

    TensorBoard's ``gfile`` reads ``S3_ENDPOINT`` once, when imported: a subprocess sees
    this bucket's endpoint whatever an earlier test imported.

    Args:
        url: ``s3://bucket/run`` (a run directory: the event files directly in it).
        env: The bucket's ``env``.
        timeout: Seconds the reader may take.

    Returns:
        What ``tbread.read_run`` returns for a local run.
    """
    result = subprocess.run(
        [sys.executable, "-c", _READER, url, str(TESTS)],
        env=child_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"reading {url} failed:\n{result.stderr[-3000:]}")
    raw = json.loads(result.stdout)
    pairs = ("scalars", "texts", "histograms")
    fields = {k: {t: [tuple(p) for p in v] for t, v in raw[k].items()} for k in pairs}
    fields["images"] = {t: [tuple(p) for p in v] for t, v in raw["images"].items()}
    return RunData(plugins=raw["plugins"], wall_times=raw["wall_times"], **fields)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class TensorBoard:
    """A running ``tensorboard`` process and its HTTP API."""

    url: str
    log: Path

    def get(self, path: str, **query: str) -> Any:
        """GET ``path`` with ``query`` and decode its JSON."""
        full = self.url + path + ("?" + urllib.parse.urlencode(query) if query else "")
        with urllib.request.urlopen(full, timeout=30) as response:  # noqa: S310 - loopback only
            return json.loads(response.read())

    def wait(
        self, path: str, ready: Callable[[Any], bool], timeout: float = 60, **query: str
    ) -> Any:
        """Poll ``path`` until ``ready(answer)`` or ``timeout``; return the last answer."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.get(path, **query)
            if ready(answer) or time.monotonic() > deadline:
                return answer
            time.sleep(0.3)

    def scalars(self, run: str, tag: str, count: int) -> list[tuple[int, float]]:
        """``(step, value)`` of a scalar tag, once at least ``count`` points are loaded."""
        answer = self.wait(
            "/data/plugin/scalars/scalars", lambda a: len(a) >= count, run=run, tag=tag
        )
        return [(step, value) for _, step, value in answer]


@contextlib.contextmanager
def tensorboard_server(
    logdir: str, env: dict[str, str], timeout: float = 90
) -> Iterator[TensorBoard]:
    """Run the real ``tensorboard --logdir s3://...`` (Python loader) on 127.0.0.1 with ``env``.

    Args:
        logdir: ``s3://bucket/prefix``; runs are the directories with event files under it.
        env: The bucket's ``env`` (TensorBoard reads ``S3_ENDPOINT`` and the AWS credentials).
        timeout: Seconds to wait for the server to answer.

    Yields:
        The server, once ``/data/runs`` answers.
    """
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="tensorboard-s3-") as tmp:
        log = Path(tmp) / "tensorboard.log"
        with log.open("w") as output:
            server = subprocess.Popen(
                [
                    sys.executable, "-m", "tensorboard.main", "--logdir", logdir,
                    "--host", "127.0.0.1", "--port", str(port), "--load_fast=false",
                    "--reload_interval", "1",
                ],
                stdout=output, stderr=subprocess.STDOUT, cwd=tmp, env=child_env(env),
            )  # fmt: skip
            board = TensorBoard(f"http://127.0.0.1:{port}", log)
            try:
                deadline = time.monotonic() + timeout
                while True:
                    try:
                        board.get("/data/runs")
                        break
                    except OSError:
                        pass
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"tensorboard did not start:\n{log.read_text()[-3000:]}")
                    time.sleep(0.3)
                yield board
            finally:
                server.terminate()
                try:
                    server.wait(15)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait(5)


needs_remote = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ("fsspec", "moto", "s3fs", "boto3")),
    reason='needs fsspec, moto[server], s3fs and boto3: pip install -e ".[test]"',
)


@pytest.fixture(name="spool")
def spool_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spool directory of the test's own; a store that is down fails a request at once."""
    spool = tmp_path / "spool"
    monkeypatch.setenv("TBLOG_SPOOL", str(spool))
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # botocore's retries; the uploader has its own
    return spool
