"""Memory settings for the bulk operations (backup, restore): the allocator, and the cyclic GC.

Backup and restore allocate and free buffers of 0.5–8 MiB all the time (chunks, compressed
and sealed blobs, decrypted and decompressed data). glibc serves blocks of that size with a
fresh mmap and gives them back with munmap, or trims them off the heap when freed, so every
buffer costs page faults and zeroing in the kernel: on a virtual machine this made copying
a fresh 1 MiB buffer ~5x slower than copying into memory the process already had, and was
a large part of the operations' system time. Raising the mmap and trim thresholds keeps
freed blocks in the process for the next buffer. Peak memory is unchanged in kind (the same
buffers are alive at the peak); only freed memory is returned to the kernel later.

Process-wide and permanent, so only commands that run these operations call it; a no-op
where the C library has no mallopt (musl, macOS) or the process is not on Linux.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys
import threading
from collections.abc import Iterator

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's upper bound for this setting on 64-bit systems
_TRIM_THRESHOLD = 128 * 1024 * 1024

_lock = threading.Lock()
_done = False


def keep_freed_buffers() -> bool:
    """Tune glibc's malloc for large short-lived buffers, once per process; True when applied."""
    global _done
    with _lock:
        if _done:
            return True
        if not sys.platform.startswith("linux"):
            return False
        try:
            mallopt = ctypes.CDLL(None).mallopt
        except (OSError, AttributeError):
            return False
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt.restype = ctypes.c_int
        _done = bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
        return _done


_paused = 0


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection inside (reference counting still frees everything acyclic).

    Backup and restore make tens of thousands of short-lived objects (nodes, futures, blob
    entries) that hold no cycles; the collector kept walking them: ~5% of a backup's CPU.
    """
    global _paused
    with _lock:
        _paused += 1
        if _paused == 1:
            was_enabled = gc.isenabled()
            gc.disable()
            _state["enable"] = was_enabled
    try:
        yield
    finally:
        with _lock:
            _paused -= 1
            if _paused == 0 and _state.get("enable"):
                gc.enable()


_state: dict[str, bool] = {}
