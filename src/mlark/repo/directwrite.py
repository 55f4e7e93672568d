"""Writing a restored file with O_DIRECT from blobs that arrive in any order.

Buffered writes cost this machine about 2.4 s of kernel CPU per GB (the copy into page-cache
pages, which the VM must first back with memory): more than decrypting and decompressing the
same bytes. O_DIRECT writes go from a buffer of ours straight to the disk, at 1.5 GB/s here
with almost no CPU, and leave the page cache to the applications the restore is for.

O_DIRECT wants aligned memory, offsets and lengths, while blobs have any length. So the blobs
of a file are copied into a ring buffer at their place, and the ring is written in aligned runs
as soon as a run is complete from the start:

    file   |== on disk ==|== complete, not yet written ==|  gap  |= complete =|
           0            base                          done_end
    ring   a window of the file from base, wrapping around; a blob that does not fit yet waits

A blob whose place is beyond the window waits until the window moves on. The window always has
room for the earliest missing blob, so the wait always ends (see room_needed).
"""

from __future__ import annotations

import errno
import mmap
import os
import threading

from mlark.repo.backend.local import ALIGN

# Written once this much is complete from the start of the window.
FLUSH_AT = 4 * 1024 * 1024
_RING = 32 * 1024 * 1024
_IOV_MAX = 1024


def _down(value: int) -> int:
    return value - value % ALIGN


def _up(value: int) -> int:
    return -(-value // ALIGN) * ALIGN


def room_needed(largest_blob: int) -> int:
    """Ring bytes that always fit the earliest missing blob: it starts less than FLUSH_AT + ALIGN
    after the window's start (a longer complete run would have been written)."""
    return _up(FLUSH_AT + ALIGN + largest_blob)


class Abandoned(Exception):
    """The file is being given up (another blob of it failed): nothing more is written."""


class DirectFileWriter:
    """Thread-safe: workers put() blobs of one file at their offsets, in any order, then one
    calls finish(). All-zero blobs stay holes (blocks wholly inside them are never written)."""

    def __init__(self, fd: int, size: int, largest_blob: int, fallback_fd: int, ring: int = _RING,
                 buffer: mmap.mmap | None = None) -> None:
        self._fd = fd
        self._fallback_fd = fallback_fd  # same file, without O_DIRECT: used where a direct write is refused
        self._size = size
        ring_size = min(_up(size) + ALIGN, max(_up(ring), room_needed(largest_blob)))
        # A buffer of an earlier file is reused when it is large enough: a fresh one faults in every page.
        self.buffer = buffer if buffer is not None and len(buffer) >= ring_size else mmap.mmap(-1, ring_size)
        self._ring = memoryview(self.buffer)[:ring_size]
        self._base = 0  # the file below this offset is written (or a hole); a multiple of ALIGN
        self._done_end = 0  # the file below this offset is complete (in the ring or written)
        self._complete: dict[int, int] = {}  # offset -> end of blobs complete beyond done_end
        self._holes: list[tuple[int, int]] = []
        self._cond = threading.Condition()
        self._writing = False
        self._abandoned = False
        self.direct = True  # False once the file system refused a direct write

    def put(self, offset: int, data: bytes | bytearray | memoryview, zero: bool = False,
            holes: list[tuple[int, int]] | None = None) -> None:
        """Place a blob's bytes at offset; writes whatever run this completes. `holes`: runs of
        zeros inside it (file offsets), left unwritten where they cover whole blocks."""
        end = offset + len(data)
        with self._cond:
            while end > self._base + len(self._ring) and not self._abandoned:
                self._cond.wait()
            if self._abandoned:
                raise Abandoned()
        self._copy(offset, data, zero)  # the window covers it and nobody else writes there
        with self._cond:
            if zero and data:
                self._holes.append((offset, end))
            self._holes.extend(holes or ())
            self._complete[offset] = end
            while self._done_end in self._complete:
                self._done_end = self._complete.pop(self._done_end)
            if self._writing:
                return  # the thread writing will write this run too
            self._writing = True
        self._write_ready()

    def finish(self) -> None:
        """Wait until everything put is written; raise if a write failed."""
        with self._cond:
            while self._writing and not self._abandoned:
                self._cond.wait()
            if self._abandoned:
                raise Abandoned()
            if self._done_end != self._size:
                raise RuntimeError(f"file incomplete: {self._done_end} of {self._size} bytes")

    def close(self) -> None:
        """Close the O_DIRECT descriptor (after finish() or abandon()); self.buffer may then serve another file."""
        os.close(self._fd)
        self._ring.release()

    def abandon(self) -> None:
        """Give the file up: waiting and later put() calls raise Abandoned."""
        with self._cond:
            self._abandoned = True
            self._cond.notify_all()

    def _copy(self, offset: int, data: bytes | bytearray | memoryview, zero: bool) -> None:
        ring = len(self._ring)
        start = offset % ring
        first = min(len(data), ring - start)
        if zero:  # edges of a hole share blocks with data, and those blocks are written
            self._ring[start : start + first] = bytes(first)
            self._ring[: len(data) - first] = bytes(len(data) - first)
            return
        view = memoryview(data)
        self._ring[start : start + first] = view[:first]
        self._ring[: len(data) - first] = view[first:]

    def _write_ready(self) -> None:
        """Write complete runs while there are any (this thread holds the writing flag)."""
        try:
            while True:
                with self._cond:
                    start, stop = self._base, self._ready_until()
                    if stop <= start or self._abandoned:
                        self._writing = False
                        self._cond.notify_all()
                        return
                    holes = list(self._holes)
                self._write_range(start, stop, holes)
                with self._cond:
                    self._base = stop
                    self._holes = [hole for hole in self._holes if hole[1] > stop]
                    self._cond.notify_all()
        except BaseException:
            with self._cond:
                self._writing = False
                self._abandoned = True
                self._cond.notify_all()
            raise

    def _ready_until(self) -> int:
        if self._done_end == self._size:
            return _up(self._size)  # the padding past the end is cut off by the caller's ftruncate
        ready = _down(self._done_end)
        return ready if ready - self._base >= FLUSH_AT else self._base

    def _write_range(self, start: int, stop: int, holes: list[tuple[int, int]]) -> None:
        for run_start, run_stop in _data_runs(start, stop, holes):
            self._pwrite(run_start, run_stop)

    def _pwrite(self, start: int, stop: int) -> None:
        ring = len(self._ring)
        view = self._ring
        position = start
        while position < stop:
            begin = position % ring
            # one or two pieces of the ring (it wraps around), each aligned
            pieces = [view[begin : begin + min(stop - position, ring - begin)]]
            if begin + len(pieces[0]) == ring and position + len(pieces[0]) < stop:
                pieces.append(view[: stop - position - len(pieces[0])])
            position += self._pwritev(pieces, position)

    def _pwritev(self, pieces: list[memoryview], offset: int) -> int:
        if self.direct:
            try:
                written = os.pwritev(self._fd, pieces, offset)
                if written > 0 and written % ALIGN == 0:
                    return written
                raise OSError(errno.EIO, f"short direct write ({written} bytes)")
            except OSError as exc:
                if exc.errno != errno.EINVAL:
                    raise
                self.direct = False  # opened, but refuses direct writes (alignment): use the page cache
        return os.pwritev(self._fallback_fd, pieces[:_IOV_MAX], offset)


def _data_runs(start: int, stop: int, holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """[start, stop) without the aligned blocks lying wholly inside a hole."""
    runs = []
    position = start
    for hole_start, hole_stop in _merged(holes):
        skip_from, skip_to = max(_up(hole_start), position), min(_down(hole_stop), stop)
        if skip_to - skip_from < ALIGN:
            continue
        if skip_from > position:
            runs.append((position, skip_from))
        position = skip_to
    if position < stop:
        runs.append((position, stop))
    return runs


def _merged(holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Holes sorted, with touching ones joined (consecutive zero blobs are one hole)."""
    merged: list[tuple[int, int]] = []
    for hole_start, hole_stop in sorted(holes):
        if merged and hole_start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hole_stop))
        else:
            merged.append((hole_start, hole_stop))
    return merged
