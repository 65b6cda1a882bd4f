"""SampleFilter selects tags as the reader does: by exact name first, then by glob."""

from __future__ import annotations

import logging
from pathlib import Path

from tbread import read_run

import tblog


def test_sample_filter_selects_a_tag_by_its_exact_name_even_with_glob_characters(
    tmp_path: Path,
) -> None:
    """tags=["acc[0]"] samples the tag named acc[0] (a glob alone would miss it), not acc1."""
    handler = tblog.TensorBoardHandler(tmp_path / "run")
    handler.addFilter(tblog.SampleFilter(every=5, tags=["acc[0]"]))
    log = logging.getLogger("sampled.exact")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    for step in range(10):
        log.info("", extra={"tag": "acc[0]", "value": float(step), "step": step})
        log.info("", extra={"tag": "acc1", "value": float(step), "step": step})
    handler.close()
    data = read_run(tmp_path / "run")
    assert [0, 5] == data.steps("acc[0]")
    assert list(range(10)) == data.steps("acc1")
