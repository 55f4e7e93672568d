"""Content-defined chunking (FastCDC) of files and byte streams, with bounded memory."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from pyfastcdc.cy import FastCDC

from mlark.repo.models import ChunkerParams


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
