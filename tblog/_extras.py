"""Import an optional package, or say which ``tblog[extra]`` installs it."""

from __future__ import annotations

from typing import Any


def pandas() -> Any:
    """The pandas module.

    Raises:
        ModuleNotFoundError: pandas is not installed; the message names ``tblog[pandas]``.
    """
    try:
        import pandas as pd
    except ModuleNotFoundError as exc:
        msg = 'reading runs into DataFrames needs pandas: pip install "tblog[pandas]"'
        raise ModuleNotFoundError(msg, name="pandas") from exc
    return pd
