"""Backup: walk paths and read streams, chunk them, and save trees, blobs and a snapshot.

The main thread walks; reader threads read and chunk larger files (both release the GIL),
so the walk goes on to the next files meanwhile; a worker pool hashes, compresses and seals
chunks, and reads small files whole, in batches; BlobSaver's writers store packs. A semaphore bounds the chunks in flight, and a
directory's tree is saved once its files are stored, with a bounded number of files
waiting for that, so memory stays bounded whatever the size of the data.
"""

from __future__ import annotations

import base64
import errno
import os
import stat
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple

from mlark.repo.chunker import IterableReader
from mlark.repo.compress import AUTO
from mlark.repo.models import BackupSummary, Node, Tree, Xattr, fs_fields, printable
from mlark.repo.progress import Progress
from mlark.repo.repository import Repository
from mlark.repo.saver import BlobSaver


@dataclass
class StreamSource:
    """Bytes to back up under a name: a readable binary file object or an iterable of bytes.

    With `segmented`, source is an iterable of segments (each an iterable of bytes) whose
    concatenation is the stream; chunks never span two segments (e.g. the members of a tar
    stream), which keeps the chunks of unchanged segments stable."""

    name: str
    source: BinaryIO | Iterable[bytes] | Iterable[Iterable[bytes]]
    segmented: bool = False


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


# Directories are saved when their files are stored; up to this many files may wait for that,
# so walking goes on (and the workers stay busy) across directory boundaries, within bounded memory.
_LOOKAHEAD_FILES = 4096


# Small files of one directory are stored by one worker task, up to this many or this many bytes:
# one hand-over between threads per batch instead of per file.
_BATCH_FILES = 32
_BATCH_BYTES = 4 * 1024 * 1024


class _Batch:
    """Small files (path, changed?) to read and store in one worker task, in order."""

    def __init__(self) -> None:
        self.files: list[tuple[str, bool, int]] = []  # path, changed?, size when listed
        self.size = 0
        self.future: Future[list[list[str] | None]] | None = None


class _Content:
    """The blob IDs of a file being stored: chunk futures, or its place in a batch of small files."""

    def __init__(self, chunks: list[Future[str]] | None = None, batch: _Batch | None = None, index: int = 0,
                 read: Future[list[Future[str]] | None] | None = None) -> None:
        self.chunks = chunks
        self.batch = batch
        self.index = index
        self.read = read  # a file read and chunked on a reader thread: the futures of its chunks

    def done(self) -> bool:
        """Whether result() would return without waiting."""
        if self.batch is not None:
            return self.batch.future is not None and self.batch.future.done()
        if self.read is not None:
            if not self.read.done():
                return False
            if self.read.exception() is not None or self.read.result() is None:
                return True
            return all(future.done() for future in self.read.result() or [])
        return all(future.done() for future in self.chunks or [])

    def result(self) -> list[str] | None:
        """The blob IDs, or None when the file could not be read (a warning says why)."""
        if self.batch is not None:
            assert self.batch.future is not None, "batch not handed out"
            return self.batch.future.result()[self.index]
        chunks = self.chunks
        if self.read is not None:
            chunks = self.read.result()
            if chunks is None:
                return None
        return [future.result() for future in chunks or []]


class _FileMeta(NamedTuple):
    """A file being stored: its node is made once its blob IDs are known (one model, not a copy)."""

    name: str
    st: os.stat_result
    xattrs: list[Xattr]

    def node(self, content: list[str]) -> Node:
        return _meta_node(self.name, "file", self.st, content=content, xattrs=self.xattrs)


class _Dir:
    """A walked directory whose tree is saved once its files are stored (children first)."""

    def __init__(self, name: str, st: os.stat_result, items: list[Any], files: int, xattrs: list[Xattr]) -> None:
        self.name = name
        self.st = st
        self.xattrs = xattrs
        self.items = items  # Node | (_FileMeta, _Content) | _Dir, in name order
        self.files = files
        self.node: Node | None = None


def _ready(walked: _Dir) -> bool:
    """Whether a walked directory's files are all stored and its subdirectories saved."""
    for item in walked.items:
        if isinstance(item, _Dir):
            if item.node is None:
                return False
        elif isinstance(item, tuple) and not item[1].done():
            return False
    return True


class Archiver:
    def __init__(self, repo: Repository, saver: BlobSaver, pool: ThreadPoolExecutor, progress: Progress, workers: int,
                 readers: ThreadPoolExecutor | None = None) -> None:
        self.repo = repo
        self.saver = saver
        self.pool = pool
        self.readers = readers  # None: larger files are read and chunked by the walking thread
        self.progress = progress
        self.summary = BackupSummary()
        self.warnings: list[str] = []
        self._slots = threading.BoundedSemaphore(workers * 3)  # chunks in flight
        # Batches of small files in flight: slots of their own, so the walk goes on through small
        # files while readers keep the chunk slots full.
        self._batch_slots = threading.BoundedSemaphore(workers * 2)
        self._small = repo.config.chunker.min_size
        self._count = threading.Lock()  # summary counters and warnings, updated by workers too
        self._walked: deque[_Dir] = deque()  # walked directories, children before parents
        self._waiting = 0  # files of walked directories not yet resolved
        self._batch: _Batch | None = None  # small files not yet handed to the workers

    # --- content ------------------------------------------------------------------

    def _save(self, data: bytes | memoryview) -> str:
        blob_id, _ = self.saver.save("data", data)
        self.progress.advance(len(data))
        with self._count:
            self.summary.bytes_read += len(data)
        return blob_id

    def _store(self, data: bytes | memoryview) -> str:
        try:
            return self._save(data)
        finally:
            self._slots.release()

    def _submit(self, data: bytes | memoryview) -> Future[str]:
        self._slots.acquire()
        return self.pool.submit(self._store, data)

    def _content_chunks(self, handle: BinaryIO) -> list[Future[str]]:
        return [self._submit(chunk) for chunk in self.repo.chunker.file_chunks(handle)]

    def _small_files(self, files: list[tuple[str, bool, int]]) -> list[list[str] | None]:
        """Read and store files expected to fit one chunk each, all on a worker thread."""
        try:
            return [self._small_file(path, changed, size) for path, changed, size in files]
        finally:
            self._batch_slots.release()

    def _small_file(self, path: str, changed: bool, size: int) -> list[str] | None:
        try:
            with open(path, "rb", buffering=0) as handle:
                # One byte more than listed tells whether it grew; a read of the size it may grow
                # to would allocate (and fault in) half a MiB for every few-KiB file.
                data = handle.read(size + 1)
                if len(data) != size:  # it grew, shrank, or the read came short: read on
                    data += _read_up_to(handle, self._small + 1 - len(data))
                if len(data) <= self._small:
                    return [self._save(data)] if data else []
                # It grew since it was listed: chunk it here, one chunk at a time.
                return [self._save(chunk) for chunk in self.repo.chunker.chunks(_Prefixed(data, handle))]
        except OSError as exc:
            self._unreadable(path, exc, changed)
            return None

    def _large_file(self, path: str, changed: bool) -> list[Future[str]] | None:
        """Read and chunk a file on a reader thread; the workers store its chunks."""
        try:
            with open(path, "rb", buffering=0) as handle:
                return self._content_chunks(handle)
        except OSError as exc:
            self._unreadable(path, exc, changed)
            return None

    def _unreadable(self, path: str, exc: OSError, changed: bool) -> None:
        with self._count:
            self.warnings.append(f"{path}: {exc.strerror}")
            if changed:
                self.summary.files_changed -= 1
            else:
                self.summary.files_new -= 1

    def _hand_out_small(self) -> None:
        """Give the pending batch of small files to the workers."""
        batch, self._batch = self._batch, None
        if batch is not None:
            self._batch_slots.acquire()
            batch.future = self.pool.submit(self._small_files, batch.files)

    def _finish(self, futures: list[Future[str]] | _Content) -> list[str]:
        if isinstance(futures, _Content):
            return futures.result() or []
        return [future.result() for future in futures]

    # --- trees --------------------------------------------------------------------

    def save_tree(self, nodes: list[Node]) -> str:
        # Sorted by the names' bytes: for UTF-8 names the same order as by text, so trees stay as before.
        ordered = sorted(nodes, key=lambda n: os.fsencode(n.fs_name()))
        data = Tree(nodes=ordered).model_dump_json(exclude_defaults=True).encode()
        blob_id, _ = self.saver.save("tree", data)
        return blob_id

    def parent_nodes(self, subtree: str | None) -> ParentNodes:
        if not subtree:
            return {}
        return {node.fs_name(): node for node in self.repo.load_tree(subtree).nodes}

    def _walk_dir(self, path: str, name: str, st: os.stat_result, parent: Node | None) -> _Dir:
        before = self.parent_nodes(parent.subtree if parent and parent.type == "dir" else None)
        items: list[Any] = []
        files = 0
        for entry in _scandir(path, self.warnings):
            try:
                child_st = entry.stat(follow_symlinks=False)
            except OSError as exc:
                self.warnings.append(f"{entry.path}: {exc.strerror}")
                continue
            item = self._entry(entry.path, entry.name, child_st, before.get(entry.name))
            if item is not None:
                items.append(item)
                files += isinstance(item, tuple)
        walked = _Dir(name, st, items, files, _xattrs(path, self.warnings))
        self._walked.append(walked)
        self._waiting += files
        self._resolve(_LOOKAHEAD_FILES)
        return walked

    def _resolve(self, keep: int) -> None:
        """Save the trees of walked directories until at most `keep` files wait: first every one
        whose files are already stored, then the oldest, waiting for its files."""
        self._hand_out_small()  # a directory's small files are batched until it is walked
        if keep and self._waiting > keep:
            # Without waiting: the oldest directory may hold a large file still being read,
            # while thousands of small files walked after it are stored already.
            pending: deque[_Dir] = deque()
            for walked in self._walked:
                if _ready(walked):
                    self._save_dir(walked)
                else:
                    pending.append(walked)
            self._walked = pending
        while self._walked and (self._waiting > keep or keep == 0):
            self._save_dir(self._walked.popleft())

    def _save_dir(self, walked: _Dir) -> None:
        """Save the tree of a walked directory, waiting for its files to be stored."""
        nodes: list[Node] = []
        for item in walked.items:
            if isinstance(item, _Dir):
                assert item.node is not None  # children are walked, and resolved, before parents
                nodes.append(item.node)
            elif isinstance(item, tuple):
                meta, content = item
                blobs = content.result()
                if blobs is not None:
                    nodes.append(meta.node(blobs))
            else:
                nodes.append(item)
        self._waiting -= walked.files
        walked.items = []
        self.summary.dirs += 1
        walked.node = _meta_node(walked.name, "dir", walked.st, subtree=self.save_tree(nodes), xattrs=walked.xattrs)

    def dir_node(self, path: str, name: str, st: os.stat_result, parent: Node | None) -> Node:
        walked = self._walk_dir(path, name, st, parent)
        self._resolve(0)
        assert walked.node is not None
        return walked.node

    def entry_node(self, path: str, name: str, st: os.stat_result, parent: Node | None) -> list[tuple[Node, list[Future[str]] | None]]:
        """The node of a path given to backup, with everything below it stored."""
        item = self._entry(path, name, st, parent)
        self._resolve(0)
        if isinstance(item, _Dir):
            assert item.node is not None
            return [(item.node, None)]
        if isinstance(item, tuple):
            meta, content = item
            blobs = content.result()
            return [] if blobs is None else [(meta.node(blobs), None)]
        return [] if item is None else [(item, None)]

    def _entry(self, path: str, name: str, st: os.stat_result, parent: Node | None) -> Any:
        if stat.S_ISDIR(st.st_mode):
            return self._walk_dir(path, name, st, parent)
        if stat.S_ISLNK(st.st_mode):
            return _meta_node(name, "symlink", st, **fs_fields(os.readlink(path), "target"))
        special = _SPECIAL.get(stat.S_IFMT(st.st_mode))
        if special is not None:  # kept as restic keeps them: FIFOs and device nodes, with their numbers
            return _meta_node(name, special, st, rdev=st.st_rdev if special != "fifo" else 0,
                              xattrs=_xattrs(path, self.warnings))
        if not stat.S_ISREG(st.st_mode):
            self.warnings.append(f"{path}: skipped (a socket or other special file)")
            return None
        return self.file_node(path, name, st, parent)

    def file_node(self, path: str, name: str, st: os.stat_result, parent: Node | None) -> Node | tuple[_FileMeta, _Content] | None:
        self.summary.total_size += st.st_size
        if parent is not None and _unchanged(parent, st) and all(blob in self.repo.index for blob in parent.content):
            self.summary.files_unchanged += 1
            self.progress.advance(st.st_size)
            return _meta_node(name, "file", st, content=parent.content, xattrs=_xattrs(path, self.warnings))
        with self._count:
            if parent is None:
                self.summary.files_new += 1
            else:
                self.summary.files_changed += 1
        xattrs = _xattrs(path, self.warnings)
        if st.st_size <= self._small:
            # Small files are opened, read and stored on a worker, in batches: the walk never waits on them.
            batch = self._batch = self._batch or _Batch()
            batch.files.append((path, parent is not None, st.st_size))
            batch.size += st.st_size
            content = _Content(batch=batch, index=len(batch.files) - 1)
            if len(batch.files) >= _BATCH_FILES or batch.size >= _BATCH_BYTES:
                self._hand_out_small()
            return _FileMeta(name, st, xattrs), content
        if self.readers is not None:
            return _FileMeta(name, st, xattrs), _Content(read=self.readers.submit(self._large_file, path, parent is not None))
        try:
            with open(path, "rb", buffering=0) as handle:
                content = _Content(chunks=self._content_chunks(handle))
        except OSError as exc:
            with self._count:
                self.warnings.append(f"{path}: {exc.strerror}")
                if parent is None:
                    self.summary.files_new -= 1
                else:
                    self.summary.files_changed -= 1
            return None
        return _FileMeta(name, st, xattrs), content

    def stream_node(self, stream: StreamSource) -> Node:
        if stream.segmented:
            chunks = self.repo.chunker.chunks_of_segments(stream.source)  # type: ignore[arg-type]
        else:
            reader = stream.source if hasattr(stream.source, "read") else IterableReader(stream.source)  # type: ignore[arg-type]
            chunks = self.repo.chunker.chunks(reader)
        before = self.summary.bytes_read  # nothing else is in flight: paths are stored before streams
        content = self._finish([self._submit(chunk) for chunk in chunks])
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


def _read_up_to(handle: Any, limit: int) -> bytes:
    """Up to limit bytes of an unbuffered file: fewer only at its end."""
    parts: list[bytes] = []
    got = 0
    while got < limit:
        part = handle.read(limit - got)
        if not part:
            break
        parts.append(part)
        got += len(part)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _scandir(path: str, warnings: list[str]) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(path) as entries:
            return sorted(entries, key=lambda e: e.name)
    except OSError as exc:
        warnings.append(f"{path}: {exc.strerror}")
        return []


_SPECIAL = {stat.S_IFIFO: "fifo", stat.S_IFCHR: "chardev", stat.S_IFBLK: "blockdev"}


def _meta_node(name: str, kind: Any, st: os.stat_result, **extra: Any) -> Node:
    size = st.st_size if kind == "file" else 0
    if kind != "dir" and st.st_nlink > 1:  # a hard-link group: restore links its names again
        extra.update(links=st.st_nlink, device=st.st_dev)
    return Node(**fs_fields(name, "name"), type=kind, mode=stat.S_IMODE(st.st_mode), uid=st.st_uid, gid=st.st_gid,
                mtime_ns=st.st_mtime_ns, size=size, inode=st.st_ino, **extra)


# Errors that mean "this file system keeps no extended attributes": nothing to keep, nothing to warn of.
_NO_XATTRS = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOENT}


def _xattrs(path: str, warnings: list[str]) -> list[Xattr]:
    """The extended attributes of a path (not followed), all namespaces the OS shows us."""
    try:
        names = os.listxattr(path, follow_symlinks=False)
        found = []
        for name in sorted(names):
            value = os.getxattr(path, name, follow_symlinks=False)
            found.append(Xattr(name=printable(name), value=base64.b64encode(value).decode()))
        return found
    except OSError as exc:
        if exc.errno not in _NO_XATTRS and exc.errno != errno.ENODATA:
            warnings.append(f"{path}: extended attributes not read ({exc.strerror})")
        return []


def _unchanged(parent: Node, st: os.stat_result) -> bool:
    return (parent.type == "file" and parent.size == st.st_size and parent.mtime_ns == st.st_mtime_ns
            and parent.inode == st.st_ino)
