"""Sealing: the fast path for large blobs writes the same format as AES-GCM in one call."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mlark.repo.crypto import NONCE_SIZE, MasterKey, Sealer
from mlark.repo.errors import DamagedData

SIZES = [0, 1, 1000, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 17, 1024 * 1024 + 3]


@pytest.mark.parametrize("size", SIZES)
def test_sealed_parts_are_aes_gcm(size: int) -> None:
    key = MasterKey.generate()
    sealer = Sealer(key)
    plain = os.urandom(size)
    sealed = b"".join(bytes(part) for part in sealer.seal_parts(memoryview(plain), b"aad"))
    assert AESGCM(key.encryption_key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], b"aad") == plain
    assert sealer.open(sealed, b"aad") == plain
    assert bytes(sealer.open_buffer(memoryview(sealed), b"aad")) == plain
    # and what AES-GCM seals in one call opens too
    assert sealer.open(sealer.seal(plain, b"aad"), b"aad") == plain


@pytest.mark.parametrize("size", SIZES)
def test_tampering_is_detected(size: int) -> None:
    sealer = Sealer(MasterKey.generate())
    sealed = bytearray(b"".join(bytes(part) for part in sealer.seal_parts(os.urandom(size), b"aad")))
    with pytest.raises(DamagedData):
        sealer.open(bytes(sealed), b"other aad")
    sealed[len(sealed) // 2] ^= 1
    with pytest.raises(DamagedData):
        sealer.open_buffer(bytes(sealed), b"aad")
    with pytest.raises(DamagedData):
        sealer.open(bytes(sealed[:-1]), b"aad")
