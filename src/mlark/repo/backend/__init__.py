"""Storage backends behind one small protocol (save, load, list, remove, stat)."""

from mlark.repo.backend.base import Backend, Kind, ObjectInfo
from mlark.repo.backend.local import LocalBackend
from mlark.repo.backend.memory import MemoryBackend
from mlark.repo.backend.retry import RetryBackend
from mlark.repo.backend.url import S3Credentials, open_backend

__all__ = ["Backend", "Kind", "LocalBackend", "MemoryBackend", "ObjectInfo", "RetryBackend", "S3Credentials", "open_backend"]
