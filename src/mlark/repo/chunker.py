"""Content-defined chunking (FastCDC) of files and byte streams, with bounded memory."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from pyfastcdc.cy import FastCDC

from mlark.repo.models import ChunkerParams

# New bytes scanned for boundaries per read of a file (on top of up to one largest chunk carried over).
_SCAN_BLOCK = 8 * 1024 * 1024
_local = threading.local()


class Chunker:
    def __init__(self, params: ChunkerParams, seed: int) -> None:
        self._params = params
        self._seed = seed

    def _cdc(self) -> FastCDC:
        # FastCDC objects are not safe to share between threads; they are cheap to make.
        p = self._params
        return FastCDC(p.avg_size, min_size=p.min_size, max_size=p.max_size, seed=self._seed)

    def chunks(self, stream: BinaryIO) -> Iterator[bytes]:
        """Chunks of a readable binary stream, each an independent bytes object."""
        for chunk in self._cdc().cut_stream(stream):
            yield bytes(chunk.data)

    def file_chunks(self, handle: BinaryIO) -> Iterator[bytes]:
        """Chunks of an open regular file, the same as chunks() would cut, each read on its own.

        Boundaries are found in a scan buffer of the thread, read into without a copy; then each
        chunk is read again by offset (pread) into a bytes object of its own. The second read is a
        copy in the kernel without the GIL; cutting a stream instead copied every chunk twice while
        holding the GIL, which kept the other threads waiting.
        """
        fd = handle.fileno()
        cdc = self._cdc()
        view = _scan_buffer(_SCAN_BLOCK + self._params.max_size)
        filled, offset, end = 0, 0, False
        while not end:
            while filled < len(view):
                got = handle.readinto(view[filled:])
                if not got:
                    end = True
                    break
                filled += got
            if not filled:
                return
            cuts = [chunk.length for chunk in cdc.cut_buf(view[:filled])]
            # Unless the file ended, the last piece ends with the buffer, not at a boundary: it is
            # carried over and cut again together with what follows.
            carried = 0 if end else cuts.pop()
            for length in cuts:
                data = _pread_all(fd, length, offset)
                if data:
                    yield data
                offset += length
            view[:carried] = bytes(view[filled - carried : filled])
            filled = carried

    def chunks_of_iterable(self, parts: Iterable[bytes]) -> Iterator[bytes]:
        return self.chunks(IterableReader(parts))

    def chunks_of_segments(self, segments: Iterable[Iterable[bytes]]) -> Iterator[bytes]:
        """Chunks of a stream given as segments, each chunked on its own: no chunk spans two
        segments, so an unchanged segment gives the same chunks wherever it sits in the stream."""
        for segment in segments:
            yield from self.chunks(IterableReader(segment))


class IterableReader:
    """A read()-able view over an iterator of byte strings (e.g. a pg_dump pipe)."""

    def __init__(self, parts: Iterable[bytes]) -> None:
        self._parts = iter(parts)
        self._buffer = bytearray()

    def read(self, n: int = -1) -> bytes:
        # bytearray appends and front deletions are amortised O(1), so small parts stay cheap.
        while n < 0 or len(self._buffer) < n:
            part = next(self._parts, None)
            if part is None:
                break
            self._buffer += part
        size = len(self._buffer) if n < 0 else min(n, len(self._buffer))
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out


def _scan_buffer(size: int) -> memoryview:
    """A buffer of the thread, reused from file to file (a fresh one would be zeroed each time)."""
    buffer: bytearray | None = getattr(_local, "scan", None)
    if buffer is None or len(buffer) != size:
        buffer = _local.scan = bytearray(size)
    return memoryview(buffer)


def _pread_all(fd: int, length: int, offset: int) -> bytes:
    """length bytes at offset, fewer only where the file now ends (it may shrink while being read)."""
    data = os.pread(fd, length, offset)
    while 0 < len(data) < length:
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            break
        data += more
    return data
