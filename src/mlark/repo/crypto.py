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
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mlark.repo.errors import DamagedData

NONCE_SIZE = 12
TAG_SIZE = 16
OVERHEAD = NONCE_SIZE + TAG_SIZE
# From this size on, blobs are sealed and opened with the streaming GCM interface into a buffer
# made for them (update_into): same bytes as AESGCM, but AESGCM.encrypt/decrypt ran at ~1.3 GB/s
# here and held the GIL, update_into at ~7 GB/s, releasing it. Below it, AESGCM's single call is cheaper.
_STREAM_FROM = 64 * 1024


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
        self._aes = algorithms.AES(key.encryption_key)
        self._id_key = key.id_key

    def seal(self, plaintext: bytes, aad: bytes | None = None) -> bytes:
        nonce = os.urandom(NONCE_SIZE)
        return nonce + self._aead.encrypt(nonce, plaintext, aad)

    def seal_into(self, plaintext: bytes | bytearray | memoryview, aad: bytes | None, out: memoryview) -> None:
        """seal() written into out, which is exactly len(plaintext) + OVERHEAD bytes: nonce, ciphertext, tag.

        Lets a caller seal many blobs straight into one buffer (a pack), from several threads at once.
        """
        if len(out) != len(plaintext) + OVERHEAD:
            raise ValueError(f"seal_into needs {len(plaintext) + OVERHEAD} bytes of room, got {len(out)}")
        nonce = os.urandom(NONCE_SIZE)
        out[:NONCE_SIZE] = nonce
        if len(plaintext) < _STREAM_FROM:
            out[NONCE_SIZE:] = self._aead.encrypt(nonce, plaintext, aad)
            return
        encryptor = Cipher(self._aes, modes.GCM(nonce)).encryptor()
        if aad:
            encryptor.authenticate_additional_data(aad)
        # update_into wants room for one block more than it writes (GCM writes exactly the input's
        # length): the 15 bytes past the ciphertext are the tag's place, written right after.
        end = NONCE_SIZE + len(plaintext)
        written = encryptor.update_into(plaintext, out[NONCE_SIZE : end + 15])
        if written != len(plaintext):
            raise RuntimeError(f"GCM wrote {written} bytes for {len(plaintext)}")
        encryptor.finalize()
        out[end:] = encryptor.tag

    def open(self, sealed: bytes | bytearray | memoryview, aad: bytes | None = None, what: str = "data") -> bytes:
        plain = self.open_buffer(sealed, aad, what)
        return plain if isinstance(plain, bytes) else bytes(plain)

    def open_buffer(self, sealed: bytes | bytearray | memoryview, aad: bytes | None = None, what: str = "data") -> bytes | bytearray:
        """open(), but a large plaintext comes as a bytearray made for it (no copy to bytes)."""
        if len(sealed) < OVERHEAD:
            raise DamagedData(f"{what} is truncated ({len(sealed)} bytes)")
        view = memoryview(sealed)
        try:
            if len(view) < _STREAM_FROM + OVERHEAD:
                return self._aead.decrypt(bytes(view[:NONCE_SIZE]), view[NONCE_SIZE:], aad)
            decryptor = Cipher(self._aes, modes.GCM(bytes(view[:NONCE_SIZE]), bytes(view[-TAG_SIZE:]))).decryptor()
            if aad:
                decryptor.authenticate_additional_data(aad)
            body = view[NONCE_SIZE:-TAG_SIZE]
            out = bytearray(len(body) + 15)
            del out[decryptor.update_into(body, out):]
            decryptor.finalize()  # checks the tag: nothing decrypted is returned before this passes
            return out
        except InvalidTag as exc:
            raise DamagedData(f"{what} failed authentication (damaged or tampered)") from exc

    def blob_id(self, data: bytes | bytearray | memoryview) -> bytes:
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
