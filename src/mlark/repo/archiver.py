"""Backup: walk paths and read streams, chunk them, and save trees, blobs and a snapshot.

The main thread reads and chunks (both release the GIL); a worker pool hashes,
compresses and seals chunks; BlobSaver's writers store packs. A semaphore bounds
the chunks in flight, so memory stays bounded whatever the size of the data.
"""

from __future__ import annotations

import os
import stat
import threading
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from mlark.repo.chunker import IterableReader
from mlark.repo.compress import AUTO
from mlark.repo.models import BackupSummary, Node, Tree
from mlark.repo.progress import Progress
from mlark.repo.repository import Repository
from mlark.repo.saver import BlobSaver


@dataclass
class StreamSource:
    """Bytes to back up under a name: a readable binary file object or an iterable of bytes."""

    name: str
    source: BinaryIO | Iterable[bytes]


@dataclass
class BackupOptions:
    tags: list[str] = field(default_factory=list)
    host: str | None = None
    parent: str | None = None  # None: latest snapshot of the same host and sources; "none": no parent
    metadata: dict[str, Any] = field(default_factory=dict)
    compression: int | None = AUTO  # zstd level, AUTO, or None for none
    workers: int = max(2, os.cpu_count() or 2)
    lock_wait: float = 0.0


ParentNodes = dict[str, Node]


class Archiver:
    def __init__(self, repo: Repository, saver: BlobSaver, pool: ThreadPoolExecutor, progress: Progress, workers: int) -> None:
        self.repo = repo
        self.saver = saver
        self.pool = pool
        self.progress = progress
        self.summary = BackupSummary()
        self.warnings: list[str] = []
        self._slots = threading.BoundedSemaphore(workers * 3)
        self._small = repo.config.chunker.min_size

    # --- content ------------------------------------------------------------------

    def _store(self, data: bytes) -> str:
        try:
            blob_id, _ = self.saver.save("data", data)
            self.progress.advance(len(data))
            return blob_id
        finally:
            self._slots.release()

    def _submit(self, data: bytes) -> Future[str]:
        self._slots.acquire()
        self.summary.bytes_read += len(data)
        return self.pool.submit(self._store, data)

    def _content(self, reader: Any, size_hint: int) -> list[Future[str]]:
        if 0 <= size_hint <= self._small:
            # Files below the minimum chunk size are one chunk whatever the chunker
            # would say: skip its buffer setup, which dominates for small files.
            data = reader.read(self._small + 1)
            if len(data) <= self._small:
                return [self._submit(data)] if data else []
            return self._content_chunks(_Prefixed(data, reader))
        return self._content_chunks(reader)

    def _content_chunks(self, reader: Any) -> list[Future[str]]:
        return [self._submit(chunk) for chunk in self.repo.chunker.chunks(reader)]

    def _finish(self, futures: list[Future[str]]) -> list[str]:
        return [future.result() for future in futures]

    # --- trees --------------------------------------------------------------------

    def save_tree(self, nodes: list[Node]) -> str:
        data = Tree(nodes=sorted(nodes, key=lambda n: n.name)).model_dump_json(exclude_defaults=True).encode()
        blob_id, _ = self.saver.save("tree", data)
        return blob_id

    def parent_nodes(self, subtree: str | None) -> ParentNodes:
        if not subtree:
            return {}
        return {node.name: node for node in self.repo.load_tree(subtree).nodes}

    def dir_node(self, path: str, name: str, st: os.stat_result, parent: Node | None) -> Node:
        before = self.parent_nodes(parent.subtree if parent and parent.type == "dir" else None)
        pending: list[tuple[Node, list[Future[str]] | None]] = []
        for entry in _scandir(path, self.warnings):
            try:
                child_st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                self.warnings.append(f"{entry.path}: {exc.strerror}")
                continue
            pending.extend(self.entry_node(entry.path, entry.name, child_st, before.get(entry.name)))
        nodes = [node if futures is None else node.model_copy(update={"content": self._finish(futures)})
                 for node, futures in pending]
        self.summary.dirs += 1
        return _meta_node(name, "dir", st, subtree=self.save_tree(nodes))

    def entry_node(self, path: str, name: str, st: os.stat_result, parent: Node | None) -> list[tuple[Node, list[Future[str]] | None]]:
        """A node, plus the futures of its content when that is still being stored."""
        if stat.S_ISDIR(st.st_mode):
            return [(self.dir_node(path, name, st, parent), None)]
        if stat.S_ISLNK(st.st_mode):
            return [(_meta_node(name, "symlink", st, target=os.readlink(path)), None)]
        if not stat.S_ISREG(st.st_mode):
            self.warnings.append(f"{path}: skipped (not a regular file, directory or symlink)")
            return []
        return self.file_node(path, name, st, parent)

    def file_node(self, path: str, name: str, st: os.stat_result, parent: Node | None) -> list[tuple[Node, list[Future[str]] | None]]:
        self.summary.total_size += st.st_size
        if parent is not None and _unchanged(parent, st) and all(blob in self.repo.index for blob in parent.content):
            self.summary.files_unchanged += 1
            self.progress.advance(st.st_size)
            return [(_meta_node(name, "file", st, content=parent.content), None)]
        try:
            with open(path, "rb") as handle:
                futures = self._content(handle, st.st_size)
        except OSError as exc:
            self.warnings.append(f"{path}: {exc.strerror}")
            return []
        if parent is None:
            self.summary.files_new += 1
        else:
            self.summary.files_changed += 1
        return [(_meta_node(name, "file", st), futures)]

    def stream_node(self, stream: StreamSource) -> Node:
        reader = stream.source if hasattr(stream.source, "read") else IterableReader(stream.source)  # type: ignore[arg-type]
        before = self.summary.bytes_read
        content = self._finish(self._content_chunks(reader))
        size = self.summary.bytes_read - before
        self.summary.streams += 1
        self.summary.total_size += size
        now = time.time_ns()
        return Node(name=stream.name.rsplit("/", 1)[-1], type="stream", mode=0o600, mtime_ns=now, size=size, content=content)


class _Prefixed:
    """A reader that first returns already-read bytes, then continues with the file."""

    def __init__(self, head: bytes, rest: Any) -> None:
        self._head = head
        self._rest = rest

    def read(self, n: int = -1) -> bytes:
        if self._head:
            out, self._head = (self._head, b"") if n < 0 or n >= len(self._head) else (self._head[:n], self._head[n:])
            return out
        return self._rest.read(n)  # type: ignore[no-any-return]


def _scandir(path: str, warnings: list[str]) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError as exc:
        warnings.append(f"{path}: {exc.strerror}")
        return []


def _meta_node(name: str, kind: Any, st: os.stat_result, **extra: Any) -> Node:
    size = st.st_size if kind == "file" else 0
    return Node(name=name, type=kind, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid,
                mtime_ns=st.st_mtime_ns, size=size, inode=st.st_ino, **extra)


def _unchanged(parent: Node, st: os.stat_result) -> bool:
    return (parent.type == "file" and parent.size == st.st_size and parent.mtime_ns == st.st_mtime_ns
            and parent.inode == st.st_ino)
