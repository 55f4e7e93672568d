"""Content-defined chunking (FastCDC) of files and byte streams, with bounded memory."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from pyfastcdc.cy import FastCDC

from mlark.repo.models import ChunkerParams

# Bytes of a file read at once by file_chunks.
_READ_BLOCK = 16 * 1024 * 1024


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

    def file_chunks(self, handle: BinaryIO, block: int = _READ_BLOCK) -> Iterator[bytes | memoryview]:
        """Chunks of an open regular file, the same as chunks() would cut, as views of the blocks read.

        The file is read (pread) in blocks, each a bytes object of its own filled by the kernel
        without the GIL, and cut in place: a chunk is a view of its block, which lives as long as a
        view of it does. Only a chunk spanning two blocks is copied: the end of one block and as
        much of the next as its cut needs. (Cutting a stream copied every chunk twice while holding
        the GIL; finding cuts in a scan buffer and reading each chunk again copied it twice in the
        kernel.)"""
        fd = handle.fileno()
        cdc = self._cdc()
        block = max(block, self._params.max_size)  # the chunk begun in one block always ends in the next
        offset, pending = 0, b""
        while True:
            data = _pread_all(fd, block, offset)
            offset += len(data)
            last = len(data) < block
            view, start = memoryview(data), 0
            if pending:
                head, start = self._spanning_chunk(cdc, pending, view)
                yield head
            pieces = list(cdc.cut_buf(view[start:])) if start < len(view) else []
            if not last and pieces:
                # it ends with the block, not at a boundary: cut again together with the next block
                pending = bytes(pieces.pop().data)
            for piece in pieces:
                yield piece.data
            if last:
                return

    def _spanning_chunk(self, cdc: FastCDC, pending: bytes, view: memoryview) -> tuple[memoryview, int]:
        """The chunk that begins with pending and goes on in view, and how much of view it takes.

        Cut points depend only on the bytes from the chunk's start, so a buffer of pending and the
        next bytes cuts where the whole stream does, as long as the cut lies inside it: the buffer
        grows (up to one largest chunk, or to the end of the file) until it does."""
        largest = self._params.max_size
        take = min(len(view), max(largest // 4, 1), largest - len(pending))
        while True:
            joined = pending + view[:take]
            length = next(iter(cdc.cut_buf(joined))).length
            if length < len(joined) or len(joined) >= largest or take == len(view):
                return memoryview(joined)[:length], length - len(pending)
            take = min(len(view), take * 2, largest - len(pending))

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


def _pread_all(fd: int, length: int, offset: int) -> bytes:
    """length bytes at offset, fewer only where the file now ends (it may shrink while being read)."""
    data = os.pread(fd, length, offset)
    while 0 < len(data) < length:
        more = os.pread(fd, length - len(data), offset + len(data))
        if not more:
            break
        data += more
    return data
