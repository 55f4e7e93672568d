"""Concurrent blob saving: dedup, compress, seal, gather into packs, write packs, then indexes.

Invariant: a blob becomes visible in an index only after its pack is stored,
and a snapshot is written only after flush() has stored the index naming its blobs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from mlark.repo.backend.base import Kind
from mlark.repo.compress import compress
from mlark.repo.index import save_index_file
from mlark.repo.models import BlobType, IndexPack
from mlark.repo.pack import PackBuilder, save_parts
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
                 on_stored: Callable[[int], None] | None = None) -> None:
        self.repo = repo
        self.level = level
        self.dedup = dedup
        self.stats = SaverStats()
        self._lock = threading.Lock()
        self._accepted: set[str] = set()
        self._builders: dict[str, PackBuilder] = {}
        self._pending: list[IndexPack] = []
        self._writes: list[Future[None]] = []
        self._pool = ThreadPoolExecutor(writers, thread_name_prefix="mlark-pack")
        # Bounds memory: at most this many full packs waiting for the backend.
        self._slots = threading.BoundedSemaphore(writers + 1)
        self._on_stored = on_stored
        self.index_files: list[str] = []

    def known(self, blob_id: str) -> bool:
        return blob_id in self._accepted or (self.dedup and blob_id in self.repo.index)

    def save(self, blob_type: BlobType, data: bytes, blob_id: str | None = None) -> tuple[str, bool]:
        """Store data unless the repository has it; return (blob ID, newly stored?)."""
        blob_id = blob_id or self.repo.sealer.blob_id(data).hex()
        with self._lock:
            if self.known(blob_id):
                return blob_id, False
            self._accepted.add(blob_id)
        payload, compressed = compress(data, self.level)
        sealed = self.repo.sealer.seal_parts(payload, bytes.fromhex(blob_id))
        full = None
        with self._lock:
            builder = self._builders.setdefault(blob_type, PackBuilder(blob_type))
            builder.add(blob_id, sealed, len(data), compressed)
            self.stats.blobs_new += 1
            self.stats.bytes_new += len(data)
            self.stats.bytes_stored += sum(len(part) for part in sealed)
            if builder.size >= self.repo.config.pack_size:
                full = self._builders.pop(blob_type)
        if full is not None:
            self._submit(full)
        return blob_id, True

    def _submit(self, builder: PackBuilder) -> None:
        self._raise_failed()
        self._slots.acquire()
        future = self._pool.submit(self._write, builder)
        with self._lock:
            self._writes.append(future)

    def _write(self, builder: PackBuilder) -> None:
        try:
            pack_id, parts = builder.finish(self.repo.sealer)
            size = sum(len(part) for part in parts)
            save_parts(self.repo.backend, Kind.data, pack_id, parts)
            pack = IndexPack(id=pack_id, size=size, blobs=builder.entries)
            with self._lock:
                self._pending.append(pack)
                self.repo.index.add_pack(pack)
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
            builders = [b for b in self._builders.values() if b.entries]
            self._builders = {}
        for builder in builders:
            self._submit(builder)
        with self._lock:
            writes = list(self._writes)
        for future in writes:
            future.result()
        self._raise_failed()
        self._write_index()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
