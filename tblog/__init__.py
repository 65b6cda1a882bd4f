"""tblog: TensorBoard as a first-class destination of the standard ``logging`` module.

``import tblog`` stays light: tensorboardX, numpy, structlog and torch are imported only when a
writer is opened or a feature needs them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from tblog._step import step
from tblog.exceptions import TblogError, WriterClosedError
from tblog.handler import TensorBoardHandler
from tblog.writer import RunWriter, WriterStats, get_writer

try:
    __version__ = version("tblog")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "RunWriter",
    "TblogError",
    "TensorBoardHandler",
    "WriterClosedError",
    "WriterStats",
    "__version__",
    "get_writer",
    "step",
]
