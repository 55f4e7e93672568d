"""Sealing: the fast path for large blobs writes the same format as AES-GCM in one call."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mlark.repo.crypto import NONCE_SIZE, OVERHEAD, MasterKey, Sealer
from mlark.repo.errors import DamagedData

SIZES = [0, 1, 1000, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 17, 1024 * 1024 + 3]


def _sealed_in_place(sealer: Sealer, plain: bytes, aad: bytes) -> bytes:
    """Sealed into the middle of a larger buffer, whose bytes around the span must stay as they were."""
    buffer = bytearray(b"\xa5" * (len(plain) + OVERHEAD + 64))
    sealer.seal_into(memoryview(plain), aad, memoryview(buffer)[32 : 32 + len(plain) + OVERHEAD])
    assert buffer[:32] == b"\xa5" * 32 and buffer[-32:] == b"\xa5" * 32
    return bytes(buffer[32:-32])


@pytest.mark.parametrize("size", SIZES)
def test_sealed_in_place_is_aes_gcm(size: int) -> None:
    key = MasterKey.generate()
    sealer = Sealer(key)
    plain = os.urandom(size)
    sealed = _sealed_in_place(sealer, plain, b"aad")
    assert AESGCM(key.encryption_key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], b"aad") == plain
    assert sealer.open(sealed, b"aad") == plain
    assert bytes(sealer.open_buffer(memoryview(sealed), b"aad")) == plain
    # and what AES-GCM seals in one call opens too
    assert sealer.open(sealer.seal(plain, b"aad"), b"aad") == plain


@pytest.mark.parametrize("size", SIZES)
def test_tampering_is_detected(size: int) -> None:
    sealer = Sealer(MasterKey.generate())
    sealed = bytearray(_sealed_in_place(sealer, os.urandom(size), b"aad"))
    with pytest.raises(DamagedData):
        sealer.open(bytes(sealed), b"other aad")
    sealed[len(sealed) // 2] ^= 1
    with pytest.raises(DamagedData):
        sealer.open_buffer(bytes(sealed), b"aad")
    with pytest.raises(DamagedData):
        sealer.open(bytes(sealed[:-1]), b"aad")


def test_sealing_into_a_span_of_the_wrong_size_is_refused() -> None:
    sealer = Sealer(MasterKey.generate())
    with pytest.raises(ValueError, match="room"):
        sealer.seal_into(b"x" * 100_000, None, memoryview(bytearray(100_000 + OVERHEAD + 15)))
