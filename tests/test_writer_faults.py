"""A sink fault of any kind costs the points of that write, never the writer thread."""

from __future__ import annotations

from pathlib import Path

import pytest
from tbread import read_run

import tblog
from tblog import _sink


@pytest.mark.parametrize("where", ["write", "check", "sync"])
def test_a_sink_fault_costs_its_points_and_the_writer_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    """A sink method raising once (not an OSError) drops at most that batch; later points land."""
    real = getattr(_sink.LocalFile, where)
    calls = {"n": 0}

    def once(self: _sink.LocalFile, *args: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            msg = "a sink bug"
            raise RuntimeError(msg)
        return real(self, *args)

    monkeypatch.setattr(_sink.LocalFile, where, once)
    writer = tblog.RunWriter(tmp_path / "run")
    writer.add_scalar("a", 0.0, 0)
    writer.flush(timeout=5)  # False where the fault was the flush's own sync
    for step in range(1, 50):
        writer.add_scalar("a", float(step), step)
    assert writer.flush()  # the writer still runs, and nothing was dropped since the last flush
    stats = writer.stats
    writer.close()
    shown = read_run(tmp_path / "run").steps("a")
    assert list(range(1, 50)) == shown[-49:]
    assert stats.written == len(shown)
    assert 50 == stats.written + stats.dropped
    assert "a sink bug" in capsys.readouterr().err
