"""Pack files: sealed blobs back to back, then a sealed header listing them, then its length.

    pack = blob_1 || ... || blob_n || sealed(header JSON) || uint32_le(len(sealed header))

The header makes every pack self-describing, so indexes can be rebuilt from packs alone.
"""

from __future__ import annotations

import struct

import blake3

from mlark.repo.backend.base import Backend, Kind
from mlark.repo.crypto import Sealer
from mlark.repo.errors import DamagedData
from mlark.repo.models import BlobEntry, BlobType, PackHeader

HEADER_AAD = b"mlark pack header v1"
_LEN = struct.Struct("<I")
_TAIL_GUESS = 64 * 1024


class PackBuilder:
    """Collects sealed blobs of one type until the pack is big enough to write.

    A sealed blob is kept as its parts (nonce, ciphertext[, tag]): the pack is never
    concatenated in memory, but written part by part (see save_parts).
    """

    def __init__(self, blob_type: BlobType) -> None:
        self.blob_type = blob_type
        self.parts: list[bytes | bytearray] = []
        self.entries: list[BlobEntry] = []
        self.size = 0

    def add(self, blob_id: str, sealed: bytes | tuple[bytes | bytearray, ...], raw_length: int, compressed: bool) -> None:
        parts = (sealed,) if isinstance(sealed, bytes) else sealed
        length = sum(len(part) for part in parts)
        self.entries.append(BlobEntry(
            id=blob_id, type=self.blob_type, offset=self.size, length=length,
            raw_length=raw_length, compressed=compressed,
        ))
        self.parts.extend(parts)
        self.size += length

    def finish(self, sealer: Sealer) -> tuple[str, list[bytes]]:
        """The pack's storage ID and its bytes, as parts to write one after another."""
        header = sealer.seal(PackHeader(blobs=self.entries).model_dump_json().encode(), HEADER_AAD)
        parts = [*self.parts, header, _LEN.pack(len(header))]
        self.parts = []
        hasher = blake3.blake3()
        for part in parts:
            hasher.update(part)
        return hasher.hexdigest(), parts


def save_parts(backend: Backend, kind: Kind, name: str, parts: list[bytes]) -> None:
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
