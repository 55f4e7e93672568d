"""Loading a database dump into the database of a restored workload.

PostgreSQL and MariaDB/MySQL: the dump is a script fed to the database's own client by exec
in its running container (see apps/databases.py for what the scripts do). Restore points made
before the mlark-pg/2 format hold `pg_dumpall --clean` output, which would drop the loading
superuser and the databases the container just created: its role statements are rewritten on
the way in (no DROP ROLE, CREATE ROLE only where missing), which makes it load.

Redis: the RDB is written into the server's data claim, which the restore created empty,
before the server's workload exists: Redis reads `dump.rdb` when it starts, and nothing can
load an RDB into a running server. See docs/backup-and-restore.md, "Databases".
"""

from __future__ import annotations

import re
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator

from kubernetes.client import ApiClient

from mlark.apps.databases import PG_LEGACY_ALL, commands, legacy_pg_dumpall_load
from mlark.kube.exec import exec_feed, sized_stdin, wait_exec_ready
from mlark.repo import Repository
from mlark.restore.steps import LoadDatabase
from mlark.restore.workloads import wait_workload_running
from mlark.restorepoint.store import read_stream
from mlark.volumedata import transfer

# A database container is Running before its server accepts connections: a load that fails
# to connect has changed nothing and is tried again.
NOT_YET_LISTENING = ("can't connect", "connection refused", "could not connect", "no such file or directory", "is the server running")
ATTEMPTS = 30
Chunks = Callable[[], Iterable[bytes]]


class DatabaseLoadError(RuntimeError):
    """The dump could not be loaded; the message names the database and the client's error."""


def load_database(api: ApiClient, repo: Repository, snapshot_id: str, step: LoadDatabase, timeout: float = 300.0) -> None:
    if step.capture.engine == "redis":
        place_redis_data(api, repo, snapshot_id, step)
        return
    _, load, _ = commands(step.capture.engine, list(step.capture.databases))  # type: ignore[arg-type]
    if load is None:
        raise DatabaseLoadError(f"{step.capture.engine} dumps cannot be loaded by exec")
    chunks: Chunks = lambda: read_stream(repo, snapshot_id, step.capture.stream)  # noqa: E731 - re-read per attempt
    size = step.capture.bytes
    if step.capture.engine == "postgres" and step.capture.tool.startswith(PG_LEGACY_ALL):
        size += legacy_pg_dumpall_growth(chunks())
        load = legacy_pg_dumpall_load()
        chunks = lambda: legacy_pg_dumpall(read_stream(repo, snapshot_id, step.capture.stream))  # noqa: E731
    pod = wait_workload_running(api, step.namespace, step.selector, timeout)["metadata"]["name"]
    wait_exec_ready(api, step.namespace, pod, step.container, timeout)
    for attempt in range(ATTEMPTS):
        # Exactly the dump's size is fed and read: some runtimes never pass on the close of stdin.
        result = exec_feed(api, step.namespace, pod, step.container, sized_stdin(load, size), chunks())
        if result.returncode == 0:
            return
        error = result.stderr.decode(errors="replace").strip() or result.message
        # Exit -1: the exec broke in the runtime, not in the client; every dump drops what it
        # recreates, so it can be loaded again over whatever part arrived.
        retry = result.returncode == -1 or any(text in error.lower() for text in NOT_YET_LISTENING)
        if attempt + 1 == ATTEMPTS or not retry:
            raise DatabaseLoadError(f"loading {step.capture.stream} into {step.namespace}/{pod} failed "
                                    f"(exit {result.returncode}): {error[-500:]}")
        time.sleep(1.0)


# -- PostgreSQL restore points made with pg_dumpall --clean ------------------------------------

# pg_dumpall puts every role statement before its first \connect; the rest is pg_dump output.
_FIRST_CONNECT = b"\n\\connect "
_HEADER_LIMIT = 64 << 20
_CREATE_ROLE = re.compile(rb"^CREATE ROLE (.+);$")
_ALTER_ROLE = re.compile(rb'^ALTER ROLE ("(?:[^"]|"")*"|[^ ]+) WITH .*;$')


def _split_header(chunks: Iterable[bytes]) -> tuple[bytes, bytes, Iterator[bytes]]:
    """(the role section, the first bytes after it, the remaining chunks)."""
    iterator = iter(chunks)
    buffer = b""
    for chunk in iterator:
        buffer += chunk
        found = buffer.find(_FIRST_CONNECT)
        if found >= 0:
            return buffer[:found + 1], buffer[found + 1:], iterator
        if len(buffer) > _HEADER_LIMIT:
            break
    raise DatabaseLoadError("not a pg_dumpall script: no \\connect in its first 64 MiB")


def _rewrite_roles(header: bytes) -> bytes:
    """No DROP ROLE (one of them is the loading superuser, and roles owning objects in other
    databases cannot be dropped); CREATE ROLE only where the role is missing; the loading
    superuser's ALTER ROLE skipped (it would set the source's password, and the script's next
    \\connect would fail with the target container's own)."""
    lines = []
    for line in header.split(b"\n"):
        if line.startswith(b"DROP ROLE "):
            continue
        if match := _CREATE_ROLE.match(line):
            line = (b"DO $mlark$ BEGIN CREATE ROLE " + match.group(1)
                    + b"; EXCEPTION WHEN duplicate_object THEN NULL; END $mlark$;")
        elif match := _ALTER_ROLE.match(line):
            name = match.group(1).replace(b"'", b"''")
            line = (b"DO $mlark$ BEGIN IF quote_ident(current_user) <> '" + name + b"' THEN EXECUTE $mlark_alter$"
                    + line[:-1] + b"$mlark_alter$; END IF; END $mlark$;")
        lines.append(line)
    return b"\n".join(lines)


def legacy_pg_dumpall(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """A pg_dumpall --clean script made loadable over any server (see _rewrite_roles)."""
    header, rest, remaining = _split_header(chunks)
    yield _rewrite_roles(header)
    yield rest
    yield from remaining


def legacy_pg_dumpall_growth(chunks: Iterable[bytes]) -> int:
    """How many bytes legacy_pg_dumpall adds (negative: removes); reads only the role section."""
    header, _, remaining = _split_header(chunks)
    close = getattr(remaining, "close", None)
    if close is not None:
        close()
    return len(_rewrite_roles(header)) - len(header)


# -- Redis --------------------------------------------------------------------------------------


def rdb_archive(paths: list[str], size: int, owner: tuple[int, int], content: Chunks) -> Iterator[bytes]:
    """A tar stream holding the RDB (`content()`, size bytes, read once per path) at each of
    `paths`, with their parent directories, all owned by `owner` so the server can write its
    next snapshot beside them."""
    directories = sorted({"/".join(path.split("/")[:depth]) for path in paths for depth in range(1, path.count("/") + 1)})
    for directory in directories:
        yield _tar_header(directory, tarfile.DIRTYPE, 0, 0o750, owner)
    for path in paths:
        yield _tar_header(path, tarfile.REGTYPE, size, 0o640, owner)
        written = 0
        for chunk in content():
            written += len(chunk)
            yield chunk
        if written != size:
            raise DatabaseLoadError(f"the RDB stream holds {written} bytes, the restore point says {size}")
        yield b"\0" * (-size % tarfile.BLOCKSIZE)
    yield b"\0" * (2 * tarfile.BLOCKSIZE)


def rdb_archive_size(paths: list[str], size: int) -> int:
    directories = {"/".join(path.split("/")[:depth]) for path in paths for depth in range(1, path.count("/") + 1)}
    padded = size + (-size % tarfile.BLOCKSIZE)
    return len(directories) * tarfile.BLOCKSIZE + len(paths) * (tarfile.BLOCKSIZE + padded) + 2 * tarfile.BLOCKSIZE


def _tar_header(name: str, kind: bytes, size: int, mode: int, owner: tuple[int, int]) -> bytes:
    info = tarfile.TarInfo("./" + name)
    info.type, info.size, info.mode, info.mtime = kind, size, mode, int(time.time())
    info.uid, info.gid = owner
    try:
        return info.tobuf(format=tarfile.USTAR_FORMAT)  # one block: rdb_archive_size counts on it
    except ValueError as error:
        raise DatabaseLoadError(f"cannot put the RDB at {name!r}: {error}") from error


def place_redis_data(api: ApiClient, repo: Repository, snapshot_id: str, step: LoadDatabase) -> None:
    """Write the RDB into the (new, empty) data claim before the Redis workload starts."""
    if step.data_file is None or step.guard is None:
        raise DatabaseLoadError(f"Redis {step.namespace}/{step.container}: no data claim to put its RDB in")
    size, paths = step.capture.bytes, [step.data_file, *([step.aof_file] if step.aof_file else [])]
    content: Chunks = lambda: read_stream(repo, snapshot_id, step.capture.stream)  # noqa: E731 - read once per path
    archive = lambda: rdb_archive(paths, size, step.data_owner, content)  # noqa: E731 - built again per attempt
    transfer.restore(api, step.namespace, step.guard.name, archive, rdb_archive_size(paths, size))

