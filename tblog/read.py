"""Read TensorBoard runs back as pandas DataFrames: scalars, text and histograms.

Every function takes a run directory, a root of runs (every run below it is read, nested ones
included) or one event file, locally or as an fsspec URL (``s3://bucket/runs``, ...), and shows
what TensorBoard shows: the ``run`` column names a run by its path relative to ``path`` with
``/`` separators (``.`` for ``path`` itself), purged points are left out, a torn record ends
its file. ``raw=True`` gives every point read, in file order, without purges. Rows come sorted
by run, then tag, then in the order the points were written. A file read only up to a corrupt
record is named in a :class:`DamagedEventFileWarning`.

pandas is imported only here, when a function is called (``pip install "tblog[pandas]"``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tblog._extras import pandas
from tblog._hparams_read import read_hparams as read_hparams  # noqa: PLC0414 - re-exported
from tblog.exceptions import DamagedEventFileWarning as DamagedEventFileWarning  # noqa: PLC0414

if TYPE_CHECKING:
    import pandas as pd

    from tblog import _read

PathArg = str | os.PathLike[str]
Tags = str | Sequence[str] | None


def _warn_damaged(reader: _read.RunReader, stacklevel: int) -> None:
    """Warn about each damaged file of a run, pointing at the caller ``stacklevel`` frames up."""
    for message in reader.damaged.values():
        warnings.warn(message, DamagedEventFileWarning, stacklevel=stacklevel + 1)


def read_scalars(path: PathArg, tags: Tags = None, *, raw: bool = False) -> pd.DataFrame:
    """Read the scalars of every run at ``path``.

    Scalars are ``simple_value`` points (tblog, tensorboardX, torch) and one-element number
    tensors of tags whose plugin is ``scalars`` (TensorFlow, Keras, ``tensorboard.summary``).

    Args:
        path: A run directory, a root of runs, an event file, or an fsspec URL of one.
        tags: Names or glob patterns (``"loss/*"``) of the tags to keep; None keeps all. A tag
            equal to one of them is kept even if its name has glob characters (``"acc[0]"``).
        raw: Every point in file order, without TensorBoard's purges.

    Returns:
        Columns ``run`` and ``tag`` (categorical), ``step`` (int64), ``wall_time`` and
        ``value`` (float64).

    Raises:
        ModuleNotFoundError: pandas is missing (or fsspec, for a URL); the message says which
            extra to install.
        FileNotFoundError: ``path`` does not exist.
        OSError: An event file cannot be read.
        ValueError: A record passes its CRC checks but is no TensorBoard event.

    Warns:
        DamagedEventFileWarning: A file was read only up to a corrupt record.
    """
    pd = pandas()
    import numpy as np

    found = _scalars_of_runs(path, tags, raw)
    all_tags = sorted({t for _, s in found for t in s.tags})
    code_type = _code_type(len(all_tags))
    columns = _scalar_columns(found, all_tags, code_type, raw)
    run_names = [name for name, _ in found]
    counts = [len(c) for c in columns["step"]]
    del found
    data = {
        "run": _categorical(pd, np.repeat(np.arange(len(run_names)), counts), run_names),
        "tag": _categorical(pd, _concat(np, columns.pop("tag"), code_type), all_tags),
        "step": _concat(np, columns.pop("step"), np.int64),
        "wall_time": _concat(np, columns.pop("wall_time"), np.float64),
        "value": _concat(np, columns.pop("value"), np.float64),
    }
    return pd.DataFrame(data, copy=False)


def _scalars_of_runs(path: PathArg, tags: Tags, raw: bool) -> list[tuple[str, _read.Scalars]]:
    """Each run's scalars of the kept tags, runs without any left out."""
    import numpy as np

    from tblog import _fetch, _read

    keep = _read.tag_filter(tags)
    found: list[tuple[str, _read.Scalars]] = []
    for name, reader in _fetch.read_runs(path, [_read.SCALARS]):
        _warn_damaged(reader, stacklevel=3)
        scalars = reader.scalars(raw=raw)
        del reader
        if tags is not None:
            allowed = np.array([keep(t) for t in scalars.tags] or [False], dtype=bool)
            mask = allowed[scalars.tag]
            if not mask.all():
                scalars.step, scalars.wall_time = scalars.step[mask], scalars.wall_time[mask]
                scalars.value, scalars.tag = scalars.value[mask], scalars.tag[mask]
        if len(scalars.step):
            found.append((name, scalars))
    return found


def _scalar_columns(
    found: list[tuple[str, _read.Scalars]], all_tags: list[str], code_type: Any, raw: bool
) -> dict[str, list[Any]]:
    """The runs' columns as lists of arrays, tags as codes into ``all_tags``, sorted by tag.

    Each run's arrays are released as they are taken (memory: a sweep's scalars are large).
    """
    import numpy as np

    rank = {t: i for i, t in enumerate(all_tags)}
    columns: dict[str, list[Any]] = {"tag": [], "step": [], "wall_time": [], "value": []}
    for _, scalars in found:
        codes = np.array([rank[t] for t in scalars.tags], dtype=code_type)[scalars.tag]
        scalars.tag = None  # memory: the codes replace the reader's tag ids
        if not raw:
            order = np.argsort(codes, kind="stable").astype(np.int32)
            if not (order[1:] > order[:-1]).all():
                codes = codes[order]
                scalars.step = scalars.step[order]
                scalars.wall_time = scalars.wall_time[order]
                scalars.value = scalars.value[order]
            del order
        columns["tag"].append(codes)
        columns["step"].append(scalars.step)
        columns["wall_time"].append(scalars.wall_time)
        columns["value"].append(scalars.value)
        scalars.step = scalars.wall_time = scalars.value = None
    return columns


def read_text(path: PathArg, tags: Tags = None, *, raw: bool = False) -> pd.DataFrame:
    """Read the text of every run at ``path`` (tags whose plugin is ``text``).

    tblog writes each log line as a text point in a Markdown code block; ``value`` holds the
    text as written. A string tensor of several elements gives one line per row, cells
    separated by tabs.

    Args:
        path: A run directory, a root of runs, an event file, or an fsspec URL of one.
        tags: Names or glob patterns of the tags to keep (as for ``read_scalars``); None keeps all.
        raw: Every point in file order, without TensorBoard's purges.

    Returns:
        Columns ``run`` and ``tag`` (categorical), ``step`` (int64), ``wall_time`` (float64),
        ``value`` (str).

    Raises:
        ModuleNotFoundError: pandas (or fsspec, for a URL) is missing.
        FileNotFoundError: ``path`` does not exist.
        OSError: An event file cannot be read.
        ValueError: A record passes its CRC checks but is no TensorBoard event.

    Warns:
        DamagedEventFileWarning: A file was read only up to a corrupt record.
    """
    pd = pandas()
    from tblog import _read

    rows = _rows(path, tags, raw, _read.TEXT)
    return _frame(pd, rows, ["value"], {"value": "str"})


def read_histograms(path: PathArg, tags: Tags = None, *, raw: bool = False) -> pd.DataFrame:
    """Read the histograms of every run at ``path``.

    Both layouts TensorBoard shows are read: ``histo`` values (tblog, tensorboardX, torch) and
    histogram tensors of rows (left edge, right edge, count) (TensorFlow 2). For the latter,
    ``sum`` and ``sum_squares`` are NaN.

    Args:
        path: A run directory, a root of runs, an event file, or an fsspec URL of one.
        tags: Names or glob patterns of the tags to keep (as for ``read_scalars``); None keeps all.
        raw: Every point in file order, without TensorBoard's purges.

    Returns:
        Columns ``run`` and ``tag`` (categorical), ``step`` (int64), ``wall_time``, ``min``,
        ``max``, ``num``, ``sum``, ``sum_squares`` (float64), and ``limits`` and ``counts``:
        per row a float64 array of the buckets' right edges and their counts.

    Raises:
        ModuleNotFoundError: pandas (or fsspec, for a URL) is missing.
        FileNotFoundError: ``path`` does not exist.
        OSError: An event file cannot be read.
        ValueError: A record passes its CRC checks but is no TensorBoard event.

    Warns:
        DamagedEventFileWarning: A file was read only up to a corrupt record.
    """
    pd = pandas()
    from tblog import _read

    rows = _rows(path, tags, raw, _read.HISTOGRAMS)
    numbers = ["min", "max", "num", "sum", "sum_squares"]
    dtypes = dict.fromkeys(numbers, "float64") | {"limits": "object", "counts": "object"}
    return _frame(pd, rows, [*numbers, "limits", "counts"], dtypes)


def _rows(path: PathArg, tags: Tags, raw: bool, kind: str) -> dict[str, list[Any]]:
    """The text or histogram points of every run at ``path`` as columns of lists."""
    from tblog import _fetch, _read

    keep = _read.tag_filter(tags)
    columns: dict[str, list[Any]] = {}
    for name, reader in _fetch.read_runs(path, [kind]):
        _warn_damaged(reader, stacklevel=3)
        points = reader.texts(raw=raw) if kind == _read.TEXT else reader.histograms(raw=raw)
        fields = {f: getattr(points, f) for f in points.__dataclass_fields__}
        chosen = [i for i, tag in enumerate(fields["tag"]) if keep(tag)]
        if not raw:
            chosen.sort(key=lambda i: fields["tag"][i])  # stable: written order within a tag
        columns.setdefault("run", []).extend([name] * len(chosen))
        for field, values in fields.items():
            columns.setdefault(field, []).extend(values[i] for i in chosen)
    return columns


def _frame(
    pd: Any, columns: dict[str, list[Any]], extra: list[str], dtypes: dict[str, str]
) -> pd.DataFrame:
    import numpy as np

    runs = columns.get("run", [])
    tags = columns.get("tag", [])
    data = {
        "run": pd.Categorical(runs, categories=sorted(set(runs))),
        "tag": pd.Categorical(tags, categories=sorted(set(tags))),
        "step": np.array(columns.get("step", []), dtype=np.int64),
        "wall_time": np.array(columns.get("wall_time", []), dtype=np.float64),
    }
    for name in extra:
        values = columns.get(name, [])
        if dtypes[name] == "object":
            series = np.empty(len(values), dtype=object)
            series[:] = values
            data[name] = series
        else:
            data[name] = pd.Series(values, dtype=dtypes[name])
    return pd.DataFrame(data)


def _code_type(count: int) -> Any:
    import numpy as np

    return np.int8 if count < 128 else np.int16 if count < 32768 else np.int32


def _concat(np: Any, parts: list[Any], dtype: Any) -> Any:
    if not parts:
        return np.empty(0, dtype=dtype)
    if len(parts) == 1:
        return parts[0].astype(dtype, copy=False)
    return np.concatenate(parts).astype(dtype, copy=False)


def _categorical(pd: Any, codes: Any, names: list[str]) -> Any:
    return pd.Categorical.from_codes(codes.astype(_code_type(len(names)), copy=False), names)
