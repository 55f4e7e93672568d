"""zstd compression that keeps data raw when it does not shrink.

zstandard compressor objects are not thread-safe (a shared one crashed the
interpreter), so each thread keeps its own, per level.
"""

from __future__ import annotations

import threading

import zstandard

from mlark.repo.errors import DamagedData

# Keep raw unless compression saves at least this fraction: decompressing
# barely-smaller data costs restore time for nothing.
MIN_SAVING = 0.03
DEFAULT_LEVEL = 3
# The engine's default: level 1 for every blob. Large binary blobs (tensors, columns) gain
# ~nothing from level 3 yet cost twice the CPU; small ones (notebooks, configs) came out 1.2%
# larger at level 1 on the benchmark's data set, for about 40% less compression time.
AUTO = -1000
_AUTO_LEVEL = 1

_local = threading.local()


def _compressor(level: int) -> zstandard.ZstdCompressor:
    cache: dict[int, zstandard.ZstdCompressor] = _local.__dict__.setdefault("compressors", {})
    if level not in cache:
        cache[level] = zstandard.ZstdCompressor(level=level)
    return cache[level]


def _decompressor() -> zstandard.ZstdDecompressor:
    if not hasattr(_local, "decompressor"):
        _local.decompressor = zstandard.ZstdDecompressor()
    return _local.decompressor  # type: ignore[no-any-return]


def compress(data: bytes | memoryview, level: int | None) -> tuple[bytes | memoryview, bool]:
    """(payload, compressed?) — level None means never compress."""
    if level is None or len(data) < 64:
        return data, False
    if level == AUTO:
        level = _AUTO_LEVEL
    out = _compressor(level).compress(data)
    if len(out) > len(data) * (1 - MIN_SAVING):
        return data, False
    return out, True


def decompress(payload: bytes | bytearray | memoryview, raw_length: int, what: str = "blob") -> bytes:
    try:
        data = _decompressor().decompress(payload, max_output_size=raw_length)
    except zstandard.ZstdError as exc:
        raise DamagedData(f"{what} does not decompress: {exc}") from exc
    if len(data) != raw_length:
        raise DamagedData(f"{what} decompressed to {len(data)} bytes, expected {raw_length}")
    return data
