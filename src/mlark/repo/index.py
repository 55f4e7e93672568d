"""The master index: where every blob lives, merged from all index files.

An index file may name older index files it supersedes; while both exist
(prune was interrupted between writing and deleting), the superseded ones
are ignored so the view stays consistent.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import NamedTuple

from mlark.repo.backend.base import Backend, Kind
from mlark.repo.crypto import Sealer, storage_id
from mlark.repo.errors import DamagedData
from mlark.repo.models import BlobEntry, IndexFile, IndexPack

INDEX_AAD = b"mlark index v1"


class Location(NamedTuple):
    pack: str
    type: str
    offset: int
    length: int
    raw_length: int
    compressed: bool


class MasterIndex:
    def __init__(self) -> None:
        self._blobs: dict[str, Location] = {}
        self.packs: dict[str, IndexPack] = {}
        self.files: set[str] = set()
        self._lock = threading.Lock()

    def __contains__(self, blob_id: object) -> bool:
        return blob_id in self._blobs

    def __len__(self) -> int:
        return len(self._blobs)

    def get(self, blob_id: str) -> Location | None:
        return self._blobs.get(blob_id)

    def items(self) -> Iterator[tuple[str, Location]]:
        return iter(list(self._blobs.items()))

    def add_pack(self, pack: IndexPack) -> None:
        with self._lock:
            self.packs[pack.id] = pack
            for blob in pack.blobs:
                # First location wins; duplicates elsewhere are harmless and pruned later.
                self._blobs.setdefault(blob.id, _location(pack.id, blob))

    def load(self, backend: Backend, sealer: Sealer) -> list[str]:
        """Read every index file; return problems (unreadable index files) as messages."""
        problems: list[str] = []
        parsed: dict[str, IndexFile] = {}
        for info in backend.list(Kind.index):
            try:
                parsed[info.name] = load_index_file(backend, sealer, info.name)
            except DamagedData as exc:
                problems.append(str(exc))
        superseded = {old for index in parsed.values() for old in index.supersedes}
        for name, index in parsed.items():
            if name in superseded:
                continue
            self.files.add(name)
            for pack in index.packs:
                self.add_pack(pack)
        return problems


def _location(pack_id: str, blob: BlobEntry) -> Location:
    return Location(pack_id, blob.type, blob.offset, blob.length, blob.raw_length, blob.compressed)


def load_index_file(backend: Backend, sealer: Sealer, name: str) -> IndexFile:
    data = backend.load(Kind.index, name)
    if storage_id(data) != name:
        raise DamagedData(f"index {name} does not match its hash")
    plain = sealer.open(data, INDEX_AAD, what=f"index {name}")
    try:
        return IndexFile.model_validate_json(plain)
    except ValueError as exc:
        raise DamagedData(f"index {name} does not parse: {exc}") from exc


def save_index_file(backend: Backend, sealer: Sealer, packs: Iterable[IndexPack], supersedes: Iterable[str] = ()) -> str:
    index = IndexFile(packs=list(packs), supersedes=sorted(supersedes))
    data = sealer.seal(index.model_dump_json().encode(), INDEX_AAD)
    name = storage_id(data)
    backend.save(Kind.index, name, data)
    return name
