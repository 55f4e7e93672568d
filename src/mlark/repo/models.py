"""Pydantic models of every stored file format and of every result the engine returns.

Stored formats are versioned; see docs/repository-format.md for the invariants.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_NAME = "mlark-repository"
FORMAT_VERSION = 1

BlobType = Literal["data", "tree"]
NodeType = Literal["file", "dir", "symlink", "stream"]


class _Stored(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- config (plaintext) -----------------------------------------------------------


class ChunkerParams(_Stored):
    min_size: int = 512 * 1024
    avg_size: int = 1024 * 1024
    max_size: int = 8 * 1024 * 1024


class ObjectLock(_Stored):
    mode: Literal["GOVERNANCE", "COMPLIANCE"] = "COMPLIANCE"
    days: int = Field(ge=1)


class RepoConfig(_Stored):
    format: Literal["mlark-repository"] = FORMAT_NAME
    version: int = FORMAT_VERSION
    id: str
    created: dt.datetime
    chunker: ChunkerParams = ChunkerParams()
    pack_size: int = 32 * 1024 * 1024
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


class Node(_Stored):
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
    bytes_written: int = 0
    damaged: list[str] = []
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


class KeyInfo(BaseModel):
    id: str
    current: bool
    created: dt.datetime
    host: str
    username: str
