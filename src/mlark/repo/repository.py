"""The repository handle: config, key, index, and reading/writing of encrypted files and blobs."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from typing import Any

from mlark.repo import keys as keyfiles
from mlark.repo.backend.base import Backend, Kind
from mlark.repo.chunker import Chunker
from mlark.repo.compress import decompress
from mlark.repo.crypto import KdfParams, MasterKey, Sealer, storage_id
from pydantic import ValidationError

from mlark.repo.errors import (
    DamagedData, InvalidConfig, NotFound, ObjectMissing, RepoError, RepositoryExists, RepositoryNotFound,
    UnsupportedFormat,
)
from mlark.repo.index import Location, MasterIndex
from mlark.repo.locks import RepoLock
from mlark.repo.models import FORMAT_NAME, FORMAT_VERSION, ChunkerParams, ObjectLock, RepoConfig, Snapshot, Tree

SNAPSHOT_AAD = b"mlark snapshot v1"


def _apply_retention(backend: Backend, lock: ObjectLock | None) -> None:
    """Object-lock retention is a property of the S3 layer, possibly under wrappers."""
    from mlark.repo.backend.s3 import Retention

    target: Any = backend
    while target is not None and not hasattr(target, "retention"):
        target = getattr(target, "inner", None)
    if target is not None and lock is not None:
        target.retention = Retention(lock.mode, lock.days)
    elif lock is not None:
        raise RepoError(f"object lock needs an S3 repository, not {backend.location()}")


def read_config(backend: Backend) -> RepoConfig:
    try:
        raw = backend.load(Kind.config, "config")
    except ObjectMissing as exc:
        raise RepositoryNotFound(f"no repository at {backend.location()} (run `mlark repo init` first)") from exc
    invalid = f"invalid repository config at {backend.location()} (damaged or edited by hand)"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise InvalidConfig(f"{invalid}: not JSON") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise UnsupportedFormat(f"{backend.location()} is not an mlark repository")
    version = data.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidConfig(f"{invalid}: version must be a whole number, not {version!r}")
    if version > FORMAT_VERSION:
        raise UnsupportedFormat(
            f"repository format version {version} is newer than this mlark supports ({FORMAT_VERSION}); upgrade mlark"
        )
    try:
        return RepoConfig.model_validate(data)
    except ValidationError as exc:
        raise InvalidConfig(f"{invalid}: {validation_problems(exc)}") from exc


def validation_problems(exc: ValidationError) -> str:
    """Pydantic's errors as one line: `field.path: message; ...`."""
    return "; ".join(f"{'.'.join(str(part) for part in error['loc']) or 'value'}: {error['msg']}" for error in exc.errors())


class Repository:
    def __init__(self, backend: Backend, config: RepoConfig, key_id: str, key: MasterKey) -> None:
        self.backend = backend
        self.config = config
        self.key_id = key_id
        self.key = key
        self.sealer = Sealer(key)
        self.chunker = Chunker(config.chunker, key.chunker_seed)
        self.index = MasterIndex()
        self.index_loaded = False
        self.damaged_snapshots: dict[str, str] = {}
        # --no-lock: reading operations take no lock. notify: where notes for the operator go.
        self.no_lock = False
        self.notify: Callable[[str], None] = lambda message: None
        _apply_retention(backend, config.object_lock)

    def lock(self, operation: str, *, exclusive: bool = False, wait: float = 0.0, reading: bool = False) -> RepoLock:
        """The lock an operation holds; a reading one goes on without it when asked to or when the backend refuses writes."""
        return RepoLock(self.backend, exclusive=exclusive, operation=operation, wait=wait, read_only_ok=reading,
                        skip=reading and self.no_lock, notify=self.notify)

    # --- lifecycle ---------------------------------------------------------------

    @classmethod
    def init(cls, backend: Backend, password: str, *, kdf: KdfParams = KdfParams(),
             chunker: ChunkerParams = ChunkerParams(), pack_size: int = 32 * 1024 * 1024,
             object_lock: ObjectLock | None = None) -> Repository:
        backend.create_location()
        try:
            backend.stat(Kind.config, "config")
            raise RepositoryExists(f"a repository already exists at {backend.location()}")
        except ObjectMissing:
            pass
        config = RepoConfig(id=os.urandom(16).hex(), created=dt.datetime.now(dt.timezone.utc), chunker=chunker,
                            pack_size=pack_size, object_lock=object_lock)
        _apply_retention(backend, object_lock)
        master = MasterKey.generate()
        # Key before config: a config without a key would be a repository nobody can open.
        key_id = keyfiles.save_key_file(backend, keyfiles.make_key_file(master, password, config.id, kdf))
        backend.save(Kind.config, "config", config.model_dump_json(indent=2).encode())
        return cls(backend, config, key_id, master)

    @classmethod
    def open(cls, backend: Backend, password: str) -> Repository:
        config = read_config(backend)
        _apply_retention(backend, config.object_lock)
        key_id, master = keyfiles.unlock(backend, config.id, password)
        return cls(backend, config, key_id, master)

    def load_index(self) -> list[str]:
        """Load the master index once; return problems found in index files."""
        if self.index_loaded:
            return []
        problems = self.index.load(self.backend, self.sealer)
        self.index_loaded = True
        return problems

    # --- blobs ---------------------------------------------------------------------

    def locate(self, blob_id: str) -> Location:
        if not self.index_loaded:
            self.load_index()
        location = self.index.get(blob_id)
        if location is None:
            raise DamagedData(f"blob {blob_id[:16]} is not in the index")
        return location

    def load_blob(self, blob_id: str) -> bytes:
        location = self.locate(blob_id)
        sealed = self.backend.load(Kind.data, location.pack, location.offset, location.length)
        data = self.decode_blob(blob_id, sealed, location.raw_length, location.compressed)
        return data if isinstance(data, bytes) else bytes(data)

    def decode_blob(self, blob_id: str, sealed: bytes | memoryview, raw_length: int, compressed: bool) -> bytes | bytearray:
        """The verified plaintext of a sealed blob (a bytearray when it was stored large and raw)."""
        what = f"blob {blob_id[:16]}"
        payload = self.sealer.open_buffer(sealed, bytes.fromhex(blob_id), what=what)
        data = decompress(payload, raw_length, what) if compressed else payload
        if self.sealer.blob_id(data) != bytes.fromhex(blob_id):
            raise DamagedData(f"{what} does not match its ID")
        return data

    def load_tree(self, tree_id: str) -> Tree:
        try:
            return Tree.model_validate_json(self.load_blob(tree_id))
        except ValueError as exc:
            raise DamagedData(f"tree {tree_id[:16]} does not parse: {exc}") from exc

    # --- snapshots -----------------------------------------------------------------

    def save_snapshot(self, snapshot: Snapshot) -> str:
        data = self.sealer.seal(snapshot.model_dump_json().encode(), SNAPSHOT_AAD)
        name = storage_id(data)
        self.backend.save(Kind.snapshots, name, data)
        return name

    def load_snapshot(self, name: str) -> Snapshot:
        data = self.backend.load(Kind.snapshots, name)
        if storage_id(data) != name:
            raise DamagedData(f"snapshot {name[:8]} does not match its hash")
        plain = self.sealer.open(data, SNAPSHOT_AAD, what=f"snapshot {name[:8]}")
        try:
            return Snapshot.model_validate_json(plain)
        except ValueError as exc:
            _refuse_newer(plain, f"snapshot {name[:8]}")
            raise DamagedData(f"snapshot {name[:8]} does not parse: {exc}") from exc

    def snapshots(self) -> list[tuple[str, Snapshot]]:
        """Every readable snapshot, oldest first.

        A damaged snapshot file (fails its hash, authentication or parsing) can never be read, so
        it is left out, and named in `damaged_snapshots` for the caller to report: one bad file
        must not stop backups, listing, forget or prune. Storage errors still raise."""
        found, damaged = [], {}
        for info in self.backend.list(Kind.snapshots):
            try:
                found.append((info.name, self.load_snapshot(info.name)))
            except ObjectMissing:
                continue  # forgotten since it was listed
            except DamagedData as exc:
                damaged[info.name] = str(exc)
        self.damaged_snapshots = damaged
        return sorted(found, key=lambda item: (item[1].time, item[0]))

    def skipped_snapshots(self) -> list[str]:
        """The damaged snapshots the last snapshots() left out, as messages."""
        return [f"snapshot {name[:8]} skipped (damaged): {reason.removeprefix(f'snapshot {name[:8]} ')}"
                for name, reason in sorted(self.damaged_snapshots.items())]

    def snapshot_name(self, ref: str) -> str:
        """The full name of the snapshot with this ID or unique prefix, without reading it."""
        names = [info.name for info in self.backend.list(Kind.snapshots) if info.name.startswith(ref)] if ref else []
        if len(names) != 1:
            raise NotFound(f"no snapshot matches {ref!r}" if not names else f"snapshot prefix {ref!r} is ambiguous")
        return names[0]

    def find_snapshot(self, ref: str) -> tuple[str, Snapshot]:
        """Resolve `latest`, a full ID or a unique ID prefix."""
        if ref == "latest":
            all_snapshots = self.snapshots()
            if not all_snapshots:
                raise NotFound("the repository has no snapshots")
            return all_snapshots[-1]
        name = self.snapshot_name(ref)
        return name, self.load_snapshot(name)


def _refuse_newer(plain: bytes, what: str) -> None:
    """A file of a newer format version is not damage: prune must not treat it as unreadable."""
    try:
        version = json.loads(plain).get("version")
    except (ValueError, AttributeError):
        return
    if isinstance(version, int) and not isinstance(version, bool) and version > 1:
        raise UnsupportedFormat(f"{what} has format version {version}, newer than this mlark supports; upgrade mlark")
