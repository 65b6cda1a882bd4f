"""Which tags a list of names or glob patterns selects: one rule for the reader and the filters."""

from __future__ import annotations

import fnmatch
from collections.abc import Collection


def tag_matches(tag: str, patterns: Collection[str]) -> bool:
    """Whether ``tag`` equals one of ``patterns`` or matches one as an ``fnmatch`` glob.

    An exact name wins first, so ``"acc[0]"`` selects the tag named ``acc[0]`` (as a glob alone it
    would select only ``acc0``).
    """
    return tag in patterns or any(fnmatch.fnmatchcase(tag, p) for p in patterns)
