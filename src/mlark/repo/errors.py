"""Errors of the repository engine; each carries the process exit code the CLI uses.

Exit codes (documented in docs/repository.md):
1 generic failure, 2 bad usage, 3 damaged data found (check/restore),
4 snapshot or path not found, 10 repository not found, 11 unsupported format,
12 wrong password, 13 repository locked, 14 storage access denied,
15 storage unreachable, 16 storage full, 17 lock lost while writing,
18 repository is read-only (an operation that must write),
30 invalid repository config, 31 storage misconfigured (bad endpoint, DNS, TLS, a 4xx refusal),
32 no storage credentials, 33 restore target in the way (the target, not the repository).
"""

from __future__ import annotations


class RepoError(Exception):
    """Base of every error the engine raises on purpose."""

    exit_code = 1


class UsageError(RepoError):
    exit_code = 2


class DamagedData(RepoError):
    """Stored bytes that fail authentication, hashing or parsing."""

    exit_code = 3


class NotFound(RepoError):
    """A snapshot, file inside a snapshot, or stored object does not exist."""

    exit_code = 4


class RepositoryNotFound(RepoError):
    exit_code = 10


class RepositoryExists(RepoError):
    exit_code = 10


class UnsupportedFormat(RepoError):
    exit_code = 11


class InvalidConfig(RepoError):
    """The repository config does not parse or holds values no mlark accepts (damaged or hand-edited)."""

    exit_code = 30


class RestoreTargetError(RepoError):
    """Something in the restore target stops a file from being written (e.g. a directory where a file goes)."""

    exit_code = 33


class WrongPassword(RepoError):
    exit_code = 12


class Locked(RepoError):
    exit_code = 13


class LockLost(RepoError):
    """The lock of a writing operation was removed, taken over, or not refreshed in time."""

    exit_code = 17


class ReadOnlyRepository(RepoError):
    """The backend refuses writes and the operation has to write."""

    exit_code = 18


class StorageError(RepoError):
    """A backend operation failed for a reason that retrying will not fix."""

    exit_code = 1


class AccessDenied(StorageError):
    exit_code = 14


class StorageMisconfigured(StorageError):
    """The storage cannot work as given: malformed endpoint, unknown host, TLS failure, a 4xx other
    than throttling. Retrying does not help, so it is never retried."""

    exit_code = 31


class NoCredentials(StorageError):
    """No storage credentials were found at all (as opposed to credentials the storage refuses)."""

    exit_code = 32


class Unreachable(StorageError):
    exit_code = 15


class StorageFull(StorageError):
    exit_code = 16


class TransientError(StorageError):
    """A backend failure worth retrying (5xx, timeouts, dropped connections)."""

    exit_code = 15


class ObjectMissing(NotFound):
    """A stored object the caller asked for is absent from the backend."""
