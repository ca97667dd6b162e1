"""Keep large frame buffers in the heap, so the per-frame path does not page-fault.

glibc serves allocations over its mmap threshold (128 KiB at first) with fresh
mmap()ed pages and unmaps them on free, so every multi-megabyte temporary of
every frame costs a page fault per 4 KiB: ~1 ms of CPU per 1080p frame here,
and most of the p95. Raising the threshold to its maximum (32 MiB, a 4K BGR
frame is 25 MiB) and the trim threshold keeps freed buffers for the next frame.
RSS stays at its high-water mark, which a long-running daemon reaches anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD_MAX = 32 * 1024 * 1024


def keep_large_buffers() -> None:
    """Tune glibc's malloc for the frame loop; elsewhere than glibc nothing changes (logged at debug level)."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.debug("no glibc mallopt: malloc thresholds left as they are")
        return
    ok = mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX) == 1 and mallopt(_M_TRIM_THRESHOLD, 4 * _MMAP_THRESHOLD_MAX) == 1
    log.debug("malloc thresholds raised: %s", ok)
