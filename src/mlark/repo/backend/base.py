"""The backend protocol: a flat store of named, immutable objects grouped by kind.

Backends know nothing of encryption or formats. Every object is written whole
(never partially visible) and is addressed by (kind, name).
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class Kind(str, enum.Enum):
    config = "config"
    keys = "keys"
    locks = "locks"
    snapshots = "snapshots"
    index = "index"
    data = "data"


@dataclass(frozen=True)
class ObjectInfo:
    name: str
    size: int
    modified: float | None = None  # seconds since the epoch, where list() knows it


def object_path(kind: Kind, name: str) -> str:
    """Relative path of an object; packs are fanned out by their first two hex digits."""
    if kind is Kind.config:
        return "config"
    if kind is Kind.data:
        return f"data/{name[:2]}/{name}"
    return f"{kind.value}/{name}"


@runtime_checkable
class Backend(Protocol):
    """Five operations; anything richer (retries, caching) wraps a backend."""

    def location(self) -> str:
        """A human-readable location without credentials."""
        ...

    def save(self, kind: Kind, name: str, data: bytes) -> None:
        """Store data atomically; an existing object of that name is replaced."""
        ...

    def load(self, kind: Kind, name: str, offset: int = 0, length: int | None = None) -> bytes:
        """Read a whole object or a byte range; raises ObjectMissing if absent."""
        ...

    def list(self, kind: Kind) -> Iterator[ObjectInfo]:
        """Every object of a kind, in no particular order."""
        ...

    def remove(self, kind: Kind, name: str) -> None:
        """Delete an object; deleting an absent object is not an error."""
        ...

    def stat(self, kind: Kind, name: str) -> ObjectInfo:
        """Size of an object; raises ObjectMissing if absent."""
        ...

    def create_location(self) -> None:
        """Prepare an empty location for `init` (directory, or check the bucket)."""
        ...
