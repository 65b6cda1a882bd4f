"""The reader's entry points under their former import path; ``tblog._read`` is their home."""

from tblog._read import *  # noqa: F403 - every name of tblog._read's __all__, unchanged
from tblog._record import FOOTER, HEADER

_HEAD = HEADER  # the record framing, for the facade's resume until it uses tblog._record
_U32 = FOOTER
