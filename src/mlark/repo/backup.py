"""The backup operation: lock, pick a parent, archive, flush, write the snapshot."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from mlark.repo.archiver import Archiver, BackupOptions, StreamSource
from mlark.repo.backend.base import Kind
from mlark.repo.errors import LockLost, NotFound, StorageError, UsageError
from mlark.repo.keys import _user
from mlark.repo.locks import RepoLock
from mlark.repo.memory import gc_paused, keep_freed_buffers
from mlark.repo.models import BackupSummary, Node, Snapshot, Tree, printable
from mlark.repo.progress import NoProgress, Progress
from mlark.repo.repository import Repository
from mlark.repo.saver import BlobSaver


# Larger files read and chunked at once, each by a thread of its own, while the walk goes on.
READERS = 2


def _top_name(path: str) -> str:
    name = os.path.basename(os.path.normpath(os.path.abspath(path)))
    if not name:
        raise UsageError(f"cannot back up {path!r} as a whole; name a directory below it")
    return name


def find_parent(repo: Repository, host: str, paths: list[str], streams: list[str], ref: str | None) -> tuple[str | None, Snapshot | None]:
    """The parent snapshot; damaged snapshots are passed over (repo.skipped_snapshots() names them)."""
    if ref == "none":
        return None, None
    if ref:
        return repo.find_snapshot(ref)
    for name, snapshot in reversed(repo.snapshots()):
        if snapshot.host == host and sorted(snapshot.paths) == paths and sorted(snapshot.streams) == streams:
            return name, snapshot
    return None, None


def _place_stream(root: dict[str, object], name: str, node: Node) -> None:
    parts = [part for part in name.split("/") if part]
    if not parts or any(part in (".", "..") for part in parts):
        raise UsageError(f"invalid stream name {name!r}")
    for part in parts[:-1]:
        child = root.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"stream {name!r} collides with another entry")
        root = child
    if parts[-1] in root:
        raise UsageError(f"stream {name!r} collides with another entry")
    root[parts[-1]] = node


def _save_layout(archiver: Archiver, layout: dict[str, object]) -> str:
    """Save nested synthetic directories holding streams; return the tree ID."""
    nodes = []
    for name, value in layout.items():
        if isinstance(value, dict):
            nodes.append(Node(name=name, type="dir", mode=0o755, mtime_ns=time.time_ns(), subtree=_save_layout(archiver, value)))
        else:
            nodes.append(value)
    return archiver.save_tree(nodes)  # type: ignore[arg-type]


def _archive(archiver: Archiver, paths: list[str], streams: Sequence[StreamSource], parent_tree: str | None) -> str:
    before = archiver.parent_nodes(parent_tree)
    layout: dict[str, object] = {}
    for path in paths:
        name = _top_name(path)
        if name in layout:
            raise UsageError(f"two paths end in the same name {name!r}")
        try:
            st = os.lstat(path)
        except OSError as exc:
            raise NotFound(f"cannot read {path}: {exc.strerror}") from exc
        for node, futures in archiver.entry_node(os.path.abspath(path), name, st, before.get(name)):
            layout[name] = node if futures is None else node.model_copy(update={"content": archiver._finish(futures)})
    for stream in streams:
        _place_stream(layout, stream.name, archiver.stream_node(stream))
    return _save_layout(archiver, layout)


def _prescan(paths: list[str]) -> int:
    total = 0
    for path in paths:
        for root, _dirs, files in os.walk(path):
            for name in files:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:
                    pass
        if os.path.isfile(path):
            total += os.path.getsize(path)
    return total


def backup(repo: Repository, paths: Sequence[str] = (), streams: Sequence[StreamSource] = (),
           options: BackupOptions | None = None, progress: Progress | None = None) -> BackupSummary:
    """Back up paths and named streams into one snapshot; return what was done."""
    keep_freed_buffers()
    with gc_paused():
        return _backup(repo, paths, streams, options, progress)


def _backup(repo: Repository, paths: Sequence[str], streams: Sequence[StreamSource],
            options: BackupOptions | None, progress: Progress | None) -> BackupSummary:
    options = options or BackupOptions()
    progress = progress or NoProgress()
    if not paths and not streams:
        raise UsageError("nothing to back up: give paths or a stream")
    started = time.monotonic()
    host = options.host or socket.gethostname()
    # Recorded as text: undecodable bytes of a path are escaped (the tree keeps the raw names).
    abs_paths = sorted(printable(os.path.abspath(p)) for p in paths)
    stream_names = sorted(s.name for s in streams)
    with repo.lock("backup", wait=options.lock_wait) as lock:
        repo.load_index()
        repo.damaged_snapshots = {}
        parent_id, parent = find_parent(repo, host, abs_paths, stream_names, options.parent)
        skipped = repo.skipped_snapshots()
        progress.begin("backup", _prescan(abs_paths) if not isinstance(progress, NoProgress) else None)
        saver = BlobSaver(repo, options.compression, guard=lock.ensure)
        try:
            with ThreadPoolExecutor(options.workers, thread_name_prefix="mlark-chunk") as pool, \
                    ThreadPoolExecutor(READERS, thread_name_prefix="mlark-read") as readers:
                archiver = Archiver(repo, saver, pool, progress, options.workers, readers)
                tree = _archive(archiver, list(paths), streams, parent.tree if parent else None)
            saver.flush()
        except StorageError:
            # A lost lock explains a failed write better (a prune that took it removed our files).
            lock.ensure()
            raise
        finally:
            saver.close()
            progress.end()
        summary = archiver.summary
        summary.parent = parent_id
        summary.blobs_new = saver.stats.blobs_new
        summary.bytes_new = saver.stats.bytes_new
        summary.bytes_stored = saver.stats.bytes_stored
        summary.warnings = skipped + [printable(warning) for warning in archiver.warnings]
        summary.duration_seconds = round(time.monotonic() - started, 3)
        snapshot = Snapshot(time=dt.datetime.now(dt.timezone.utc), host=host, username=_user(), paths=abs_paths,
                            streams=stream_names, tags=sorted(set(options.tags)), parent=parent_id, tree=tree,
                            metadata=options.metadata, summary=summary)
        summary.snapshot_id = _commit(repo, lock, snapshot)
    return summary


def _commit(repo: Repository, lock: RepoLock, snapshot: Snapshot) -> str:
    """Write the snapshot only while the lock is ours; take it back if the lock was lost as it was written."""
    lock.ensure()
    name = repo.save_snapshot(snapshot)
    try:
        lock.ensure()
    except LockLost:
        # Stopped between the check and the write: a prune may have run meanwhile, so the
        # snapshot might name data that is gone. No snapshot is better than a broken one.
        repo.backend.remove(Kind.snapshots, name)
        raise
    return name
