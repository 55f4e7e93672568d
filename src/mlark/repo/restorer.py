"""Restore: snapshots back to a directory, to a stream, or as single files.

Blobs are fetched, decrypted, decompressed and verified by a pool of threads and
written with pwrite at their offset, so one large file restores in parallel.
A blob that fails verification is never written: its file is removed and named
in the summary's `damaged` list.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from mlark.repo.errors import NotFound, RepoError, UsageError
from mlark.repo.locks import RepoLock
from mlark.repo.models import Node, RestoreSummary
from mlark.repo.progress import NoProgress, Progress
from mlark.repo.repository import Repository


def find_node(repo: Repository, tree_id: str, path: str) -> Node:
    """The node at a slash-separated path below a root tree."""
    parts = [part for part in path.strip("/").split("/") if part]
    if not parts:
        return Node(name="", type="dir", mode=0o755, subtree=tree_id)
    node: Node | None = None
    for index, part in enumerate(parts):
        current = tree_id if node is None else node.subtree
        if current is None:
            raise NotFound(f"{'/'.join(parts[:index])} is not a directory")
        node = next((n for n in repo.load_tree(current).nodes if n.name == part), None)
        if node is None:
            raise NotFound(f"no {'/'.join(parts[: index + 1])} in this snapshot")
    assert node is not None
    return node


def walk(repo: Repository, tree_id: str, prefix: str = "") -> Iterator[tuple[str, Node]]:
    """Every node below a tree, depth first, with its path."""
    for node in repo.load_tree(tree_id).nodes:
        path = f"{prefix}/{node.name}" if prefix else node.name
        yield path, node
        if node.type == "dir" and node.subtree:
            yield from walk(repo, node.subtree, path)


def iter_content(repo: Repository, content: list[str], pool: ThreadPoolExecutor, ahead: int = 8) -> Iterator[bytes]:
    """The plaintext of blobs in order, fetching a few ahead in parallel."""
    window: deque[Future[bytes]] = deque()
    for blob in content:
        window.append(pool.submit(repo.load_blob, blob))
        if len(window) >= ahead:
            yield window.popleft().result()
    while window:
        yield window.popleft().result()


def read_file(repo: Repository, snapshot_ref: str, path: str) -> Iterator[bytes]:
    """The content of one file or stream of a snapshot, as a stream of byte strings."""
    repo.load_index()
    _, snapshot = repo.find_snapshot(snapshot_ref)
    node = find_node(repo, snapshot.tree, path)
    if node.type not in ("file", "stream"):
        raise UsageError(f"{path} is a {node.type}, not a file or stream")
    with ThreadPoolExecutor(4, thread_name_prefix="mlark-read") as pool:
        yield from iter_content(repo, node.content, pool)


@dataclass
class _FileJob:
    fd: int
    node: Node
    dest: str
    rel: str
    remaining: int
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Restorer:
    def __init__(self, repo: Repository, pool: ThreadPoolExecutor, progress: Progress, summary: RestoreSummary, workers: int) -> None:
        self.repo = repo
        self.pool = pool
        self.progress = progress
        self.summary = summary
        self._slots = threading.BoundedSemaphore(workers * 4)
        self._lock = threading.Lock()
        self.dirs: list[tuple[str, Node]] = []

    def restore_node(self, node: Node, dest: str, rel: str) -> None:
        if node.type == "dir":
            os.makedirs(dest, exist_ok=True)
            self.dirs.append((dest, node))
            self.summary.dirs += 1
            for child in self.repo.load_tree(node.subtree).nodes if node.subtree else []:
                self.restore_node(child, os.path.join(dest, child.name), f"{rel}/{child.name}" if rel else child.name)
        elif node.type == "symlink":
            if os.path.lexists(dest):
                os.unlink(dest)
            os.symlink(node.target or "", dest)
            _set_owner(dest, node, follow=False)
            os.utime(dest, ns=(node.mtime_ns, node.mtime_ns), follow_symlinks=False)
            self.summary.symlinks += 1
        else:
            self.restore_file(node, dest, rel)

    def restore_file(self, node: Node, dest: str, rel: str) -> None:
        if os.path.islink(dest):
            os.unlink(dest)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        job = _FileJob(fd, node, dest, rel, remaining=len(node.content))
        if not node.content:
            self._finalize(job)
            return
        offset = 0
        for blob in node.content:
            location = self.repo.index.get(blob)
            length = location.raw_length if location else 0
            self._slots.acquire()
            self.pool.submit(self._write_blob, job, blob, offset)
            offset += length

    def _write_blob(self, job: _FileJob, blob: str, offset: int) -> None:
        try:
            data = self.repo.load_blob(blob)
            if data[:1] != b"\0" or data.count(0) != len(data):  # all-zero blobs stay holes
                os.pwrite(job.fd, data, offset)
            self.progress.advance(len(data))
        except (RepoError, OSError) as exc:
            with job.lock:
                job.error = job.error or str(exc)
        finally:
            self._slots.release()
            with job.lock:
                job.remaining -= 1
                last = job.remaining == 0
            if last:
                self._finalize(job)

    def _finalize(self, job: _FileJob) -> None:
        node = job.node
        if job.error is not None:
            os.close(job.fd)
            os.unlink(job.dest)
            with self._lock:
                self.summary.damaged.append(f"{job.rel}: {job.error}")
            return
        os.ftruncate(job.fd, node.size)
        os.fchmod(job.fd, node.mode & 0o7777 if node.mode else 0o600)
        os.close(job.fd)
        _set_owner(job.dest, node, follow=True)
        os.utime(job.dest, ns=(node.mtime_ns, node.mtime_ns))
        with self._lock:
            self.summary.files += 1
            self.summary.bytes_written += node.size

    def finish_dirs(self) -> None:
        # Deepest first: writing into a directory changes its mtime.
        for dest, node in reversed(self.dirs):
            if node.mode:
                os.chmod(dest, node.mode & 0o7777)
            _set_owner(dest, node, follow=True)
            if node.mtime_ns:
                os.utime(dest, ns=(node.mtime_ns, node.mtime_ns))


def _set_owner(path: str, node: Node, follow: bool) -> None:
    if os.geteuid() != 0:
        return
    try:
        os.chown(path, node.uid, node.gid, follow_symlinks=follow)
    except OSError:
        pass  # ownership is best effort, as with tar without --same-owner


def _size(repo: Repository, node: Node) -> int:
    if node.type != "dir" or not node.subtree:
        return node.size
    return sum(n.size for _, n in walk(repo, node.subtree))


def restore(repo: Repository, snapshot_ref: str, target: str, *, path: str = "", progress: Progress | None = None,
            workers: int = 4, lock_wait: float = 0.0) -> RestoreSummary:
    """Restore a snapshot (or the subtree at `path`) into the directory `target`."""
    progress = progress or NoProgress()
    started = time.monotonic()
    with RepoLock(repo.backend, exclusive=False, operation="restore", wait=lock_wait):
        repo.load_index()
        snapshot_id, snapshot = repo.find_snapshot(snapshot_ref)
        node = find_node(repo, snapshot.tree, path)
        summary = RestoreSummary(snapshot_id=snapshot_id, target=os.path.abspath(target))
        os.makedirs(target, exist_ok=True)
        progress.begin("restore", _size(repo, node))
        try:
            with ThreadPoolExecutor(workers, thread_name_prefix="mlark-restore") as pool:
                restorer = Restorer(repo, pool, progress, summary, workers)
                if node.name:
                    restorer.restore_node(node, os.path.join(target, node.name), node.name)
                else:
                    for child in repo.load_tree(snapshot.tree).nodes:
                        restorer.restore_node(child, os.path.join(target, child.name), child.name)
            restorer.finish_dirs()
        finally:
            progress.end()
    summary.damaged.sort()
    summary.duration_seconds = round(time.monotonic() - started, 3)
    return summary
