"""Repository locks: shared for backup/restore/check, exclusive for forget/prune/repair.

A lock is a small plaintext JSON object under locks/. It is rewritten every
`refresh_every` seconds while held; a lock not refreshed for `stale_after`
seconds, or held by a dead process on this host, is stale and may be removed.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import threading
import time
from types import TracebackType

from mlark.repo.backend.base import Backend, Kind
from mlark.repo.errors import Locked, ObjectMissing, RepoError
from mlark.repo.models import LockFile

STALE_AFTER = 30 * 60
REFRESH_EVERY = 5 * 60


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_stale(lock: LockFile, stale_after: float = STALE_AFTER) -> bool:
    if (_now() - lock.refreshed).total_seconds() > stale_after:
        return True
    return lock.host == socket.gethostname() and not _pid_alive(lock.pid)


def describe(lock: LockFile) -> str:
    kind = "exclusively" if lock.exclusive else "shared"
    return f"locked {kind} by {lock.operation} (pid {lock.pid} on {lock.host}, since {lock.time:%Y-%m-%d %H:%M:%S} UTC)"


class RepoLock:
    """Context manager; `wait` seconds are spent retrying while another holder conflicts."""

    def __init__(self, backend: Backend, *, exclusive: bool, operation: str, wait: float = 0.0,
                 stale_after: float = STALE_AFTER, refresh_every: float = REFRESH_EVERY) -> None:
        self.backend = backend
        self.exclusive = exclusive
        self.operation = operation
        self.wait = wait
        self.stale_after = stale_after
        self.refresh_every = refresh_every
        self.name = os.urandom(16).hex()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._time = _now()

    def _write(self) -> None:
        lock = LockFile(exclusive=self.exclusive, host=socket.gethostname(), pid=os.getpid(),
                        operation=self.operation, time=self._time, refreshed=_now())
        self.backend.save(Kind.locks, self.name, lock.model_dump_json().encode())

    def _conflict(self) -> LockFile | None:
        for info in self.backend.list(Kind.locks):
            if info.name == self.name:
                continue
            try:
                other = LockFile.model_validate_json(self.backend.load(Kind.locks, info.name))
            except (ObjectMissing, ValueError):
                continue  # released meanwhile, or a half-visible write: neither holds the repository
            if is_stale(other, self.stale_after):
                if self.exclusive or other.exclusive:
                    self.backend.remove(Kind.locks, info.name)
                continue
            if self.exclusive or other.exclusive:
                return other
        return None

    def acquire(self) -> None:
        deadline = time.monotonic() + self.wait
        while True:
            self._write()
            other = self._conflict()
            if other is None:
                break
            self.backend.remove(Kind.locks, self.name)
            if time.monotonic() >= deadline:
                raise Locked(f"repository is {describe(other)}")
            time.sleep(random.uniform(0.2, 1.0))
        self._thread = threading.Thread(target=self._refresh, name="mlark-lock", daemon=True)
        self._thread.start()

    def _refresh(self) -> None:
        while not self._stop.wait(self.refresh_every):
            try:
                self._write()
            except RepoError:
                pass  # the next refresh retries; staleness takes 30 minutes

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.backend.remove(Kind.locks, self.name)

    def __enter__(self) -> RepoLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
