"""tblog._location: one rule for URLs and event file names, shared by the writer and the reader."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tbread import read_run

import tblog
from tblog import _location

fsspec = pytest.importorskip("fsspec")

ODD_PATHS = [
    ("s3://bucket/run", True),
    ("gs://bucket", True),
    ("a_b://x", True),  # fsspec takes any protocol before "://"
    ("a+b.c-d://x", True),
    ("simplecache::s3://b/k", True),
    ("file:///data/run", False),
    ("FILE:///data/run", False),  # file:// in any case is a local path
    ("File://relative/run", False),
    ("c://x", False),  # one letter: a Windows drive, as fsspec reads it
    ("/data/run", False),
    ("runs/exp", False),
    ("C:\\runs\\exp", False),
]


@pytest.mark.parametrize(("path", "url"), ODD_PATHS)
def test_is_url_follows_fsspecs_protocol_parsing(path: str, url: bool) -> None:
    """A path is a URL exactly when fsspec finds a protocol in it other than file."""
    protocol, _ = fsspec.core.split_protocol(path)
    assert (protocol is not None and protocol.lower() != "file") == url
    assert url == _location.is_url(path)


def test_local_path_strips_file_in_any_case() -> None:
    """``file://`` and ``FILE://`` both name the local path after them; other paths stay."""
    assert "/data/run" == _location.local_path("file:///data/run")
    assert "/data/run" == _location.local_path("FILE:///data/run")
    assert "s3://b/k" == _location.local_path("s3://b/k")


def test_child_joins_urls_with_slashes_and_paths_with_the_os_separator() -> None:
    """A run below a URL root is joined with one ``/``; below a path, as the OS joins."""
    assert "s3://b/root/run" == _location.child("s3://b/root/", "run")
    assert os.path.join("root", "run") == _location.child("root", "run")
    assert os.path.join("FILE:", "x") == _location.child("FILE:", "x")


def test_a_file_url_in_upper_case_is_one_local_run_for_writer_and_reader(tmp_path: Path) -> None:
    """``FILE:///dir``: the writer writes ``dir`` and the reader reads it back, as TensorBoard."""
    url = f"FILE://{tmp_path}"
    writer = tblog.RunWriter(url)
    for step in range(3):
        writer.add_scalar("loss", step / 4, step)
    writer.close()
    assert [(s, s / 4) for s in range(3)] == read_run(tmp_path).scalars["loss"]
    frame = tblog.read_scalars(url)
    assert [0, 1, 2] == frame["step"].tolist()
    assert [s / 4 for s in range(3)] == frame["value"].tolist()


def test_an_unknown_protocol_is_a_url_for_writer_and_reader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``a_b://x`` is refused alike by the writer and the reader: no filesystem for a_b://."""
    monkeypatch.chdir(tmp_path)  # a local directory named "a_b:" would be created here otherwise
    with pytest.raises(ValueError, match="fsspec knows no filesystem for a_b://"):
        tblog.RunWriter("a_b://x")
    with pytest.raises(ValueError, match="fsspec knows no filesystem for a_b://"):
        tblog.read_scalars("a_b://x")
    assert [] == os.listdir(tmp_path)


@pytest.mark.parametrize(
    ("name", "event"),
    [
        ("events.out.tfevents.1700000000.host.1.1", True),
        ("events.out.tfevents.1700000000.host.1.1.v2", True),
        ("run.tfevents.x", True),  # TensorBoard reads any name with "tfevents"
        ("events.out.tfevents.1700000000.host.profile-empty", False),
        ("events.txt", False),
        ("target", False),
    ],
)
def test_is_event_file_is_tensorboards_rule(name: str, event: bool) -> None:
    """An event file name holds ``tfevents`` and is no profiler stub."""
    assert event == _location.is_event_file(name)


def test_new_event_file_names_sort_after_the_newest() -> None:
    """A new name sorts after the newest event file, even one stamped ahead of this clock."""
    ahead = "events.out.tfevents.9999999999.otherhost.1.1"
    names = ["events.out.tfevents.1.host.1.1", ahead, "events.out.tfevents.1.profile-empty"]
    newest = _location.newest_event_file(names)
    assert ahead == newest
    name = _location.event_file_name(newest, lambda _n: False, ".v2")
    assert name > ahead
    assert name.endswith(".v2")
    assert _location.is_event_file(name)
