"""A backend wrapper that retries transient failures with exponential backoff and jitter."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from mlark.repo.backend.base import Backend, Kind, ObjectInfo
from mlark.repo.errors import TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")


class RetryBackend:
    def __init__(self, inner: Backend, attempts: int = 6, base_delay: float = 0.2, max_delay: float = 10.0) -> None:
        self.inner = inner
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay

    def _call(self, what: str, func: Callable[[], T]) -> T:
        for attempt in range(1, self.attempts + 1):
            try:
                return func()
            except TransientError as exc:
                if attempt == self.attempts:
                    raise TransientError(f"{what} failed after {attempt} attempts: {exc}") from exc
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
                log.warning("%s failed (%s); retrying in %.1fs", what, exc, delay)
                time.sleep(delay)
        raise AssertionError("unreachable")

    def location(self) -> str:
        return self.inner.location()

    def create_location(self) -> None:
        self._call("create location", self.inner.create_location)

    def save(self, kind: Kind, name: str, data: bytes) -> None:
        self._call(f"save {kind.value}/{name}", lambda: self.inner.save(kind, name, data))

    def load(self, kind: Kind, name: str, offset: int = 0, length: int | None = None) -> bytes:
        return self._call(f"load {kind.value}/{name}", lambda: self.inner.load(kind, name, offset, length))

    def list(self, kind: Kind) -> Iterator[ObjectInfo]:
        # Listing is retried as a whole so a failure halfway never yields duplicates.
        return iter(self._call(f"list {kind.value}", lambda: list(self.inner.list(kind))))

    def remove(self, kind: Kind, name: str) -> None:
        self._call(f"remove {kind.value}/{name}", lambda: self.inner.remove(kind, name))

    def stat(self, kind: Kind, name: str) -> ObjectInfo:
        return self._call(f"stat {kind.value}/{name}", lambda: self.inner.stat(kind, name))
