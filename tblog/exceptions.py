"""Exceptions tblog raises from its public API (never from a logging call)."""

from __future__ import annotations


class TblogError(Exception):
    """Base class of every exception tblog defines."""


class WriterClosedError(TblogError, RuntimeError):
    """A method of a closed writer, handler or facade was called."""
