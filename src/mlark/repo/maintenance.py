"""forget, prune, stats and index rebuild.

prune order (each step leaves a valid repository if the process dies after it):
  1. write new packs holding the still-used blobs of mostly-unused packs, and their index
  2. write one index of every kept pack that supersedes all older index files
  3. delete the superseded index files
  4. delete packs no index names any more
A pack leaves the index before it leaves the storage.
"""

from __future__ import annotations

from mlark.repo import retention
from mlark.repo.backend.base import Kind
from mlark.repo.errors import DamagedData, RepoError
from mlark.repo.index import MasterIndex, save_index_file
from mlark.repo.locks import RepoLock
from mlark.repo.models import ForgetResult, IndexPack, PruneResult, StatsResult
from mlark.repo.pack import read_header
from mlark.repo.progress import NoProgress, Progress
from mlark.repo.repository import Repository
from mlark.repo.restorer import walk
from mlark.repo.saver import BlobSaver

MAX_UNUSED = 0.10


def forget(repo: Repository, policy: retention.Policy, *, tags: list[str] | None = None, host: str | None = None,
           dry_run: bool = False, lock_wait: float = 0.0) -> ForgetResult:
    """Remove snapshots the policy does not keep, per group of (host, paths, streams)."""
    with RepoLock(repo.backend, exclusive=not dry_run, operation="forget", wait=lock_wait):
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
            for name in remove:
                repo.backend.remove(Kind.snapshots, name)
    return ForgetResult(keep=sorted(reasons), remove=sorted(remove), reasons=reasons, dry_run=dry_run,
                        skipped=repo.skipped_snapshots())


def forget_ids(repo: Repository, refs: list[str], *, dry_run: bool = False, lock_wait: float = 0.0) -> ForgetResult:
    """Remove the snapshots with these IDs or unique prefixes, without reading them (a damaged one too)."""
    with RepoLock(repo.backend, exclusive=not dry_run, operation="forget", wait=lock_wait):
        remove = sorted({repo.snapshot_name(ref) for ref in refs})
        if not dry_run:
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
    with RepoLock(repo.backend, exclusive=True, operation="prune", wait=lock_wait):
        # Under the exclusive lock, re-read everything: this handle may predate other writers.
        repo.index, repo.index_loaded = MasterIndex(), False
        old_indexes = {info.name for info in repo.backend.list(Kind.index)}
        repo.load_index()
        stored = {info.name: info.size for info in repo.backend.list(Kind.data)}
        keep, repack, drop = _plan(repo, used_blobs(repo))
        absent = [p.id for p in keep + repack if p.id not in stored]
        if absent:
            raise DamagedData(f"{len(absent)} packs holding used data are missing (first {absent[0][:16]}); run check")
        unindexed = [name for name in stored if name not in repo.index.packs]
        result = PruneResult(packs_deleted=len(drop) + len(unindexed), packs_repacked=len(repack), packs_kept=len(keep),
                             dry_run=dry_run, indexes_replaced=len(repo.index.files), skipped=repo.skipped_snapshots())
        result.bytes_freed = sum(p.size for p in drop + repack) + sum(stored[n] for n in unindexed)
        result.blobs_removed = sum(len(p.blobs) for p in drop)
        if dry_run:
            return result
        new_packs = _repack(repo, repack, progress)
        save_index_file(repo.backend, repo.sealer, keep + new_packs, supersedes=old_indexes)
        for name in old_indexes:
            repo.backend.remove(Kind.index, name)
        for name in [p.id for p in drop + repack] + unindexed:
            repo.backend.remove(Kind.data, name)
    return result


def _repack(repo: Repository, packs: list[IndexPack], progress: Progress) -> list[IndexPack]:
    if not packs:
        return []
    before = set(repo.index.packs)
    saver = BlobSaver(repo, 3, dedup=False)
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
    with RepoLock(repo.backend, exclusive=True, operation="index rebuild", wait=lock_wait):
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
        save_index_file(repo.backend, repo.sealer, packs, supersedes=old)
        for name in old:
            repo.backend.remove(Kind.index, name)
    return len(packs), problems
