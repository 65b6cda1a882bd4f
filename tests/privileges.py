"""Run code as root without root's permission overrides, so permission tests run in CI too."""

from __future__ import annotations

import ctypes
import os

_CAP_VERSION_3 = 0x20080522  # _LINUX_CAPABILITY_VERSION_3: two 32-bit words per set
#: CAP_DAC_OVERRIDE (1) and CAP_DAC_READ_SEARCH (2): what lets root write into a 0o500 directory.
_DAC_CAPS = (1 << 1) | (1 << 2)
_PR_CAPBSET_DROP = 24


class _Header(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _Data(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def drop_permission_overrides() -> None:
    """Give up root's file-permission overrides in this thread (and the threads it starts).

    Meant as a ``subprocess`` ``preexec_fn``: the child stays uid 0 (it may still read what root
    owns, such as the interpreter under /root) but a directory without write permission refuses
    it, as it refuses any user. A no-op for a user other than root.

    Raises:
        OSError: The kernel refused the change.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # out of the bounding set too: exec as root would grant them back
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")
    header = _Header(_CAP_VERSION_3, 0)
    data = (_Data * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget failed")
    keep = ~_DAC_CAPS & 0xFFFFFFFF
    data[0].effective &= keep
    data[0].permitted &= keep
    data[0].inheritable &= keep
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
