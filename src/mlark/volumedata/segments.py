"""Split a tar stream at its members, so the repository chunks every file on its own.

A volume travels as one tar stream. Chunked as a whole, a file added in the middle of the
archive shifts everything after it, and content-defined chunking needs a chunk or two (up
to a few MiB) to fall back into step. Cut at member boundaries, every unchanged file gives
the same chunks as before, and an increment costs about what changed.

The segments only guide the chunker: their concatenation is always exactly the input. A
header this reader does not understand (bad checksum, unknown size) ends the splitting, and
the rest of the stream becomes one segment; nothing is lost, only dedup gets coarser.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

BLOCK = 512
_PIECE = 1 << 20
# Headers that describe the member after them: kept in the same segment as that member.
_PREFIX_TYPES = {b"L", b"K", b"x", b"g"}
_PAX_LIMIT = 1 << 20  # a larger pax header is not parsed, only passed on


class _Reader:
    """Exact-size reads over an iterator of byte strings."""

    def __init__(self, parts: Iterable[bytes]) -> None:
        self._parts = iter(parts)
        self._buffer = bytearray()

    def read(self, n: int) -> bytes:
        while len(self._buffer) < n:
            part = next(self._parts, None)
            if part is None:
                break
            self._buffer += part
        out = bytes(self._buffer[:n])
        del self._buffer[:n]
        return out

    def rest(self) -> Iterator[bytes]:
        if self._buffer:
            yield bytes(self._buffer)
            self._buffer.clear()
        yield from self._parts


def tar_segments(parts: Iterable[bytes]) -> Iterator[Iterator[bytes]]:
    """Segments of a tar stream: each member with its own headers, then the trailer."""
    reader = _Reader(parts)
    while True:
        head, size = _member_head(reader)
        if size is None:  # end of archive, or not a header we understand: the rest as it is
            yield _chain([head], reader.rest())
            return
        segment = _chain([head], _exactly(reader, _padded(size)))
        yield segment
        for _ in segment:  # whatever the consumer left of it, so the next header is in place
            pass


def _member_head(reader: _Reader) -> tuple[bytes, int | None]:
    """The headers of the next member and the size of its data; None when the member cannot be
    delimited (then the returned bytes are all that was read)."""
    read = bytearray()
    pax_size: int | None = None
    while True:
        block = reader.read(BLOCK)
        read += block
        if len(block) < BLOCK or not any(block) or not _checksum_ok(block):
            return bytes(read), None
        size = _size(block)
        if size is None:
            return bytes(read), None
        kind = block[156:157]
        if kind == b"S" and not _sparse_extensions(reader, block, read):
            return bytes(read), None
        if kind not in _PREFIX_TYPES:
            return bytes(read), pax_size if pax_size is not None else size
        if size > _PAX_LIMIT:
            return bytes(read), None
        data = reader.read(_padded(size))
        read += data
        if len(data) < _padded(size):
            return bytes(read), None
        if kind == b"x":
            pax_size = _pax_size(data[:size], pax_size)


def _sparse_extensions(reader: _Reader, header: bytes, read: bytearray) -> bool:
    """Old GNU sparse headers continue in extension blocks while their flag byte is set; False
    when the stream ends inside them."""
    extended = header[482]
    while extended:
        block = reader.read(BLOCK)
        read += block
        if len(block) < BLOCK:
            return False
        extended = block[504]
    return True


def _checksum_ok(block: bytes) -> bool:
    field = block[148:156].replace(b"\0", b" ").strip()
    try:
        stored = int(field, 8)
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 8 * 32 + sum(block[156:])
    return stored == unsigned


def _size(block: bytes) -> int | None:
    field = block[124:136]
    if field[0] & 0x80:  # GNU base-256 for sizes beyond 8 GiB
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.replace(b"\0", b" ").strip()
    try:
        return int(text, 8) if text else 0
    except ValueError:
        return None


def _pax_size(records: bytes, current: int | None) -> int | None:
    """The `size` record of a pax extended header, which overrides the next header's field."""
    for line in records.split(b"\n"):
        _, _, record = line.partition(b" ")
        key, _, value = record.partition(b"=")
        if key == b"size":
            try:
                return int(value)
            except ValueError:
                return current
    return current


def _padded(size: int) -> int:
    return -(-size // BLOCK) * BLOCK


def _exactly(reader: _Reader, size: int) -> Iterator[bytes]:
    while size > 0:
        piece = reader.read(min(size, _PIECE))
        if not piece:
            return
        size -= len(piece)
        yield piece


def _chain(first: list[bytes], rest: Iterable[bytes]) -> Iterator[bytes]:
    yield from (part for part in first if part)
    yield from rest
