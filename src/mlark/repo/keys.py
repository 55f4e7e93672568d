"""Key files: the master secret wrapped by a passphrase through argon2id.

Several key files may wrap the same master secret; any one opens the repository.
"""

from __future__ import annotations

import base64
import datetime as dt
import getpass
import os
import socket

from mlark.repo.backend.base import Backend, Kind
from mlark.repo.crypto import KdfParams, MasterKey, derive_wrapping_key, storage_id, unwrap, wrap
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


def _load_key_file(backend: Backend, name: str) -> KeyFile:
    try:
        return KeyFile.model_validate_json(backend.load(Kind.keys, name))
    except ValueError as exc:
        raise DamagedData(f"key file {name} does not parse: {exc}") from exc


def _try_key(key: KeyFile, password: str, repo_id: str) -> MasterKey | None:
    params = KdfParams(key.kdf.time_cost, key.kdf.memory_kib, key.kdf.parallelism)
    wrapping = derive_wrapping_key(password.encode(), base64.b64decode(key.kdf.salt), params)
    secret = unwrap(wrapping, base64.b64decode(key.data), repo_id.encode())
    return MasterKey(secret) if secret is not None else None


def unlock(backend: Backend, repo_id: str, password: str) -> tuple[str, MasterKey]:
    """(key file name, master key) for the first key file the password opens."""
    names = sorted(info.name for info in backend.list(Kind.keys))
    if not names:
        raise DamagedData("the repository has no key files")
    for name in names:
        master = _try_key(_load_key_file(backend, name), password, repo_id)
        if master is not None:
            return name, master
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
