"""The real TensorBoard server, end to end: its HTTP API on both loaders, and a screenshot."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tbread import read_run

import tblog

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        importlib.util.find_spec("tensorboard") is None, reason="needs the tensorboard package"
    ),
]

DOCS = Path(__file__).resolve().parent.parent / "docs"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def tensorboard(logdir: Path, *, load_fast: bool) -> Iterator[str]:
    """Start ``tensorboard`` on 127.0.0.1 and a free port; yield its base URL."""
    port = _free_port()
    log = logdir.parent / f"tensorboard-{port}.log"
    with log.open("w") as output:
        server = subprocess.Popen(
            [
                sys.executable, "-m", "tensorboard.main", "--logdir", logdir.name,
                "--host", "127.0.0.1", "--port", str(port),
                f"--load_fast={'true' if load_fast else 'false'}", "--reload_interval", "1",
            ],
            stdout=output, stderr=subprocess.STDOUT, cwd=logdir.parent,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    if _get(url, "/data/runs"):
                        break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"tensorboard did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.3)
            yield url
        finally:
            server.terminate()
            try:
                server.wait(15)
            except subprocess.TimeoutExpired:
                server.kill()


def _get(url: str, path: str, **query: str) -> Any:
    full = url + path + ("?" + urllib.parse.urlencode(query) if query else "")
    with urllib.request.urlopen(full, timeout=10) as response:  # noqa: S310 - loopback only
        return json.loads(response.read())


def _wait_for(url: str, path: str, ready: Any, **query: str) -> Any:
    """Poll an endpoint until ``ready(answer)`` (the server loads runs in the background)."""
    deadline = time.monotonic() + 60
    while True:
        answer = _get(url, path, **query)
        if ready(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def _scalars(url: str, run: str, tag: str, count: int) -> list[tuple[int, float]]:
    answer = _wait_for(
        url, "/data/plugin/scalars/scalars", lambda a: len(a) >= count, run=run, tag=tag
    )
    return [(step, value) for _, step, value in answer]


LOADERS = [
    pytest.param(False, id="python-loader"),
    pytest.param(
        True,
        id="rust-loader",
        marks=pytest.mark.skipif(
            importlib.util.find_spec("tensorboard_data_server") is None,
            reason="needs tensorboard-data-server",
        ),
    ),
]


@pytest.mark.parametrize("load_fast", LOADERS)
def test_tensorboard_serves_what_the_handler_wrote(tmp_path: Path, load_fast: bool) -> None:
    """/data/runs, scalar tags and values, and text through the real server's HTTP API."""
    runs = tmp_path / "runs"
    logger = logging.getLogger(f"e2e.{load_fast}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = tblog.TensorBoardHandler(runs / "exp1")
    logger.addHandler(handler)
    for step in range(100):
        logger.info("s", extra={"tag": "loss/train", "value": 1.0 / (step + 1), "step": step})
    logger.info("eval", extra={"metrics": {"acc": 0.5, "f1": 0.25}, "step": 99})
    logger.info("loaded __init__ with `ticks`")
    logger.warning("second line")
    handler.close()

    with tensorboard(runs, load_fast=load_fast) as url:
        assert ["exp1"] == _wait_for(url, "/data/runs", lambda a: a == ["exp1"])
        tags = _wait_for(url, "/data/plugin/scalars/tags", lambda a: len(a.get("exp1", {})) == 3)
        assert {"loss/train", "acc", "f1"} == set(tags["exp1"])
        loss = _scalars(url, "exp1", "loss/train", 100)
        assert list(range(100)) == [step for step, _ in loss]
        assert [pytest.approx(1.0 / (s + 1)) for s in range(100)] == [v for _, v in loss]
        assert [(99, 0.5)] == _scalars(url, "exp1", "acc", 1)
        text_tags = _wait_for(url, "/data/plugin/text/tags", lambda a: bool(a.get("exp1")))
        assert {"logs/INFO", "logs/WARNING"} == set(text_tags["exp1"])
        (entry,) = _get(url, "/data/plugin/text/text", run="exp1", tag="logs/INFO")
        # Rendered as a code block: no Markdown bold from __init__, backticks kept.
        assert "<pre><code>loaded __init__ with `ticks`" in entry["text"]
        assert "<strong>" not in entry["text"]


@pytest.mark.parametrize("load_fast", LOADERS)
def test_restore_with_purge_as_each_loader_shows_it(tmp_path: Path, load_fast: bool) -> None:
    """After restore(purge_step=10) both loaders show the new points from step 10 on."""
    runs = tmp_path / "runs"
    with tblog.setup("r", log_root=tmp_path / "logs", runs_root=runs, log_name="res",
                     console=False) as run:  # fmt: skip
        for step in range(20):
            run.scalar("loss", float(step), step)
            run.scalar("acc", float(step), step)
        run.info("first life")
    assert run.log_file is not None
    with tblog.restore(log_file=run.log_file, run_path=run.run_path, purge_step=10,
                       console=False) as again:  # fmt: skip
        for step in range(10, 15):
            again.scalar("loss", -float(step), step)
        again.info("second life")

    with tensorboard(runs, load_fast=load_fast) as url:
        loss = _scalars(url, "res", "loss", 15)
        assert [(s, float(s)) for s in range(10)] + [(s, -float(s)) for s in range(10, 15)] == (
            loss
        )
        acc = _scalars(url, "res", "acc", 10)
        if load_fast:
            # The Rust loader purges a tag only when that tag's step goes back.
            assert [(s, float(s)) for s in range(20)] == acc
        else:
            assert [(s, float(s)) for s in range(10)] == acc
        texts = _wait_for(
            url, "/data/plugin/text/text", lambda a: len(a) == 2, run="res", tag="logs/INFO"
        )
        assert [0, 1] == [entry["step"] for entry in texts]  # both lives' lines are kept


@pytest.mark.parametrize("load_fast", LOADERS)
def test_text_entries_each_loader_keeps_per_tag(tmp_path: Path, load_fast: bool) -> None:
    """The numbers README gives: 100 entries per text tag on the Rust loader, 10 on the Python one.

    Both keep a sample that includes the newest entry.
    """
    runs = tmp_path / "runs"
    logger = logging.getLogger(f"e2e.samples.{load_fast}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = tblog.TensorBoardHandler(runs / "exp1")
    logger.addHandler(handler)
    for n in range(150):
        logger.info("line %d", n)
    handler.close()
    assert list(range(150)) == read_run(runs / "exp1").steps("logs/INFO")  # all on disk

    kept = 100 if load_fast else 10
    with tensorboard(runs, load_fast=load_fast) as url:
        entries = _wait_for(
            url, "/data/plugin/text/text", lambda a: len(a) >= kept, run="exp1", tag="logs/INFO"
        )
    assert kept == len(entries)
    assert 149 == entries[-1]["step"]


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


#: TensorBoard's colour for the first run's curve (#ff7043).
CURVE_RGB = (255, 112, 67)
#: The scalars dashboard's chart pane in a 1400x820 window: right of the sidebar, below the header.
CHART_PANE = (340, 64, 1400, 820)
#: Drawn charts have more (measured on the demo: 5141 pixels, 0.84 white; a page without charts:
#: 0 and 0.00).
MIN_CURVE_PIXELS, MIN_WHITE_SHARE = 2000, 0.5


def _screenshot(url: str, target: Path, profile: Path) -> subprocess.CompletedProcess[str]:
    """Take the scalars dashboard, filtered on "train", with headless Chromium."""
    chromium = _chromium()
    assert chromium is not None
    page = f"{url}/?darkMode=false#scalars&_smoothingWeight=0&tagFilter=train"
    # Virtual time waits for pending fetches and renders before the picture is taken; --timeout
    # makes Chromium take it by itself well before subprocess's limit would kill it.
    return subprocess.run(
        [
            chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1400,820",
            "--virtual-time-budget=20000", "--timeout=90000", f"--screenshot={target}", page,
        ],
        capture_output=True, text=True, timeout=150, check=False,
    )  # fmt: skip


def _chart_pixels(png: Path) -> tuple[int, float]:
    """(pixels in the first run's curve colour, share of white card area) in the chart pane.

    A page whose charts were drawn has thousands of curve pixels on white cards; a page with only
    the header and sidebar (no data yet, no scalars) has none on a grey background.
    """
    from PIL import Image

    with Image.open(png) as image:
        pane = image.convert("RGB").crop(CHART_PANE)
    colors = pane.getcolors(maxcolors=1 << 20) or []
    curve = sum(
        n for n, rgb in colors if all(abs(c - t) < 40 for c, t in zip(rgb, CURVE_RGB, strict=True))
    )
    white = sum(n for n, rgb in colors if rgb == (255, 255, 255))
    return curve, white / (pane.width * pane.height)


@pytest.mark.skipif(_chromium() is None, reason="needs Debian's chromium package")
def test_screenshot_of_the_demo_run(tmp_path: Path) -> None:
    """Headless Chromium shows the demo's curves on chart cards in TensorBoard's scalars dashboard.

    With TBLOG_UPDATE_DOCS=1 the picture, once checked, is kept as docs/demo.png (shown in README).
    """
    from PIL import Image

    from tblog._demo import main as demo

    runs = tmp_path / "runs"
    demo(str(runs), 300)
    target = tmp_path / "demo.png"
    with tensorboard(runs, load_fast=False) as url:
        _wait_for(url, "/data/plugin/scalars/tags", lambda a: len(next(iter(a.values()), {})) >= 4)
        shot = _screenshot(url, target, tmp_path / "profile")
    assert target.exists(), shot.stderr[-2000:]
    with Image.open(target) as image:
        assert (1400, 820) == image.size
    curve, white = _chart_pixels(target)
    assert curve > MIN_CURVE_PIXELS, f"no curves drawn ({curve} curve pixels)"
    assert white > MIN_WHITE_SHARE, f"no chart cards ({white:.2f} of the pane is white)"
    if os.environ.get("TBLOG_UPDATE_DOCS"):
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(target, DOCS / "demo.png")


@pytest.mark.skipif(_chromium() is None, reason="needs Debian's chromium package")
def test_screenshot_check_rejects_a_page_without_charts(tmp_path: Path) -> None:
    """The screenshot test's pixel check fails on a real TensorBoard page that shows no scalars."""
    runs = tmp_path / "runs"
    logger = logging.getLogger("e2e.blank")
    logger.propagate = False
    handler = tblog.TensorBoardHandler(runs / "train")
    logger.addHandler(handler)
    logger.warning("only text in this run")
    handler.close()
    target = tmp_path / "blank.png"
    with tensorboard(runs, load_fast=False) as url:
        _wait_for(url, "/data/plugin/text/tags", lambda a: bool(a.get("train")))
        shot = _screenshot(url, target, tmp_path / "profile")
    assert target.exists(), shot.stderr[-2000:]
    curve, white = _chart_pixels(target)
    assert (False, False) == (curve > MIN_CURVE_PIXELS, white > MIN_WHITE_SHARE)
