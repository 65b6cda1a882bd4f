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


def require(module: str, extra: str, feature: str) -> None:
    """Import ``module`` or raise ModuleNotFoundError naming the extra that installs it."""
    import importlib

    package = module.split(".", maxsplit=1)[0]
    try:
        importlib.import_module(package)  # a cached submodule would hide a missing package
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        msg = f'{feature} need {package}: pip install "tblog[{extra}]"'
        raise ModuleNotFoundError(msg, name=package) from exc
