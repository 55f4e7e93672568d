"""The on-disk format of the audit log: file names, atomic writes, the lock, reading entries and HEAD."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from mlark.audit.models import AuditEntry

ENTRY_NAME = re.compile(r"^(\d{8})-([0-9a-f]{12})\.json$")
REPORT_NAME = re.compile(r"^(\d{8})-([0-9a-f]{12})\.md$")
HEAD_NAME = "HEAD"
ENV_AUDIT_DIR = "MLARK_AUDIT_DIR"


class AuditError(Exception):
    """The log cannot be extended or read as asked; the message says which file and why."""


class Head(BaseModel):
    sequence: int
    hash: str


def default_audit_dir() -> Path:
    """$MLARK_AUDIT_DIR, else ~/.local/share/mlark/audit."""
    configured = os.environ.get(ENV_AUDIT_DIR)
    return Path(configured).expanduser() if configured else Path.home() / ".local" / "share" / "mlark" / "audit"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Temp file, fsync, rename, fsync the directory: after a crash the file is whole or absent."""
    temporary = path.with_name(f".tmp-{path.name}-{os.getpid()}")  # dot-prefixed: never read as an entry
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_dir(path.parent)


@contextlib.contextmanager
def directory_lock(directory: Path) -> Iterator[None]:
    """An exclusive flock on the directory itself: appenders in any process take turns."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_entry(path: Path) -> tuple[dict[str, Any], AuditEntry]:
    """The raw JSON (what the hash is checked against) and the parsed entry; AuditError when unreadable."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AuditError(f"{path.name}: unreadable: {error}") from None
    try:
        return raw, AuditEntry.model_validate(raw)
    except ValidationError as error:
        raise AuditError(f"{path.name}: not an audit entry: {error.errors()[0]['msg']}") from None


def read_head(directory: Path) -> Head | None:
    path = directory / HEAD_NAME
    if not path.exists():
        return None
    try:
        return Head.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as error:
        raise AuditError(f"{HEAD_NAME}: unreadable: {error}") from None


def entry_files(directory: Path) -> list[Path]:
    if not directory.is_dir():
        return []
    return sorted(path for path in directory.iterdir() if ENTRY_NAME.match(path.name))
