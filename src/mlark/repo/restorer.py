"""Restore: snapshots back to a directory, to a stream, or as single files.

Blobs are fetched, decrypted, decompressed and verified by a pool of threads and
written at their offset, so one large file restores in parallel; files of 4 MiB and more
with O_DIRECT where the file system allows it (directwrite.py). Small files are restored
by a thread of their own. A blob that fails verification is never written: its file is removed and named
in the summary's `damaged` list.
"""

from __future__ import annotations

import base64
import errno
import mmap
import os
import queue
import stat
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Literal

from mlark.repo.backend.base import Kind
from mlark.repo.backend.local import ALIGN, O_DIRECT, DirectUnsupported, aligned_buffer
from mlark.repo.directwrite import Abandoned, DirectFileWriter
from mlark.repo.errors import DamagedData, NotFound, RepoError, UsageError
from mlark.repo.index import Location
from mlark.repo.memory import gc_paused, keep_freed_buffers
from mlark.repo.models import Node, RestoreSummary, printable
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
        node = next((n for n in repo.load_tree(current).nodes if n.fs_name() == part), None)
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


# Small files whose blobs lie next to each other in one pack are restored together, from one
# read of the pack: up to this many bytes, skipping gaps up to _BATCH_GAP between blobs.
_BATCH_BYTES = 4 * 1024 * 1024
_BATCH_FILES = 256
_BATCH_GAP = 64 * 1024
_OPEN_PACKS = 16
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# Files from this size on are written with O_DIRECT (directwrite.py), where the file system allows it.
_DIRECT_FROM = 4 * 1024 * 1024


class PackReader:
    """Byte ranges of packs; for a local backend, a few pack files stay open (LRU) and are read with pread.

    Local packs are read with O_DIRECT where the file system allows it (packs are written that
    way too, see backend/local.py): the bytes go from the disk into a buffer of the thread,
    without filling the page cache first. Such a read returns a view of that buffer, valid until
    the thread's next read: use it, then let go of it.

    Thread-safe. A file in use by a reader is never closed under it: eviction skips it.
    """

    def __init__(self, repo: Repository, keep: int = _OPEN_PACKS, direct: bool = True) -> None:
        self._backend = repo.backend
        self._open_fd = getattr(repo.backend, "open_fd", None)
        self._direct = direct and self._open_fd is not None
        self._keep = keep
        self._lock = threading.Lock()
        self._fds: OrderedDict[str, list[int]] = OrderedDict()  # pack -> [fd, users, direct]

    def read(self, pack: str, offset: int, length: int) -> bytes | memoryview:
        if self._open_fd is None:
            return self._backend.load(Kind.data, pack, offset, length)
        entry = self._acquire(pack)
        try:
            if entry[2]:
                return _read_direct(entry[0], offset, length)
            return os.pread(entry[0], length, offset)
        finally:
            with self._lock:
                entry[1] -= 1

    def _acquire(self, pack: str) -> list[int]:
        with self._lock:
            entry = self._fds.get(pack)
            if entry is not None:
                self._fds.move_to_end(pack)
                entry[1] += 1
                return entry
        fd, direct = self._open(pack)  # outside the lock: opening may block
        with self._lock:
            entry = self._fds.get(pack)
            if entry is not None:  # another thread opened it meanwhile
                os.close(fd)
            else:
                entry = self._fds[pack] = [fd, 0, direct]
                self._evict()
            entry[1] += 1
            return entry

    def _open(self, pack: str) -> tuple[int, int]:
        assert self._open_fd is not None
        if self._direct:
            try:
                return self._open_fd(Kind.data, pack, direct=True), 1
            except DirectUnsupported:
                self._direct = False
        return self._open_fd(Kind.data, pack), 0

    def _evict(self) -> None:
        idle = [name for name, (_, users, _) in self._fds.items() if users == 0]
        for name in idle[: max(0, len(self._fds) - self._keep)]:
            os.close(self._fds.pop(name)[0])

    def close(self) -> None:
        with self._lock:
            for fd, *_ in self._fds.values():
                os.close(fd)
            self._fds.clear()


def _read_direct(fd: int, offset: int, length: int) -> memoryview:
    """length bytes at offset of an O_DIRECT descriptor (fewer at the end of the file), as a view of the thread's buffer."""
    start = offset - offset % ALIGN
    end = -(-(offset + length) // ALIGN) * ALIGN
    view = memoryview(aligned_buffer(end - start))[: end - start]
    got = os.preadv(fd, [view], start)
    return view[offset - start : max(offset - start, min(got, offset + length - start))].toreadonly()


@dataclass
class _FileJob:
    fd: int
    node: Node
    dest: str
    rel: str
    remaining: int
    end: int = 0
    error: str | None = None
    writer: DirectFileWriter | None = None  # writes the file with O_DIRECT, see directwrite.py
    mode_set: bool = False  # created with its final mode
    target_error: bool = False  # the error is the target's (writing failed), not the repository's
    lock: threading.Lock = field(default_factory=threading.Lock)
    # One pwrite at a time per file: writers of one file queue on the inode's lock in the kernel,
    # spinning while the holder copies (a tenth of a restore's CPU on 2 cores); here they sleep and
    # the other threads decompress meanwhile.
    write_lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class _Small:
    """A file of at most one blob, restored with its neighbours in the pack."""

    node: Node
    dest: str
    rel: str
    location: Location | None


class Restorer:
    """The main thread walks trees and makes directories; runs of small files go to a thread of
    their own (small_pool), larger files to a feeder thread that hands their blobs to the pool,
    which writes each at its offset. Directories get their metadata last (finish_dirs)."""

    def __init__(self, repo: Repository, pool: ThreadPoolExecutor, progress: Progress, summary: RestoreSummary, workers: int,
                 small_pool: ThreadPoolExecutor | None = None) -> None:
        self.repo = repo
        self.pool = pool
        self.small_pool = small_pool or pool
        self.progress = progress
        self.summary = summary
        self.reader = PackReader(repo)
        self._slots = threading.BoundedSemaphore(workers * 4)  # blobs of larger files in flight
        self._batch_slots = threading.BoundedSemaphore(4)  # batches of small files in flight
        self._larger: queue.SimpleQueue[tuple[Node, str, str] | None] = queue.SimpleQueue()
        self._feed_error: BaseException | None = None
        self._feeder = threading.Thread(target=self._feed_larger, name="mlark-restore-feed", daemon=True)
        self._feeder.start()
        self._lock = threading.Lock()
        self._root = os.geteuid() == 0
        self._umask = _umask()
        self._direct = bool(O_DIRECT)  # until the file system refuses it
        self._rings: list[mmap.mmap] = []  # ring buffers of finished files, for the next ones
        self._batch: list[_Small] = []
        self._batch_first: Location | None = None
        self._batch_end = 0
        self.dirs: list[tuple[str, Node, str]] = []
        self._link_groups: dict[tuple[int, int], str] = {}  # (device, inode) -> first name restored
        self._links: list[tuple[str, str, str, Node]] = []  # made once every file is written

    def restore_node(self, node: Node, dest: str, rel: str) -> None:
        try:
            self._restore_node(node, dest, rel)
        except OSError as exc:  # the target kept this entry from being made; the rest goes on
            self._target_problem(dest, rel, exc)

    def _restore_node(self, node: Node, dest: str, rel: str) -> None:
        if node.type == "dir":
            if not os.path.isdir(dest) or os.path.islink(dest):
                os.mkdir(dest, 0o700)  # raises FileExistsError on a file in the way: left as it is
            self.dirs.append((dest, node, rel))
            self.summary.dirs += 1
            for child in self.repo.load_tree(node.subtree).nodes if node.subtree else []:
                self.restore_node(child, os.path.join(dest, child.fs_name()), f"{rel}/{child.name}" if rel else child.name)
        elif node.type == "symlink":
            _clear(dest)
            os.symlink(node.fs_target(), dest)
            _set_owner(dest, node, follow=False)
            os.utime(dest, ns=(node.mtime_ns, node.mtime_ns), follow_symlinks=False)
            self._set_xattrs(dest, node, rel)
            self.summary.symlinks += 1
        elif node.type in ("fifo", "chardev", "blockdev"):
            self._restore_special(node, dest, rel)
        elif node.links > 1 and (node.device, node.inode) in self._link_groups:
            self._links.append((self._link_groups[(node.device, node.inode)], dest, rel, node))
        elif len(node.content) <= 1:
            if node.links > 1:
                self._link_groups[(node.device, node.inode)] = dest
            self._add_small(_Small(node, dest, rel, self.repo.index.get(node.content[0]) if node.content else None))
        else:
            if node.links > 1:
                self._link_groups[(node.device, node.inode)] = dest
            self._larger.put((node, dest, rel))

    def _restore_special(self, node: Node, dest: str, rel: str) -> None:
        """A FIFO, or a device node (as root only, as restic does); its mode, owner, times."""
        if node.type != "fifo" and not self._root:
            with self._lock:
                self.summary.warnings.append(f"{rel}: {node.type} not restored (device nodes need root)")
            return
        _clear(dest)
        if node.type == "fifo":
            os.mkfifo(dest, 0o600)
        else:
            kind = stat.S_IFCHR if node.type == "chardev" else stat.S_IFBLK
            os.mknod(dest, 0o600 | kind, node.rdev)
        _set_owner(dest, node, follow=False)
        os.chmod(dest, _mode(node))
        os.utime(dest, ns=(node.mtime_ns, node.mtime_ns), follow_symlinks=False)
        self._set_xattrs(dest, node, rel)
        self.summary.special += 1

    def finish_links(self) -> None:
        """Link the further names of hard-linked files, once the first name of each is written."""
        for first, dest, rel, node in self._links:
            if not os.path.isfile(first) or os.path.islink(first):  # not restored (damaged or in the way)
                with self._lock:
                    self.summary.damaged.append(f"{rel}: not linked, its first name {os.path.basename(first)} was not restored")
                continue
            try:
                _clear(dest)
                os.link(first, dest)
                self.summary.hardlinks += 1
            except OSError as exc:
                self._target_problem(dest, rel, exc)

    def _target_problem(self, dest: str, rel: str, exc: OSError, created: bool = False) -> None:
        """Something in the target kept an entry from being written: named, and the target's
        own file left alone (only a file this restore created is removed again)."""
        if created:
            try:
                os.unlink(dest)
            except OSError:
                pass
        with self._lock:
            self.summary.target_errors.append(f"{rel}: {exc.strerror or exc}")

    def _set_xattrs(self, path: str | int, node: Node, rel: str) -> None:
        """Extended attributes back; where the file system refuses them, one warning for the file."""
        failed: OSError | None = None
        for attribute in node.xattrs:
            name, value = os.fsencode(attribute.name), base64.b64decode(attribute.value)
            try:
                if isinstance(path, int):
                    os.setxattr(path, name, value)
                else:
                    os.setxattr(path, name, value, follow_symlinks=False)
            except OSError as exc:
                failed = failed or exc
        if failed is not None:
            with self._lock:
                self.summary.warnings.append(f"{rel}: extended attributes not restored ({failed.strerror})")

    def finish_files(self) -> None:
        """Hand out the last batch of small files and every larger file (call before the pools shut down)."""
        self._flush_batch()
        self.stop_feeding()
        if self._feed_error is not None:
            raise self._feed_error

    def stop_feeding(self) -> None:
        """Let the feeder hand out what is queued and end (idempotent; also on a failed walk)."""
        if self._feeder.is_alive():
            self._larger.put(None)
            self._feeder.join()

    def _feed_larger(self) -> None:
        """Hand out larger files, on a thread of its own: the walk goes on through small files
        (restored meanwhile by their own thread) while the pool's slots are full of larger ones."""
        while (item := self._larger.get()) is not None:
            if self._feed_error is None:
                try:
                    self.restore_file(*item)
                except BaseException as exc:  # noqa: BLE001 - raised again by finish_files
                    self._feed_error = exc

    # --- small files: one task per run of neighbouring blobs ---------------------------

    def _add_small(self, item: _Small) -> None:
        loc, first = item.location, self._batch_first
        if loc is not None and first is not None and not (
                loc.pack == first.pack and self._batch_end <= loc.offset <= self._batch_end + _BATCH_GAP
                and loc.offset + loc.length - first.offset <= _BATCH_BYTES):
            self._flush_batch()
        self._batch.append(item)
        if loc is not None:
            self._batch_first = self._batch_first or loc
            self._batch_end = loc.offset + loc.length
        if len(self._batch) >= _BATCH_FILES:
            self._flush_batch()

    def _flush_batch(self) -> None:
        batch, self._batch, self._batch_first = self._batch, [], None
        if batch:
            self._batch_slots.acquire()
            self.small_pool.submit(self._restore_batch, batch)

    def _restore_batch(self, batch: list[_Small]) -> None:
        try:
            located = [item.location for item in batch if item.location is not None]
            span, start, failure = b"", 0, None
            if located:
                start = located[0].offset
                try:
                    span = self.reader.read(located[0].pack, start, located[-1].offset + located[-1].length - start)
                except (RepoError, OSError) as exc:
                    failure = str(exc)
            view = memoryview(span)
            for item in batch:
                self._restore_small(item, view, start, failure)
        finally:
            self._batch_slots.release()

    def _restore_small(self, item: _Small, span: memoryview, start: int, failure: str | None) -> None:
        node, loc = item.node, item.location
        fd = -1
        try:
            data = b""
            if node.content:
                if loc is None:
                    raise DamagedData(f"blob {node.content[0][:16]} is not in the index")
                if failure is not None:
                    raise RepoError(failure)
                sealed = span[loc.offset - start : loc.offset - start + loc.length]
                data = self.repo.decode_blob(node.content[0], sealed, loc.raw_length, loc.compressed)
        except RepoError as exc:
            self._damaged(item.dest, item.rel, str(exc))
            return
        try:
            fd, mode_set = _create(item.dest, _mode(node), self._umask)
        except OSError as exc:
            self._target_problem(item.dest, item.rel, exc)
            return
        try:
            end = _write_sparse(fd, data, 0)
        except OSError as exc:
            os.close(fd)
            self._target_problem(item.dest, item.rel, exc, created=True)
            return
        self.progress.advance(len(data))
        try:
            self._finish_file(fd, node, end, mode_set, item.rel)  # closes fd, also when it fails
        except OSError as exc:
            self._target_problem(item.dest, item.rel, exc, created=True)

    # --- larger files: one task per blob, written at its offset -----------------------

    def restore_file(self, node: Node, dest: str, rel: str) -> None:
        try:
            fd, mode_set = _create(dest, _mode(node), self._umask)
        except OSError as exc:
            self._target_problem(dest, rel, exc)
            return
        job = _FileJob(fd, node, dest, rel, remaining=len(node.content), writer=self._direct_writer(fd, dest, node.size),
                       mode_set=mode_set)
        offset = 0
        for blob in node.content:
            location = self.repo.index.get(blob)
            length = location.raw_length if location else 0
            self._slots.acquire()
            self.pool.submit(self._write_blob, job, blob, location, offset)
            offset += length

    def _direct_writer(self, fd: int, dest: str, size: int) -> DirectFileWriter | None:
        """A writer with O_DIRECT for a large file, where the file system allows it."""
        if size < _DIRECT_FROM or not self._direct:
            return None
        try:
            direct_fd = os.open(dest, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW | O_DIRECT)
        except PermissionError:
            return None  # created read-only (its mode is set at creation): this one through the page cache
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self._direct = False  # e.g. tmpfs: every file goes through the page cache
            return None
        with self._lock:
            buffer = self._rings.pop() if self._rings else None
        return DirectFileWriter(direct_fd, size, self.repo.config.chunker.max_size, fallback_fd=fd, buffer=buffer)

    def _write_blob(self, job: _FileJob, blob: str, location: Location | None, offset: int) -> None:
        end = 0
        try:
            if location is None:
                raise DamagedData(f"blob {blob[:16]} is not in the index")
            try:
                sealed = self.reader.read(location.pack, location.offset, location.length)
            except OSError as exc:  # reading the repository, not writing the target
                raise RepoError(f"cannot read pack {location.pack[:16]}: {exc.strerror or exc}") from exc
            data = self.repo.decode_blob(blob, sealed, location.raw_length, location.compressed)
            if job.writer is not None:
                # Zero runs stay holes wherever they cover whole blocks (all-zero blobs entirely).
                holes = [(offset + a, offset + b) for a, b in zero_runs(data)]
                job.writer.put(offset, data, len(holes) == 1 and holes[0] == (offset, offset + len(data)), holes)
                end = -1  # written in whole blocks: the file is cut to its size when finished
            else:
                with job.write_lock:
                    end = _write_sparse(job.fd, data, offset)
            self.progress.advance(len(data))
        except Abandoned:
            pass  # another blob of this file failed and recorded why
        except (RepoError, OSError) as exc:
            with job.lock:
                if job.error is None:
                    job.error, job.target_error = str(exc), isinstance(exc, OSError)
            if job.writer is not None:
                job.writer.abandon()
        finally:
            self._slots.release()
            with job.lock:
                job.remaining -= 1
                job.end = -1 if end < 0 or job.end < 0 else max(job.end, end)
                last = job.remaining == 0
            if last:
                self._finalize(job)

    def _finalize(self, job: _FileJob) -> None:
        if job.writer is not None:
            try:
                if job.error is None:
                    job.writer.finish()
            except (OSError, RuntimeError, Abandoned) as exc:
                job.error = str(exc)
            finally:
                job.writer.close()
                with self._lock:
                    self._rings.append(job.writer.buffer)
        if job.error is not None:
            os.close(job.fd)
            if job.target_error:
                self._target_problem(job.dest, job.rel, OSError(job.error), created=True)
            else:
                self._damaged(job.dest, job.rel, job.error)
            return
        try:
            self._finish_file(job.fd, job.node, job.end, job.mode_set, job.rel)
        except OSError as exc:
            self._target_problem(job.dest, job.rel, exc, created=True)

    # --- common ----------------------------------------------------------------------

    def _finish_file(self, fd: int, node: Node, end: int, mode_set: bool = False, rel: str = "") -> None:
        """Size, owner, mode (unless set at creation), extended attributes and times through the open descriptor, then close it."""
        try:
            if end != node.size:
                os.ftruncate(fd, node.size)
            if node.xattrs:
                self._set_xattrs(fd, node, rel or node.name)
            if self._root:  # owner before mode: a chown may clear setuid/setgid bits
                try:
                    os.fchown(fd, node.uid, node.gid)
                except OSError:
                    pass  # ownership is best effort, as with tar without --same-owner
            if not mode_set:
                os.fchmod(fd, _mode(node))
            os.utime(fd, ns=(node.mtime_ns, node.mtime_ns))
        finally:
            os.close(fd)
        with self._lock:
            self.summary.files += 1
            self.summary.bytes_written += node.size

    def _damaged(self, dest: str, rel: str, error: str) -> None:
        """A file that could not be restored intact is removed and named, never left wrong."""
        try:
            os.unlink(dest)
        except OSError:
            pass
        with self._lock:
            self.summary.damaged.append(f"{rel}: {error}")

    def finish_dirs(self) -> None:
        # Deepest first: writing into a directory changes its mtime.
        for dest, node, rel in reversed(self.dirs):
            if node.xattrs:
                self._set_xattrs(dest, node, rel)
            os.chmod(dest, node.mode & 0o7777)  # mode 000 included
            _set_owner(dest, node, follow=True)
            if node.mtime_ns:
                os.utime(dest, ns=(node.mtime_ns, node.mtime_ns))


def _create(dest: str, mode: int, umask: int | None) -> tuple[int, bool]:
    """Open dest for writing: (descriptor, whether its mode is already final).

    A new file gets its mode at creation, final unless it has special bits or the umask takes
    some away (that saves a system call per file, and each call hands the GIL over). An existing
    file is truncated, and a symlink in its place is replaced, never followed."""
    try:
        return os.open(dest, _CREATE_NEW, mode & 0o777), umask is not None and mode == mode & 0o777 & ~umask
    except FileExistsError:
        pass
    try:
        return os.open(dest, _CREATE, 0o600), False
    except OSError as exc:
        if exc.errno != errno.ELOOP:
            raise
    os.unlink(dest)
    return os.open(dest, _CREATE, 0o600), False


def _mode(node: Node) -> int:
    return node.mode & 0o7777  # 0 is a mode too: a file nobody but root may open stays so


def _clear(dest: str) -> None:
    """Make room for a non-directory entry: an old file or link there goes; a directory stays
    (os.unlink raises IsADirectoryError, reported as the target's problem)."""
    if os.path.lexists(dest):
        os.unlink(dest)


# Every run of ALIGN zero bytes holds two neighbouring bytes of a sample taken every ALIGN/2 bytes:
# runs are found in the sample (1/2048 of the blob) and only then looked at in full, so a blob
# without holes costs one strided copy, not a scan.
_STRIDE = ALIGN // 2
_SCAN = 64 * 1024


def zero_runs(data: bytes | bytearray) -> list[tuple[int, int]]:
    """Runs of zero bytes in a blob that may cover whole blocks of the file: every run of at
    least ALIGN bytes, and the runs at either end (they may continue in the neighbouring blobs)."""
    size = len(data)
    if not size:
        return []
    runs: list[tuple[int, int]] = []
    position = 0
    if data[0] == 0:
        position = _nonzero_from(data, 0)
        runs.append((0, position))
    samples = data[::_STRIDE]
    pair = samples.find(b"\0\0", position // _STRIDE + 1)
    while pair >= 0:
        low = max(position, (pair - 1) * _STRIDE)
        start = low + _significant(data[low : pair * _STRIDE], "little")
        position = _nonzero_from(data, pair * _STRIDE)
        if position - start >= ALIGN or position == size:
            runs.append((start, position))
        pair = samples.find(b"\0\0", position // _STRIDE + 1)
    if data[size - 1] == 0 and not (runs and runs[-1][1] == size):
        tail = data[max(position, size - ALIGN) :]
        runs.append((size - len(tail) + _significant(tail, "little"), size))
    return runs


def _nonzero_from(data: bytes | bytearray, position: int) -> int:
    """The offset of the first non-zero byte at or after position, or the blob's size."""
    size, step = len(data), ALIGN  # growing steps: most runs are short, a few are whole blobs
    while position < size:
        stop = min(size, position + step)
        if data.count(0, position, stop) != stop - position:
            return stop - _significant(data[position:stop], "big")
        position, step = stop, min(step * 2, _SCAN)
    return size


def _significant(window: bytes | bytearray, order: Literal["big", "little"]) -> int:
    """Bytes of window without its zeros at the end that `order` makes most significant (the
    leading ones for "big", the trailing ones for "little"); int.from_bytes is a C loop, where
    bytes.strip calls memchr for every byte."""
    return (int.from_bytes(window, order).bit_length() + 7) // 8


def _write_sparse(fd: int, data: bytes | bytearray, offset: int) -> int:
    """Write a blob at offset into a new file, leaving its zero runs unwritten (holes where they
    cover whole blocks); the end of what was written, or 0 if nothing was."""
    if not data:
        return 0
    view, position, end = memoryview(data), 0, 0
    for start, stop in zero_runs(data) + [(len(data), len(data))]:
        if start > position:
            _pwrite_all(fd, view[position:start], offset + position)
            end = offset + start
        position = stop
    return end


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    while data:
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


def _umask() -> int | None:
    """The process's umask, read without changing it (os.umask would, for every thread); None if unknown."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return None


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
    keep_freed_buffers()
    with gc_paused():
        return _restore(repo, snapshot_ref, target, path, progress, workers, lock_wait)


def _restore(repo: Repository, snapshot_ref: str, target: str, path: str, progress: Progress | None,
             workers: int, lock_wait: float) -> RestoreSummary:
    progress = progress or NoProgress()
    started = time.monotonic()
    with repo.lock("restore", wait=lock_wait, reading=True):
        repo.load_index()
        snapshot_id, snapshot = repo.find_snapshot(snapshot_ref)
        node = find_node(repo, snapshot.tree, path)
        summary = RestoreSummary(snapshot_id=snapshot_id, target=printable(os.path.abspath(target)))
        os.makedirs(target, exist_ok=True)
        progress.begin("restore", _size(repo, node))
        try:
            # Small files are restored by one thread of their own: each costs a handful of system
            # calls, and with several threads every call handed the GIL over (6 context switches a
            # file, twice the CPU of one thread). The pool restores the blobs of larger files.
            with ThreadPoolExecutor(workers, thread_name_prefix="mlark-restore") as pool, \
                    ThreadPoolExecutor(1, thread_name_prefix="mlark-restore-small") as small:
                restorer = Restorer(repo, pool, progress, summary, workers, small_pool=small)
                try:
                    if node.name:
                        restorer.restore_node(node, os.path.join(target, node.fs_name()), node.name)
                    else:
                        for child in repo.load_tree(snapshot.tree).nodes:
                            restorer.restore_node(child, os.path.join(target, child.fs_name()), child.name)
                    restorer.finish_files()
                finally:
                    restorer.stop_feeding()
                    pool.shutdown(wait=True)
                    small.shutdown(wait=True)
                    restorer.reader.close()
            restorer.finish_links()
            restorer.finish_dirs()
        finally:
            progress.end()
    summary.damaged.sort()
    summary.duration_seconds = round(time.monotonic() - started, 3)
    return summary
