"""forget, prune, stats and index rebuild.

prune order (each step leaves a valid repository if the process dies after it):
  1. write new packs holding the still-used blobs of mostly-unused packs, and their index
  2. write one index of every kept pack that supersedes all older index files
  3. delete the superseded index files
  4. delete packs no index names any more
A pack leaves the index before it leaves the storage. Before each step that writes or
deletes, prune checks that its exclusive lock is still its own (RepoLock.ensure).

A pack no index names may be a live backup's, not yet indexed: it is deleted only once older
than the safety margin (kopia's BlobDeleteMinAge, 24 hours; MLARK_PRUNE_MIN_AGE_SECONDS for
tests). Leftover `.tmp-*` files of killed writes go by the same rule.
"""

from __future__ import annotations

import os
import time

from mlark.repo import retention
from mlark.repo.backend.base import Kind, ObjectInfo
from mlark.repo.errors import DamagedData, RepoError, UsageError
from mlark.repo.index import MasterIndex, save_index_file
from mlark.repo.locks import RepoLock
from mlark.repo.models import ForgetResult, IndexPack, PruneResult, StatsResult
from mlark.repo.pack import read_header
from mlark.repo.progress import NoProgress, Progress
from mlark.repo.repository import Repository
from mlark.repo.restorer import walk
from mlark.repo.saver import BlobSaver

MAX_UNUSED = 0.10
MIN_AGE = 24 * 3600


def safety_margin() -> float:
    """Seconds an unindexed pack or a temporary file must have existed before prune may delete it."""
    text = os.environ.get("MLARK_PRUNE_MIN_AGE_SECONDS", "")
    if not text:
        return MIN_AGE
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise UsageError(f"MLARK_PRUNE_MIN_AGE_SECONDS must be a number of seconds >= 0, not {text!r}")
    return value


def _old_enough(modified: float | None, margin: float) -> bool:
    return modified is not None and time.time() - modified >= margin


def forget(repo: Repository, policy: retention.Policy, *, tags: list[str] | None = None, host: str | None = None,
           dry_run: bool = False, lock_wait: float = 0.0) -> ForgetResult:
    """Remove snapshots the policy does not keep, per group of (host, paths, streams)."""
    with repo.lock("forget", exclusive=not dry_run, wait=lock_wait) as lock:
        selected = [(n, s) for n, s in repo.snapshots()
                    if (not tags or set(tags) & set(s.tags)) and (not host or s.host == host)]
        groups: dict[tuple[str, tuple[str, ...], tuple[str, ...]], list] = {}
        for name, snapshot in selected:
            groups.setdefault((snapshot.host, tuple(snapshot.paths), tuple(snapshot.streams)), []).append((name, snapshot))
        reasons: dict[str, list[str]] = {}
        for members in groups.values():
            reasons.update(retention.apply(policy, members))
        remove = [name for name, _ in selected if name not in reasons]
        if not dry_run:
            lock.ensure()
            for name in remove:
                repo.backend.remove(Kind.snapshots, name)
    return ForgetResult(keep=sorted(reasons), remove=sorted(remove), reasons=reasons, dry_run=dry_run,
                        skipped=repo.skipped_snapshots())


def forget_ids(repo: Repository, refs: list[str], *, dry_run: bool = False, lock_wait: float = 0.0) -> ForgetResult:
    """Remove the snapshots with these IDs or unique prefixes, without reading them (a damaged one too)."""
    with repo.lock("forget", exclusive=not dry_run, wait=lock_wait) as lock:
        remove = sorted({repo.snapshot_name(ref) for ref in refs})
        if not dry_run:
            lock.ensure()
            for name in remove:
                repo.backend.remove(Kind.snapshots, name)
    return ForgetResult(keep=[], remove=remove, reasons={}, dry_run=dry_run)


def used_blobs(repo: Repository) -> set[str]:
    """Every blob any readable snapshot reaches; raises if a tree cannot be read. A damaged
    snapshot is skipped (repo.skipped_snapshots()): it can never be read, so neither can what only it used."""
    used: set[str] = set()
    for _, snapshot in repo.snapshots():
        if snapshot.tree in used:
            continue
        used.add(snapshot.tree)
        for _, node in walk(repo, snapshot.tree):
            used.update(node.content)
            if node.subtree:
                used.add(node.subtree)
    return used


def _plan(repo: Repository, used: set[str]) -> tuple[list[IndexPack], list[IndexPack], list[IndexPack]]:
    """(keep, repack, drop): each used blob is assigned to exactly one kept or repacked pack."""
    assigned: set[str] = set()
    keep, repack, drop = [], [], []
    # Fullest packs first, so duplicates are kept where most of their neighbours live.
    packs = sorted(repo.index.packs.values(), key=lambda p: -sum(b.id in used for b in p.blobs) / max(1, len(p.blobs)))
    for pack in packs:
        mine = [b for b in pack.blobs if b.id in used and b.id not in assigned]
        mine_ids = {b.id for b in mine}
        assigned.update(mine_ids)
        unused = sum(b.length for b in pack.blobs if b.id not in mine_ids)
        if not mine:
            drop.append(pack)
        elif unused > MAX_UNUSED * pack.size:
            repack.append(pack.model_copy(update={"blobs": mine}))
        else:
            keep.append(pack)
    missing = used - assigned
    if missing:
        raise DamagedData(f"{len(missing)} used blobs are missing from the index; run `mlark repo index rebuild` and `check`")
    return keep, repack, drop


def prune(repo: Repository, *, dry_run: bool = False, progress: Progress | None = None, lock_wait: float = 0.0) -> PruneResult:
    progress = progress or NoProgress()
    margin = safety_margin()
    with repo.lock("prune", exclusive=True, wait=lock_wait) as lock:
        # Under the exclusive lock, re-read everything: this handle may predate other writers.
        repo.index, repo.index_loaded = MasterIndex(), False
        old_indexes = {info.name for info in repo.backend.list(Kind.index)}
        repo.load_index()
        listed = list(repo.backend.list(Kind.data))
        stored = {info.name: info.size for info in listed}
        keep, repack, drop = _plan(repo, used_blobs(repo))
        absent = [p.id for p in keep + repack if p.id not in stored]
        if absent:
            raise DamagedData(f"{len(absent)} packs holding used data are missing (first {absent[0][:16]}); run check")
        unindexed = [i.name for i in listed if i.name not in repo.index.packs and _old_enough(i.modified, margin)]
        temporary = [t for t in _temporary_files(repo) if _old_enough(t.modified, margin)]
        result = PruneResult(packs_deleted=len(drop) + len(unindexed), packs_repacked=len(repack), packs_kept=len(keep),
                             dry_run=dry_run, indexes_replaced=len(repo.index.files),
                             packs_too_young=sum(1 for i in listed if i.name not in repo.index.packs) - len(unindexed),
                             temporary_files_removed=len(temporary), skipped=repo.skipped_snapshots())
        result.bytes_freed = sum(p.size for p in drop + repack) + sum(stored[n] for n in unindexed) + sum(t.size for t in temporary)
        result.blobs_removed = sum(len(p.blobs) for p in drop)
        if dry_run:
            return result
        new_packs = _repack(repo, repack, progress, lock)
        lock.ensure()
        save_index_file(repo.backend, repo.sealer, keep + new_packs, supersedes=old_indexes)
        lock.ensure()
        for name in old_indexes:
            repo.backend.remove(Kind.index, name)
        lock.ensure()
        for name in [p.id for p in drop + repack] + unindexed:
            repo.backend.remove(Kind.data, name)
        for leftover in temporary:
            repo.backend.remove_temporary(leftover.name)  # type: ignore[attr-defined]
    return result


def _temporary_files(repo: Repository) -> list[ObjectInfo]:
    """Leftovers of killed writes, where the backend has any (a local directory; S3 writes are atomic)."""
    lister = getattr(repo.backend, "temporary_files", None)
    return lister() if lister is not None else []


def _repack(repo: Repository, packs: list[IndexPack], progress: Progress, lock: RepoLock) -> list[IndexPack]:
    if not packs:
        return []
    before = set(repo.index.packs)
    saver = BlobSaver(repo, 3, dedup=False, guard=lock.ensure)
    progress.begin("repack", sum(len(p.blobs) for p in packs))
    try:
        for pack in packs:
            for blob in pack.blobs:
                saver.save(blob.type, repo.load_blob(blob.id), blob.id)
                progress.advance(1)
        saver.flush()
    finally:
        saver.close()
        progress.end()
    # The saver already wrote an index for these packs; the superseding index repeats them.
    return [p for name, p in repo.index.packs.items() if name not in before]


def stats(repo: Repository) -> StatsResult:
    repo.load_index()
    snapshots = repo.snapshots()
    raw = sum(location.raw_length for _, location in repo.index.items())
    stored = sum(p.size for p in repo.index.packs.values())
    restore_size = sum(s.summary.total_size for _, s in snapshots if s.summary)
    return StatsResult(snapshots=len(snapshots), packs=len(repo.index.packs), blobs=len(repo.index), stored_bytes=stored,
                       raw_bytes=raw, restore_size=restore_size,
                       compression_ratio=round(raw / stored, 3) if stored else 0.0,
                       dedup_ratio=round(restore_size / raw, 3) if raw else 0.0, skipped=repo.skipped_snapshots())


def rebuild_index(repo: Repository, *, progress: Progress | None = None, lock_wait: float = 0.0) -> tuple[int, list[str]]:
    """Replace every index file by one built from pack headers; return (packs indexed, problems)."""
    progress = progress or NoProgress()
    with repo.lock("index rebuild", exclusive=True, wait=lock_wait) as lock:
        old = {info.name for info in repo.backend.list(Kind.index)}
        packs, problems = [], []
        infos = list(repo.backend.list(Kind.data))
        progress.begin("read pack headers", len(infos))
        for info in infos:
            try:
                header = read_header(repo.backend, info.name, info.size, repo.sealer)
                packs.append(IndexPack(id=info.name, size=info.size, blobs=header.blobs))
            except RepoError as exc:
                problems.append(f"pack {info.name}: {exc}")
            progress.advance(1)
        progress.end()
        lock.ensure()
        save_index_file(repo.backend, repo.sealer, packs, supersedes=old)
        lock.ensure()
        for name in old:
            repo.backend.remove(Kind.index, name)
    return len(packs), problems
