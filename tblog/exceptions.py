"""Exceptions tblog raises from its public API (never from a logging call)."""

from __future__ import annotations


class TblogError(Exception):
    """Base class of every exception tblog defines."""


class SetupError(TblogError, OSError):
    """``tblog.setup`` or ``tblog.restore`` cannot use a path it was given (the message names it).

    It is an ``OSError`` too, so existing ``except OSError`` handlers catch it.
    """


class WriterClosedError(TblogError, RuntimeError):
    """A method of a closed writer, handler or facade was called."""
