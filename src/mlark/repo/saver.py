"""Concurrent blob saving: dedup, compress, seal, gather into packs, write packs, then indexes.

Invariant: a blob becomes visible in an index only after its pack is stored,
and a snapshot is written only after flush() has stored the index naming its blobs.
"""

from __future__ import annotations

import mmap
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from mlark.repo.backend.base import Kind
from mlark.repo.compress import compress
from mlark.repo.crypto import OVERHEAD
from mlark.repo.index import save_index_file
from mlark.repo.models import BlobType, IndexPack
from mlark.repo.pack import PackBuffer, pack_capacity, save_parts
from mlark.repo.repository import Repository

INDEX_EVERY_PACKS = 64


class SaverStats:
    def __init__(self) -> None:
        self.blobs_new = 0
        self.bytes_new = 0
        self.bytes_stored = 0


class BlobSaver:
    """Thread-safe: many workers may call save() at once."""

    def __init__(self, repo: Repository, level: int | None, *, dedup: bool = True, writers: int = 2,
                 on_stored: Callable[[int], None] | None = None, guard: Callable[[], None] | None = None) -> None:
        self.repo = repo
        self.level = level
        self.dedup = dedup
        self.stats = SaverStats()
        self._lock = threading.Lock()
        self._accepted: set[str] = set()
        self._packs: dict[str, PackBuffer] = {}
        self._capacity = pack_capacity(repo.config.pack_size, repo.config.chunker.max_size)
        # Written packs' buffers are reused: a fresh mapping faults in every page again.
        self._free: list[mmap.mmap] = []
        self._pending: list[IndexPack] = []
        self._writes: list[Future[None]] = []
        self._pool = ThreadPoolExecutor(writers, thread_name_prefix="mlark-pack")
        # Bounds memory: at most this many full packs waiting for the backend.
        self._slots = threading.BoundedSemaphore(writers + 1)
        self._on_stored = on_stored
        # Called right before each index is written: raises (LockLost) when the writer lost its lock.
        self._guard = guard
        self.index_files: list[str] = []

    def known(self, blob_id: str) -> bool:
        return blob_id in self._accepted or (self.dedup and blob_id in self.repo.index)

    def save(self, blob_type: BlobType, data: bytes | memoryview, blob_id: str | None = None) -> tuple[str, bool]:
        """Store data unless the repository has it; return (blob ID, newly stored?)."""
        blob_id = blob_id or self.repo.sealer.blob_id(data).hex()
        with self._lock:
            if self.known(blob_id):
                return blob_id, False
            self._accepted.add(blob_id)
        payload, compressed = compress(data, self.level)
        length = len(payload) + OVERHEAD
        with self._lock:
            pack, ready = self._pack_for(blob_type, length)
            span = pack.reserve(blob_id, length, len(data), compressed)
            self.stats.blobs_new += 1
            self.stats.bytes_new += len(data)
            self.stats.bytes_stored += length
            if pack.size >= self.repo.config.pack_size:
                del self._packs[blob_type]
                pack.close()  # written once the last blob reserved in it is sealed
        for full in ready:
            self._submit(full)
        try:
            self.repo.sealer.seal_into(payload, bytes.fromhex(blob_id), span)
        except BaseException:
            pack.broken = True  # never written: the backup fails with this error, and no index names the pack
            raise
        finally:
            span.release()
            with self._lock:
                last = pack.sealed()
        if last:
            self._submit(pack)
        return blob_id, True

    def _pack_for(self, blob_type: BlobType, length: int) -> tuple[PackBuffer, list[PackBuffer]]:
        """The open pack of this type with room for length bytes (call under the lock), and any
        pack closed for lack of room that is ready to write."""
        ready = []
        pack = self._packs.get(blob_type)
        if pack is not None and not pack.fits(length):
            if pack.close():
                ready.append(pack)
            pack = None
        if pack is None:
            pack = self._packs[blob_type] = PackBuffer(blob_type, self._buffer(length))
        return pack, ready

    def _buffer(self, length: int) -> mmap.mmap:
        if length > self._capacity:  # a blob larger than any chunk (a huge tree): a pack of its own size
            return mmap.mmap(-1, pack_capacity(0, length))
        return self._free.pop() if self._free else mmap.mmap(-1, self._capacity)

    def _submit(self, pack: PackBuffer) -> None:
        self._raise_failed()
        self._slots.acquire()
        future = self._pool.submit(self._write, pack)
        with self._lock:
            self._writes.append(future)

    def _write(self, pack: PackBuffer) -> None:
        try:
            if pack.broken:
                return
            pack_id, parts, size = pack.finish(self.repo.sealer)
            try:
                save_parts(self.repo.backend, Kind.data, pack_id, parts)
            finally:
                for part in parts:
                    if isinstance(part, memoryview):
                        part.release()
            stored = IndexPack(id=pack_id, size=size, blobs=pack.entries)
            with self._lock:
                if len(pack.buffer) == self._capacity:
                    self._free.append(pack.buffer)
                self._pending.append(stored)
                self.repo.index.add_pack(stored)
                due = len(self._pending) >= INDEX_EVERY_PACKS
            if due:
                self._write_index()
            if self._on_stored:
                self._on_stored(size)
        finally:
            self._slots.release()

    def _write_index(self) -> None:
        with self._lock:
            packs, self._pending = self._pending, []
        if packs:
            if self._guard is not None:
                self._guard()
            name = save_index_file(self.repo.backend, self.repo.sealer, packs)
            with self._lock:
                self.index_files.append(name)

    def _raise_failed(self) -> None:
        with self._lock:
            failed = [f for f in self._writes if f.done() and f.exception() is not None]
            self._writes = [f for f in self._writes if not f.done()]
        if failed:
            raise failed[0].exception()  # type: ignore[misc]

    def flush(self) -> None:
        """Write partial packs, wait for every pack, then write the index of what is pending."""
        with self._lock:
            # Every save() has returned: nothing is being sealed, so each closed pack is ready.
            ready = [pack for pack in self._packs.values() if pack.entries and pack.close()]
            self._packs = {}
        for pack in ready:
            self._submit(pack)
        with self._lock:
            writes = list(self._writes)
        for future in writes:
            future.result()
        self._raise_failed()
        self._write_index()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
