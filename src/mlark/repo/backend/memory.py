"""In-memory backend: the reference implementation the conformance suite is written against."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from mlark.repo.backend.base import Kind, ObjectInfo, object_path
from mlark.repo.errors import ObjectMissing


class MemoryBackend:
    def __init__(self) -> None:
        self._objects: dict[tuple[Kind, str], bytes] = {}
        self._modified: dict[tuple[Kind, str], float] = {}
        self._lock = threading.Lock()

    def location(self) -> str:
        return "memory:"

    def create_location(self) -> None:
        return None

    def save(self, kind: Kind, name: str, data: bytes) -> None:
        with self._lock:
            self._objects[(kind, name)] = bytes(data)
            self._modified[(kind, name)] = time.time()

    def load(self, kind: Kind, name: str, offset: int = 0, length: int | None = None) -> bytes:
        with self._lock:
            data = self._objects.get((kind, name))
        if data is None:
            raise ObjectMissing(f"{object_path(kind, name)} not found")
        start = len(data) + offset if offset < 0 else offset
        return data[start:] if length is None else data[start : start + length]

    def list(self, kind: Kind) -> Iterator[ObjectInfo]:
        with self._lock:
            items = [(name, len(data), self._modified[(k, name)]) for (k, name), data in self._objects.items() if k is kind]
        for name, size, modified in items:
            yield ObjectInfo(name, size, modified)

    def remove(self, kind: Kind, name: str) -> None:
        with self._lock:
            self._objects.pop((kind, name), None)

    def stat(self, kind: Kind, name: str) -> ObjectInfo:
        with self._lock:
            data = self._objects.get((kind, name))
        if data is None:
            raise ObjectMissing(f"{object_path(kind, name)} not found")
        return ObjectInfo(name, len(data))
