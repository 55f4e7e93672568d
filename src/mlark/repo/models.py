"""Pydantic models of every stored file format and of every result the engine returns.

Stored formats are versioned; see docs/repository-format.md for the invariants.
"""

from __future__ import annotations

import base64
import datetime as dt
import os
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

FORMAT_NAME = "mlark-repository"
FORMAT_VERSION = 1

BlobType = Literal["data", "tree"]
NodeType = Literal["file", "dir", "symlink", "stream", "fifo", "chardev", "blockdev"]


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- config (plaintext) -----------------------------------------------------------


class ChunkerParams(_Stored):
    # The ranges FastCDC accepts; checked when the config is read, not when the first file is cut.
    min_size: StrictInt = Field(512 * 1024, ge=64, le=1024 * 1024)
    avg_size: StrictInt = Field(1024 * 1024, ge=256, le=4 * 1024 * 1024)
    max_size: StrictInt = Field(8 * 1024 * 1024, ge=1024, le=16 * 1024 * 1024)

    @model_validator(mode="after")
    def _ordered(self) -> ChunkerParams:
        if not self.min_size <= self.avg_size <= self.max_size:
            raise ValueError(f"chunker sizes must be ordered min_size <= avg_size <= max_size, not "
                             f"{self.min_size} / {self.avg_size} / {self.max_size}")
        return self


class ObjectLock(_Stored):
    mode: Literal["GOVERNANCE", "COMPLIANCE"] = "COMPLIANCE"
    days: int = Field(ge=1)


class RepoConfig(_Stored):
    format: Literal["mlark-repository"] = FORMAT_NAME
    version: StrictInt = Field(FORMAT_VERSION, ge=1)
    id: str = Field(pattern=r"^[0-9a-f]{32}$")
    created: dt.datetime
    chunker: ChunkerParams = ChunkerParams()
    pack_size: StrictInt = Field(32 * 1024 * 1024, gt=0)
    object_lock: ObjectLock | None = None


# --- keys (plaintext JSON around a wrapped secret) ---------------------------------------


class KdfSpec(_Stored):
    algorithm: Literal["argon2id"] = "argon2id"
    time_cost: int
    memory_kib: int
    parallelism: int
    salt: str  # base64


class KeyFile(_Stored):
    version: int = 1
    created: dt.datetime
    host: str
    username: str
    kdf: KdfSpec
    data: str  # base64 of nonce || AES-GCM(master secret), AAD = repository id


# --- packs and indexes (encrypted) ------------------------------------------------------


class BlobEntry(_Stored):
    id: str
    type: BlobType
    offset: int
    length: int  # stored bytes: nonce + ciphertext + tag
    raw_length: int  # plaintext bytes after decompression
    compressed: bool


class PackHeader(_Stored):
    version: int = 1
    blobs: list[BlobEntry]


class IndexPack(_Stored):
    id: str
    size: int
    blobs: list[BlobEntry]


class IndexFile(_Stored):
    version: int = 1
    supersedes: list[str] = []
    packs: list[IndexPack]


# --- trees and snapshots (encrypted) ----------------------------------------------------


class Xattr(_Stored):
    name: str
    value: str  # base64


class Node(_Stored):
    """One entry of a tree. Names and link targets are bytes on Linux: when they are not UTF-8,
    `name`/`target` show them with the bad bytes escaped (\\xNN) and `name_raw`/`target_raw` hold
    the bytes (base64), which restore uses (restic keeps raw link targets the same way)."""

    name: str
    type: NodeType
    mode: int = 0
    uid: int = 0
    gid: int = 0
    mtime_ns: int = 0
    size: int = 0
    inode: int = 0
    content: list[str] = []
    subtree: str | None = None
    target: str | None = None
    name_raw: str | None = None
    target_raw: str | None = None
    links: int = 0  # st_nlink of a file with hard links (> 1); with device and inode it names the link group
    device: int = 0  # st_dev of such a file
    rdev: int = 0  # device number of a chardev or blockdev node
    xattrs: list[Xattr] = []

    def fs_name(self) -> str:
        """The name as the OS takes it (undecodable bytes as surrogate escapes)."""
        return _from_raw(self.name, self.name_raw)

    def fs_target(self) -> str:
        return _from_raw(self.target or "", self.target_raw)


def fs_fields(value: str, field: str) -> dict[str, str]:
    """`field` (and `field_raw` when needed) for a name or link target as the OS gave it."""
    try:
        value.encode("utf-8")
        return {field: value}
    except UnicodeEncodeError:
        raw = os.fsencode(value)
        return {field: raw.decode("utf-8", "backslashreplace"), f"{field}_raw": base64.b64encode(raw).decode()}


def printable(value: str) -> str:
    """A path or message as UTF-8 text, undecodable bytes escaped."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        return os.fsencode(value).decode("utf-8", "backslashreplace")


def _from_raw(shown: str, raw: str | None) -> str:
    return os.fsdecode(base64.b64decode(raw)) if raw is not None else shown


class Tree(_Stored):
    nodes: list[Node]


class BackupSummary(BaseModel):
    """What one backup did. Also the `-o json` output of `mlark repo backup`."""

    snapshot_id: str = ""
    parent: str | None = None
    files_new: int = 0
    files_changed: int = 0
    files_unchanged: int = 0
    dirs: int = 0
    streams: int = 0
    bytes_read: int = 0
    bytes_new: int = 0  # plaintext bytes of blobs the repository lacked
    bytes_stored: int = 0  # bytes those blobs take in the repository (compressed + encrypted)
    total_size: int = 0  # plaintext size of everything the snapshot references
    blobs_new: int = 0
    warnings: list[str] = []
    duration_seconds: float = 0.0


class Snapshot(_Stored):
    version: int = 1
    time: dt.datetime
    host: str
    username: str
    paths: list[str] = []
    streams: list[str] = []
    tags: list[str] = []
    parent: str | None = None
    tree: str
    metadata: dict[str, Any] = {}
    summary: BackupSummary | None = None


class LockFile(_Stored):
    exclusive: bool
    host: str
    pid: int
    operation: str
    time: dt.datetime
    refreshed: dt.datetime
    # Added after format version 1 was first written: empty in locks of older mlark.
    holder: str = ""  # random per process: unique across hosts, containers and restarts
    boot_id: str = ""  # the kernel's boot ID: with pid_namespace, says whether `pid` is one we can see
    pid_namespace: str = ""


# --- results -------------------------------------------------------------------------


class SnapshotInfo(BaseModel):
    id: str
    short_id: str
    time: dt.datetime
    host: str
    paths: list[str]
    streams: list[str]
    tags: list[str]
    parent: str | None
    total_size: int | None
    metadata: dict[str, Any]


class RestoreSummary(BaseModel):
    snapshot_id: str
    target: str
    files: int = 0
    dirs: int = 0
    symlinks: int = 0
    hardlinks: int = 0  # names restored as links to a file restored before
    special: int = 0  # FIFOs and device nodes
    bytes_written: int = 0
    damaged: list[str] = []
    target_errors: list[str] = []  # paths the target kept from being written (e.g. a directory where a file goes)
    warnings: list[str] = []
    duration_seconds: float = 0.0


class CheckProblem(BaseModel):
    kind: str
    object: str
    message: str


class CheckReport(BaseModel):
    ok: bool
    snapshots: int = 0
    packs: int = 0
    blobs: int = 0
    read_data: bool = False
    bytes_read: int = 0
    errors: list[CheckProblem] = []
    warnings: list[CheckProblem] = []


class ForgetResult(BaseModel):
    keep: list[str]
    remove: list[str]
    reasons: dict[str, list[str]]
    dry_run: bool
    skipped: list[str] = []  # damaged snapshots, neither kept nor removed by a policy


class PruneResult(BaseModel):
    packs_deleted: int = 0
    packs_repacked: int = 0
    packs_kept: int = 0
    blobs_removed: int = 0
    bytes_freed: int = 0
    indexes_replaced: int = 0
    packs_too_young: int = 0  # unindexed packs inside the safety margin: maybe a live backup's
    temporary_files_removed: int = 0
    dry_run: bool = False
    skipped: list[str] = []  # damaged snapshots: unreadable, so what only they used is removed


class UnlockResult(BaseModel):
    removed: list[str] = []
    kept: list[str] = []
    unparsable: list[str] = []


class StatsResult(BaseModel):
    snapshots: int
    packs: int
    blobs: int
    stored_bytes: int  # sum of pack sizes
    raw_bytes: int  # plaintext of unique blobs
    restore_size: int  # plaintext of all snapshots, duplicates counted
    compression_ratio: float
    dedup_ratio: float
    skipped: list[str] = []  # damaged snapshots, not counted


class KeyInfo(BaseModel):
    id: str
    current: bool
    created: dt.datetime
    host: str
    username: str
