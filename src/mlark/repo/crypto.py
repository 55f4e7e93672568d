"""Keys and primitives: AES-256-GCM sealing, keyed BLAKE3 blob IDs, argon2id key wrapping.

The master secret never touches storage unencrypted. Every working key is
derived from it with BLAKE3's key-derivation mode, so the blob-ID key, the
encryption key and the chunker seed are independent of each other.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import blake3
from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mlark.repo.errors import DamagedData

NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = NONCE_SIZE + TAG_SIZE


def _derive(secret: bytes, purpose: str) -> bytes:
    return blake3.blake3(secret, derive_key_context=f"mlark repository 2026 {purpose}").digest()


@dataclass(frozen=True)
class MasterKey:
    secret: bytes

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(os.urandom(32))

    @property
    def encryption_key(self) -> bytes:
        return _derive(self.secret, "encryption")

    @property
    def id_key(self) -> bytes:
        return _derive(self.secret, "blob id")

    @property
    def chunker_seed(self) -> int:
        # Boundaries depend on the key, so chunk sizes do not fingerprint known files.
        return int.from_bytes(_derive(self.secret, "chunker seed")[:4], "little")


class Sealer:
    """Authenticated encryption of blobs and files with one key; safe to share across threads."""

    def __init__(self, key: MasterKey) -> None:
        self._aead = AESGCM(key.encryption_key)
        self._id_key = key.id_key

    def seal(self, plaintext: bytes, aad: bytes | None = None) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def seal_parts(self, plaintext: bytes | memoryview, aad: bytes | None = None) -> tuple[bytes, bytes]:
        """seal() as (nonce, ciphertext with tag), so a caller gathering blobs need not concatenate them."""
        nonce = os.urandom(NONCE_SIZE)
        return nonce, self._aead.encrypt(nonce, plaintext, aad)

    def open(self, sealed: bytes, aad: bytes | None = None, what: str = "data") -> bytes:
        if len(sealed) < OVERHEAD:
            raise DamagedData(f"{what} is truncated ({len(sealed)} bytes)")
        try:
            return self._aead.decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], aad)
        except InvalidTag as exc:
            raise DamagedData(f"{what} failed authentication (damaged or tampered)") from exc

    def blob_id(self, data: bytes | memoryview) -> bytes:
        return blake3.blake3(data, key=self._id_key).digest()


def storage_id(data: bytes) -> str:
    """Name of a stored file: the hash of its stored (encrypted) bytes, checkable without a key."""
    return blake3.blake3(data).hexdigest()


@dataclass(frozen=True)
class KdfParams:
    time_cost: int = 3
    memory_kib: int = 65536
    parallelism: int = 2


def derive_wrapping_key(password: bytes, salt: bytes, params: KdfParams) -> bytes:
    return hash_secret_raw(
        password, salt, time_cost=params.time_cost, memory_cost=params.memory_kib,
        parallelism=params.parallelism, hash_len=32, type=Type.ID,
    )


def wrap(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(NONCE_SIZE)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def unwrap(key: bytes, sealed: bytes, aad: bytes) -> bytes | None:
    """The plaintext, or None when the key does not fit (wrong password)."""
    try:
        return AESGCM(key).decrypt(sealed[:NONCE_SIZE], sealed[NONCE_SIZE:], aad)
    except (InvalidTag, ValueError):
        return None
