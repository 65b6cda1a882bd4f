"""Exceptions tblog raises from its public API (never from a logging call), and its warnings."""

from __future__ import annotations


class TblogError(Exception):
    """Base class of every exception tblog defines."""


class SetupError(TblogError, OSError):
    """``tblog.setup`` or ``tblog.restore`` cannot use a path it was given (the message names it).

    It is an ``OSError`` too, so existing ``except OSError`` handlers catch it.
    """


class WriterClosedError(TblogError, RuntimeError):
    """A method of a closed writer, handler or facade was called."""


class DamagedEventFileWarning(UserWarning):
    """An event file was read only up to a corrupt record (a wrong length or data CRC).

    The message names the file and the byte where reading stopped. TensorBoard's loaders stop
    there too and show the points before it; the run's other files are read. Turn it into an
    error with ``warnings.simplefilter("error", DamagedEventFileWarning)``.
    """
