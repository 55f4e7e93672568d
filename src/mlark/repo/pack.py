"""Pack files: sealed blobs back to back, then a sealed header listing them, then its length.

    pack = blob_1 || ... || blob_n || sealed(header JSON) || uint32_le(len(sealed header))

The header makes every pack self-describing, so indexes can be rebuilt from packs alone.
"""

from __future__ import annotations

import mmap
import struct

import blake3

from mlark.repo.backend.base import Backend, Kind
from mlark.repo.crypto import OVERHEAD, Sealer
from mlark.repo.errors import DamagedData
from mlark.repo.models import BlobEntry, BlobType, PackHeader

HEADER_AAD = b"mlark pack header v1"
_LEN = struct.Struct("<I")
_TAIL_GUESS = 64 * 1024
# Room kept for a pack's header in its buffer: enough for ~6,000 blobs; packs of more (tiny) blobs
# get their header written as a second part.
_HEADER_ROOM = 1024 * 1024


class PackBuffer:
    """A pack being filled in place: each blob is sealed straight into its reserved span of one
    page-aligned buffer, which is then written as it is.

    Reserving is cheap and done under the saver's lock; sealing (the costly part, which releases
    the GIL) runs outside it, in parallel, each thread in its own span. The buffer is written only
    once it is closed and no blob is still being sealed into it.
    """

    def __init__(self, blob_type: BlobType, buffer: mmap.mmap) -> None:
        self.blob_type = blob_type
        self.buffer = buffer
        self.entries: list[BlobEntry] = []
        self.size = 0
        self.sealing = 0  # reserved spans not yet filled
        self.closed = False
        self.broken = False  # a span could not be filled: the pack must not be written

    def fits(self, length: int) -> bool:
        return self.size + length <= len(self.buffer)

    def reserve(self, blob_id: str, length: int, raw_length: int, compressed: bool) -> memoryview:
        """The span for a sealed blob of length bytes (see Sealer.seal_into); the caller fills it, then calls sealed()."""
        offset = self.size
        self.entries.append(BlobEntry(
            id=blob_id, type=self.blob_type, offset=offset, length=length, raw_length=raw_length, compressed=compressed))
        self.size += length
        self.sealing += 1
        return memoryview(self.buffer)[offset : offset + length]

    def sealed(self) -> bool:
        """One reserved span is filled; whether the pack is now ready to write."""
        self.sealing -= 1
        return self.closed and self.sealing == 0

    def close(self) -> bool:
        """No more blobs; whether the pack is ready to write (nothing still being sealed)."""
        self.closed = True
        return self.sealing == 0

    def finish(self, sealer: Sealer) -> tuple[str, list[bytes | memoryview], int]:
        """The pack's storage ID, its bytes as parts, and its length. With the header in the
        buffer (the usual case) the only part is a view of the buffer from its start."""
        header = sealer.seal(PackHeader(blobs=self.entries).model_dump_json().encode(), HEADER_AAD)
        tail = header + _LEN.pack(len(header))
        body = memoryview(self.buffer)
        if self.size + len(tail) <= len(self.buffer):
            body[self.size : self.size + len(tail)] = tail
            parts: list[bytes | memoryview] = [body[: self.size + len(tail)]]
        else:  # a pack of many tiny blobs: the header does not fit the room left
            parts = [body[: self.size], tail]
        hasher = blake3.blake3()
        for part in parts:
            hasher.update(part)
        return hasher.hexdigest(), parts, self.size + len(tail)


def pack_capacity(pack_size: int, largest_blob: int) -> int:
    """Bytes of a pack buffer: a full pack plus one largest blob and room for the header, whole pages."""
    room = pack_size + largest_blob + OVERHEAD + _HEADER_ROOM
    return -(-room // mmap.PAGESIZE) * mmap.PAGESIZE


def save_parts(backend: Backend, kind: Kind, name: str, parts: list[bytes | memoryview]) -> None:
    """Store an object given as parts: written without joining them where the backend can."""
    direct = getattr(backend, "save_parts", None)
    if direct is not None:
        direct(kind, name, parts)
    else:
        backend.save(kind, name, b"".join(parts))


def parse_header(tail: bytes, pack_size: int, sealer: Sealer, pack_id: str) -> PackHeader | int:
    """The header from the last bytes of a pack, or how many tail bytes are needed."""
    if len(tail) < _LEN.size:
        raise DamagedData(f"pack {pack_id} is too short to hold a header")
    (header_length,) = _LEN.unpack(tail[-_LEN.size :])
    needed = header_length + _LEN.size
    if needed > pack_size:
        raise DamagedData(f"pack {pack_id} declares a header longer than the pack")
    if needed > len(tail):
        return needed
    sealed = tail[-needed : -_LEN.size]
    plain = sealer.open(sealed, HEADER_AAD, what=f"header of pack {pack_id}")
    try:
        return PackHeader.model_validate_json(plain)
    except ValueError as exc:
        raise DamagedData(f"header of pack {pack_id} does not parse: {exc}") from exc


def read_header(backend: Backend, pack_id: str, pack_size: int, sealer: Sealer) -> PackHeader:
    """Fetch a pack's header with one ranged read in the usual case."""
    want = min(pack_size, _TAIL_GUESS)
    result = parse_header(backend.load(Kind.data, pack_id, -want), pack_size, sealer, pack_id)
    if isinstance(result, int):
        result = parse_header(backend.load(Kind.data, pack_id, -result), pack_size, sealer, pack_id)
    if isinstance(result, int):
        raise DamagedData(f"pack {pack_id} header could not be read")
    return result


def header_from_pack(data: bytes, sealer: Sealer, pack_id: str) -> PackHeader:
    result = parse_header(data, len(data), sealer, pack_id)
    if isinstance(result, int):
        raise DamagedData(f"pack {pack_id} header could not be read")
    return result
