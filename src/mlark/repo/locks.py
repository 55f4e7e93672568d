"""Repository locks: shared for backup/restore/check/ls/cat/snapshots, exclusive for forget/prune/repair.

The rules are restic's (0.16 and later), with its ages as defaults:

- A lock is a small plaintext JSON object `locks/<random name>`. It records a random holder
  ID (unique across hosts, containers and restarts), and, for the humans and for one narrow
  local check, host name, pid, the kernel's boot ID and the PID namespace.
- The holder rewrites it every `refresh_every` seconds (5 minutes) from a background thread.
- A lock is stale when it was not refreshed for `stale_after` seconds (30 minutes). A lock
  whose host name, boot ID *and* PID namespace all equal ours, and whose pid does not exist,
  is stale at once: only then does its pid mean a process we can see. (Two containers of one
  pod share the host name but not the PID namespace; a restarted pod keeps the host name but
  its pids start again.)
- A holder that could not refresh its lock for `stale_after - 1.5 * refresh_every` seconds
  (22.5 minutes: restic's "refreshability timeout"), or whose lock object is gone or no longer
  its own, has LOST it: `ensure()` raises LockLost, and writers call it right before they
  write an index, a snapshot, or delete anything. A lost lock is never written again, so a
  lock another process removed as stale stays removed.

Ages can be shortened for tests with MLARK_LOCK_REFRESH_SECONDS and MLARK_LOCK_STALE_SECONDS.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

from mlark.repo.backend.base import Backend, Kind
from mlark.repo.errors import AccessDenied, Locked, LockLost, ObjectMissing, ReadOnlyRepository, RepoError, UsageError
from mlark.repo.models import LockFile, UnlockResult

STALE_AFTER = 30 * 60
REFRESH_EVERY = 5 * 60

# One random ID per process: host name + pid repeat across containers and restarts, this does not.
HOLDER = os.urandom(16).hex()

Notify = Callable[[str], None]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _clock() -> float:
    """Seconds on a clock that keeps counting while the process is stopped or the machine suspended."""
    return time.clock_gettime(time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") else time.monotonic()


def _env_seconds(name: str, default: float) -> float:
    text = os.environ.get(name, "")
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise UsageError(f"{name} must be a positive number of seconds, not {text!r}")
    return value


def lock_ages() -> tuple[float, float]:
    """(refresh_every, stale_after) in seconds, from the environment or restic's defaults."""
    refresh = _env_seconds("MLARK_LOCK_REFRESH_SECONDS", REFRESH_EVERY)
    stale = _env_seconds("MLARK_LOCK_STALE_SECONDS", STALE_AFTER)
    if stale < 2 * refresh:
        raise UsageError(f"MLARK_LOCK_STALE_SECONDS ({stale:g}) must be at least twice MLARK_LOCK_REFRESH_SECONDS ({refresh:g})")
    return refresh, stale


def _read_text(path: str) -> str:
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return ""


def boot_id() -> str:
    return _read_text("/proc/sys/kernel/random/boot_id")


def pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def same_process_space(lock: LockFile) -> bool:
    """True only when the lock's pid names a process in our own PID namespace on this very boot."""
    return (bool(lock.boot_id) and bool(lock.pid_namespace) and lock.host == socket.gethostname()
            and lock.boot_id == boot_id() and lock.pid_namespace == pid_namespace())


def is_stale(lock: LockFile, stale_after: float = STALE_AFTER) -> bool:
    if (_now() - lock.refreshed).total_seconds() > stale_after:
        return True
    return same_process_space(lock) and not _pid_alive(lock.pid)


def describe(lock: LockFile) -> str:
    kind = "exclusively" if lock.exclusive else "shared"
    holder = f", holder {lock.holder[:8]}" if lock.holder else ""
    return (f"locked {kind} by {lock.operation} (pid {lock.pid} on {lock.host}{holder}, "
            f"since {lock.time:%Y-%m-%d %H:%M:%S} UTC, refreshed {lock.refreshed:%H:%M:%S})")


def read_locks(backend: Backend) -> tuple[dict[str, LockFile], list[str]]:
    """Every lock that parses, by name, and the names of lock files that do not."""
    found: dict[str, LockFile] = {}
    unparsable: list[str] = []
    for info in backend.list(Kind.locks):
        try:
            found[info.name] = LockFile.model_validate_json(backend.load(Kind.locks, info.name))
        except ObjectMissing:
            continue  # released meanwhile
        except ValueError:
            unparsable.append(info.name)  # objects are written whole: this one is damaged, not half-written
    return found, unparsable


class RepoLock:
    """Context manager; `wait` seconds are spent retrying while another holder conflicts.

    read_only_ok: a reading operation that goes on without a lock (and says so through
    notify) when the backend refuses to store the lock. skip: take no lock at all (--no-lock).
    """

    def __init__(self, backend: Backend, *, exclusive: bool, operation: str, wait: float = 0.0,
                 stale_after: float | None = None, refresh_every: float | None = None,
                 read_only_ok: bool = False, skip: bool = False, notify: Notify | None = None) -> None:
        env_refresh, env_stale = lock_ages()
        self.backend = backend
        self.exclusive = exclusive
        self.operation = operation
        self.wait = wait
        self.stale_after = stale_after if stale_after is not None else env_stale
        self.refresh_every = refresh_every if refresh_every is not None else env_refresh
        # restic's refreshability timeout: past it, another process may already call the lock stale.
        self.refreshable_for = self.stale_after - 1.5 * self.refresh_every
        self.read_only_ok = read_only_ok
        self.skip = skip
        self.notify = notify or (lambda message: None)
        self.name = os.urandom(16).hex()
        self.held = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._time = _now()
        self._last_refresh = _clock()
        self._lost: str | None = None
        self._guard = threading.Lock()  # a refresh and an ensure() never interleave their check and write
        self._reported: set[str] = set()  # unparsable lock files already named (once, not at every retry)

    def _record(self) -> LockFile:
        return LockFile(exclusive=self.exclusive, host=socket.gethostname(), pid=os.getpid(),
                        operation=self.operation, time=self._time, refreshed=_now(), holder=HOLDER,
                        boot_id=boot_id(), pid_namespace=pid_namespace())

    def _write(self) -> None:
        self.backend.save(Kind.locks, self.name, self._record().model_dump_json().encode())

    def _conflict(self) -> LockFile | None:
        locks, unparsable = read_locks(self.backend)
        for name in set(unparsable) - self._reported:
            self._reported.add(name)
            self.notify(f"lock file locks/{name} cannot be parsed and is ignored; `mlark repo unlock` removes it")
        conflict = None
        for name, other in locks.items():
            if name == self.name:
                continue
            if is_stale(other, self.stale_after):
                # Any locker clears stale locks, shared ones included: else they pile up.
                self.backend.remove(Kind.locks, name)
                continue
            if (self.exclusive or other.exclusive) and conflict is None:
                conflict = other
        return conflict

    def acquire(self) -> None:
        if self.skip:
            self.notify(f"no lock taken (--no-lock): a prune running meanwhile could remove data this {self.operation} reads")
            return
        deadline = time.monotonic() + self.wait
        while True:
            self._time = _now()
            if not self._first_write():
                return
            try:
                other = self._conflict()
            except BaseException:
                self.backend.remove(Kind.locks, self.name)
                raise
            if other is None:
                break
            self.backend.remove(Kind.locks, self.name)
            if time.monotonic() >= deadline:
                raise Locked(f"repository is {describe(other)}")
            time.sleep(random.uniform(0.2, 1.0))
        self.held = True
        self._last_refresh = _clock()
        self._thread = threading.Thread(target=self._refresh_loop, name="mlark-lock", daemon=True)
        self._thread.start()

    def _first_write(self) -> bool:
        """Store the lock; False when a reading operation goes on without one on a read-only repository."""
        try:
            self._write()
            return True
        except AccessDenied as exc:
            if self.read_only_ok:
                self.notify(f"no lock taken: the repository refuses writes ({exc}); "
                            f"a prune running meanwhile could remove data this {self.operation} reads")
                return False
            raise ReadOnlyRepository(
                f"{self.operation} needs to write to the repository, which refuses writes ({exc}); "
                "restore, ls, cat, snapshots and check work on a read-only repository") from exc

    def _refresh_loop(self) -> None:
        delay = self.refresh_every
        while not self._stop.wait(delay):
            try:
                self._refresh()
                delay = self.refresh_every
            except RepoError:
                delay = max(1.0, self.refresh_every / 10)  # retried soon: the refreshability timeout runs
            if self._lost is not None:
                return

    def _refresh(self) -> None:
        with self._guard:
            if self._lost is None and self._check():
                self._write()
                self._last_refresh = _clock()

    def _check(self) -> bool:
        """Mark the lock lost when it is overdue or no longer ours; call under _guard."""
        overdue = _clock() - self._last_refresh
        if overdue > self.refreshable_for:
            self._lost = (f"the {self.operation} lock was not refreshed for {overdue:.0f} s (more than {self.refreshable_for:.0f} s; "
                          f"others may remove it after {self.stale_after:.0f} s)")
            return False
        try:
            mine = LockFile.model_validate_json(self.backend.load(Kind.locks, self.name))
        except ObjectMissing:
            self._lost = f"the {self.operation} lock locks/{self.name[:8]} was removed by another process"
            return False
        except ValueError:
            self._lost = f"the {self.operation} lock locks/{self.name[:8]} was overwritten"
            return False
        if mine.holder != HOLDER:
            self._lost = f"the {self.operation} lock locks/{self.name[:8]} now belongs to another holder"
            return False
        return True

    def ensure(self) -> None:
        """Raise LockLost unless the lock is still ours and fresh; writers call it before each write that commits."""
        if not self.held:
            return
        with self._guard:
            if self._lost is None:
                self._check()
            if self._lost is not None:
                raise LockLost(f"{self._lost}; the {self.operation} was stopped before writing anything that refers to its data")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.held:  # ours even when lost: lock names are random, nobody else writes this one
            self.backend.remove(Kind.locks, self.name)
        self.held = False

    def __enter__(self) -> RepoLock:
        self.acquire()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def unlock(backend: Backend, *, remove_all: bool = False, stale_after: float | None = None) -> UnlockResult:
    """Remove stale and unparsable locks (restic's `unlock`); with remove_all, every lock."""
    stale_after = stale_after if stale_after is not None else lock_ages()[1]
    locks, unparsable = read_locks(backend)
    result = UnlockResult(unparsable=sorted(unparsable))
    for name, lock in sorted(locks.items()):
        if remove_all or is_stale(lock, stale_after):
            backend.remove(Kind.locks, name)
            result.removed.append(name)
        else:
            result.kept.append(f"{name[:8]}: {describe(lock)}")
    for name in unparsable:
        backend.remove(Kind.locks, name)
        result.removed.append(name)
    return result
