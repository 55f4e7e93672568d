"""Pack files: sealed blobs back to back, then a sealed header listing them, then its length.

    pack = blob_1 || ... || blob_n || sealed(header JSON) || uint32_le(len(sealed header))

The header makes every pack self-describing, so indexes can be rebuilt from packs alone.
"""

from __future__ import annotations

import struct

from mlark.repo.backend.base import Backend, Kind
from mlark.repo.crypto import Sealer, storage_id
from mlark.repo.errors import DamagedData
from mlark.repo.models import BlobEntry, BlobType, PackHeader

HEADER_AAD = b"mlark pack header v1"
_LEN = struct.Struct("<I")
_TAIL_GUESS = 64 * 1024


class PackBuilder:
    """Collects sealed blobs of one type until the pack is big enough to write."""

    def __init__(self, blob_type: BlobType) -> None:
        self.blob_type = blob_type
        self.parts: list[bytes] = []
        self.entries: list[BlobEntry] = []
        self.size = 0

    def add(self, blob_id: str, sealed: bytes, raw_length: int, compressed: bool) -> None:
        self.entries.append(BlobEntry(
            id=blob_id, type=self.blob_type, offset=self.size, length=len(sealed),
            raw_length=raw_length, compressed=compressed,
        ))
        self.parts.append(sealed)
        self.size += len(sealed)

    def finish(self, sealer: Sealer) -> tuple[str, bytes]:
        """The pack's storage ID and bytes."""
        header = sealer.seal(PackHeader(blobs=self.entries).model_dump_json().encode(), HEADER_AAD)
        data = b"".join([*self.parts, header, _LEN.pack(len(header))])
        self.parts = []
        return storage_id(data), data


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
