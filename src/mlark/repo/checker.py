"""check: the structure (index, packs, snapshots, trees) and, on request, every blob's bytes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from mlark.repo.backend.base import Kind
from mlark.repo.crypto import storage_id
from mlark.repo.errors import RepoError
from mlark.repo.locks import describe, is_stale, lock_ages, read_locks
from mlark.repo.models import CheckProblem, CheckReport, IndexPack
from mlark.repo.pack import header_from_pack, read_header
from mlark.repo.progress import NoProgress, Progress
from mlark.repo.repository import Repository


class Checker:
    def __init__(self, repo: Repository, progress: Progress) -> None:
        self.repo = repo
        self.progress = progress
        self.report = CheckReport(ok=True)
        self.unindexed: dict[str, int] = {}  # packs in storage that no index names: name -> size
        self.missing: set[str] = set()  # blobs snapshots use that no index names

    def error(self, kind: str, obj: str, message: str) -> None:
        self.report.errors.append(CheckProblem(kind=kind, object=obj, message=message))

    def warn(self, kind: str, obj: str, message: str) -> None:
        self.report.warnings.append(CheckProblem(kind=kind, object=obj, message=message))

    def check_packs(self) -> dict[str, int]:
        stored = {info.name: info.size for info in self.repo.backend.list(Kind.data)}
        for pack in self.repo.index.packs.values():
            if pack.id not in stored:
                self.error("pack", pack.id, "pack named by the index is missing from storage")
            elif stored[pack.id] != pack.size:
                self.error("pack", pack.id, f"pack is {stored[pack.id]} bytes, the index says {pack.size}")
        # Judged once the snapshots are walked (check_unindexed): a lost index leaves live packs unindexed too.
        self.unindexed = {name: stored[name] for name in stored.keys() - self.repo.index.packs.keys()}
        self.report.packs = len(stored)
        self.report.blobs = len(self.repo.index)
        return stored

    def check_leftovers(self) -> None:
        """Temporary files of killed writes and lock files nobody can use: reported, never errors."""
        lister = getattr(self.repo.backend, "temporary_files", None)
        for leftover in lister() if lister is not None else []:
            age = time.time() - (leftover.modified or time.time())
            self.warn("temporary", leftover.name, f"{leftover.size} bytes left by an interrupted write {age / 3600:.1f} h ago; "
                      "prune removes it once older than its safety margin")
        locks, unparsable = read_locks(self.repo.backend)
        stale_after = lock_ages()[1]
        for name in unparsable:
            self.warn("lock", name, "lock file cannot be parsed; `mlark repo unlock` removes it")
        for name, lock in locks.items():
            if is_stale(lock, stale_after):
                self.warn("lock", name, f"stale lock ({describe(lock)}); the next locker or `mlark repo unlock` removes it")

    def check_snapshots(self) -> None:
        seen: set[str] = set()
        names = [info.name for info in self.repo.backend.list(Kind.snapshots)]
        self.report.snapshots = len(names)
        for name in names:
            try:
                snapshot = self.repo.load_snapshot(name)
                self.check_tree(snapshot.tree, f"snapshot {name[:8]}:/", seen)
            except RepoError as exc:
                self.error("snapshot", name, str(exc))

    def check_tree(self, tree_id: str, where: str, seen: set[str]) -> None:
        if tree_id in seen:
            return
        seen.add(tree_id)
        try:
            tree = self.repo.load_tree(tree_id)
        except RepoError as exc:
            if tree_id not in self.repo.index:
                self.missing.add(tree_id)
            self.error("tree", tree_id, f"{where}: {exc}")
            return
        for node in tree.nodes:
            path = f"{where}{node.name}"
            for blob in node.content:
                if blob not in self.repo.index:
                    self.missing.add(blob)
                    self.error("blob", blob, f"{path}: data blob missing from the index")
            if node.subtree:
                self.check_tree(node.subtree, f"{path}/", seen)

    def check_unindexed(self) -> None:
        """Packs no index names: the data of snapshots after an index was lost (`index rebuild`
        recovers it), or leftovers of an interrupted backup (`prune` removes them). The pack's
        header tells which."""
        for name, size in sorted(self.unindexed.items()):
            try:
                header = read_header(self.repo.backend, name, size, self.repo.sealer)
            except RepoError as exc:
                self.warn("pack", name, f"pack is not in any index and its header cannot be read ({exc}); "
                                        "`mlark repo index rebuild` reports it, `prune` removes it")
                continue
            if any(blob.id in self.missing for blob in header.blobs):
                self.error("pack", name, "pack is not in any index but holds data snapshots use: "
                                         "run `mlark repo index rebuild`, which recovers it")
            elif self.missing:  # an index is lost: this pack may hold data below trees not readable yet
                self.warn("pack", name, "pack is not in any index while snapshots miss blobs: "
                                        "run `mlark repo index rebuild` before any prune")
            else:
                self.warn("pack", name, "pack is not in any index (left by an interrupted backup; prune removes it)")

    def read_pack(self, pack: IndexPack) -> None:
        try:
            data = self.repo.backend.load(Kind.data, pack.id)
        except RepoError as exc:
            self.error("pack", pack.id, str(exc))
            return
        self.report.bytes_read += len(data)
        if storage_id(data) != pack.id:
            self.error("pack", pack.id, "pack content does not match its name (damaged)")
        try:
            header = header_from_pack(data, self.repo.sealer, pack.id)
            if header.blobs != pack.blobs:
                self.error("pack", pack.id, "pack header disagrees with the index")
        except RepoError as exc:
            self.error("pack", pack.id, str(exc))
        for blob in pack.blobs:
            sealed = data[blob.offset : blob.offset + blob.length]
            try:
                self.repo.decode_blob(blob.id, sealed, blob.raw_length, blob.compressed)
            except RepoError as exc:
                self.error("blob", blob.id, f"in pack {pack.id[:16]}: {exc}")
        self.progress.advance(len(data))


def check(repo: Repository, *, read_data: bool = False, progress: Progress | None = None, lock_wait: float = 0.0) -> CheckReport:
    progress = progress or NoProgress()
    checker = Checker(repo, progress)
    with repo.lock("check", wait=lock_wait, reading=True):
        for problem in repo.load_index():
            checker.error("index", "", problem)
        checker.check_packs()
        checker.check_leftovers()
        checker.check_snapshots()
        checker.check_unindexed()
        if read_data:
            checker.report.read_data = True
            packs = list(repo.index.packs.values())
            progress.begin("read data", sum(p.size for p in packs))
            with ThreadPoolExecutor(2, thread_name_prefix="mlark-check") as pool:
                list(pool.map(checker.read_pack, packs))
            progress.end()
    checker.report.ok = not checker.report.errors
    return checker.report
