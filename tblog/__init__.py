"""tblog: TensorBoard as a first-class destination of the standard ``logging`` module.

``import tblog`` stays light: tensorboardX, numpy, structlog and torch are imported only when a
writer is opened or a feature needs them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from tblog._stats import WriterStats
from tblog._step import step
from tblog.adapter import TensorBoardAdapter, adapter
from tblog.exceptions import SetupError, TblogError, WriterClosedError
from tblog.filters import SampleFilter
from tblog.handler import QueueHandler, TensorBoardHandler
from tblog.processors import TensorBoardProcessor
from tblog.read import read_histograms, read_hparams, read_scalars, read_text
from tblog.root import (
    RootLogger,
    close,
    flush,
    get_default_log_name,
    get_root_logger,
    is_active,
    log_to_queue,
    restore,
    setup,
)
from tblog.summary_writer import SummaryWriter
from tblog.writer import RunWriter, get_writer

try:
    __version__ = version("tblog")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "QueueHandler",
    "RootLogger",
    "RunWriter",
    "SampleFilter",
    "SetupError",
    "SummaryWriter",
    "TblogError",
    "TensorBoardAdapter",
    "TensorBoardHandler",
    "TensorBoardProcessor",
    "WriterClosedError",
    "WriterStats",
    "__version__",
    "adapter",
    "close",
    "flush",
    "get_default_log_name",
    "get_root_logger",
    "get_writer",
    "is_active",
    "log_to_queue",
    "read_histograms",
    "read_hparams",
    "read_scalars",
    "read_text",
    "restore",
    "setup",
    "step",
]
