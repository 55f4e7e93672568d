"""Key files: the master secret wrapped by a passphrase through argon2id.

Several key files may wrap the same master secret; any one opens the repository.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import getpass
import os
import socket

from argon2.exceptions import Argon2Error

from mlark.repo.backend.base import Backend, Kind
from mlark.repo.crypto import NONCE_SIZE, TAG_SIZE, KdfParams, MasterKey, derive_wrapping_key, storage_id, unwrap, wrap
from mlark.repo.errors import DamagedData, NotFound, UsageError, WrongPassword
from mlark.repo.models import KdfSpec, KeyFile, KeyInfo


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def make_key_file(master: MasterKey, password: str, repo_id: str, params: KdfParams) -> KeyFile:
    if not password:
        raise UsageError("the password must not be empty")
    salt = os.urandom(16)
    wrapping = derive_wrapping_key(password.encode(), salt, params)
    sealed = wrap(wrapping, master.secret, repo_id.encode())
    return KeyFile(
        created=dt.datetime.now(dt.timezone.utc), host=socket.gethostname(), username=_user(),
        kdf=KdfSpec(time_cost=params.time_cost, memory_kib=params.memory_kib, parallelism=params.parallelism,
                    salt=base64.b64encode(salt).decode()),
        data=base64.b64encode(sealed).decode(),
    )


def save_key_file(backend: Backend, key: KeyFile) -> str:
    data = key.model_dump_json(indent=2).encode()
    name = storage_id(data)
    backend.save(Kind.keys, name, data)
    return name


# A wrapped master secret: nonce, 32 bytes of secret, GCM tag.
_WRAPPED_SIZE = NONCE_SIZE + 32 + TAG_SIZE


def _load_key_file(backend: Backend, name: str) -> KeyFile:
    """A key file, checked for damage before any password is tried on it.

    AES-GCM cannot tell a wrong password from a damaged secret, so damage is found by other means:
    a key file is named by the hash of its bytes, and its fields must have their fixed shapes.
    Only a well-formed, intact key that does not open is a wrong password."""
    raw = backend.load(Kind.keys, name)
    damaged = f"key file {name[:8]} is damaged"
    if storage_id(raw) != name:
        raise DamagedData(f"{damaged}: its content does not match its name")
    try:
        key = KeyFile.model_validate_json(raw)
    except ValueError as exc:
        raise DamagedData(f"{damaged}: it does not parse ({exc.__class__.__name__})") from exc
    try:
        salt, sealed = base64.b64decode(key.kdf.salt, validate=True), base64.b64decode(key.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise DamagedData(f"{damaged}: salt or secret is not base64") from exc
    if len(sealed) != _WRAPPED_SIZE or not salt:
        raise DamagedData(f"{damaged}: the wrapped secret is {len(sealed)} bytes, not {_WRAPPED_SIZE}")
    return key


def _try_key(key: KeyFile, password: str, repo_id: str) -> MasterKey | None:
    params = KdfParams(key.kdf.time_cost, key.kdf.memory_kib, key.kdf.parallelism)
    try:
        wrapping = derive_wrapping_key(password.encode(), base64.b64decode(key.kdf.salt), params)
    except (Argon2Error, ValueError, OverflowError) as exc:  # parameters argon2 refuses: not a wrong password
        raise DamagedData(f"key file has unusable key-derivation parameters: {exc}") from exc
    secret = unwrap(wrapping, base64.b64decode(key.data), repo_id.encode())
    return MasterKey(secret) if secret is not None else None


def unlock(backend: Backend, repo_id: str, password: str) -> tuple[str, MasterKey]:
    """(key file name, master key) for the first key file the password opens.

    Damaged key files are passed over while another key may open; if none does, damage is
    reported rather than a wrong password, since the damaged key may be the one for it."""
    names = sorted(info.name for info in backend.list(Kind.keys))
    if not names:
        raise DamagedData("the repository has no key files")
    damaged = []
    for name in names:
        try:
            master = _try_key(_load_key_file(backend, name), password, repo_id)
        except DamagedData as exc:
            damaged.append(str(exc))
            continue
        if master is not None:
            return name, master
    if damaged:
        intact = len(names) - len(damaged)
        raise DamagedData(f"{'; '.join(damaged)} ({intact} intact key file(s) do not open with this password)")
    raise WrongPassword("wrong password: no key of this repository opens with it")


def list_keys(backend: Backend, current: str) -> list[KeyInfo]:
    keys = []
    for info in backend.list(Kind.keys):
        key = _load_key_file(backend, info.name)
        keys.append(KeyInfo(id=info.name, current=info.name == current, created=key.created, host=key.host, username=key.username))
    return sorted(keys, key=lambda k: k.created)


def remove_key(backend: Backend, name: str, current: str) -> None:
    names = {info.name for info in backend.list(Kind.keys)}
    matches = [n for n in names if n.startswith(name)] if name else []
    if len(matches) != 1:
        raise NotFound(f"no unique key matches {name!r}")
    if matches[0] == current:
        raise UsageError("refusing to remove the key in use; open the repository with another key to remove this one")
    backend.remove(Kind.keys, matches[0])
