"""Corruption, locks and concurrency: damage is reported, never restored silently; locks hold."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from mlark.repo.backend import Kind
from mlark.repo.backup import backup
from mlark.repo.checker import check
from mlark.repo.errors import Locked
from mlark.repo.locks import RepoLock
from mlark.repo.maintenance import prune, rebuild_index
from mlark.repo.repository import Repository
from mlark.repo.restorer import restore
from tests.repo.conftest import reopen, tree_state


def _pack_files(repo_path: Path) -> list[Path]:
    return sorted(p for p in (repo_path / "data").rglob("*") if p.is_file())


def test_flipped_byte_is_found_by_check_and_named_by_restore(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "victim.bin").write_bytes(os.urandom(400_000))
    (src / "bystander.txt").write_text("fine\n")
    backup(repo, [str(src)])
    victim_blob = next(n for n in repo.load_tree(repo.load_tree(repo.snapshots()[0][1].tree).nodes[0].subtree).nodes
                       if n.name == "victim.bin").content[0]
    location = repo.locate(victim_blob)
    pack = repo.backend.root / "data" / location.pack[:2] / location.pack  # type: ignore[attr-defined]
    data = bytearray(pack.read_bytes())
    data[location.offset + 40] ^= 0x01
    pack.write_bytes(bytes(data))

    assert check(reopen(repo)).ok  # structure alone cannot see it
    report = check(reopen(repo), read_data=True)
    assert not report.ok
    assert any(p.object == victim_blob for p in report.errors)
    assert any(p.object == location.pack and "does not match its name" in p.message for p in report.errors)

    result = restore(reopen(repo), "latest", str(tmp_path / "out"))
    assert len(result.damaged) == 1 and result.damaged[0].startswith("data/victim.bin")
    assert not (tmp_path / "out" / "data" / "victim.bin").exists()
    assert (tmp_path / "out" / "data" / "bystander.txt").read_text() == "fine\n"


def test_lost_index_is_rebuilt_from_pack_headers(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    for i in range(5):
        (src / f"{i}.bin").write_bytes(os.urandom(300_000))
    backup(repo, [str(src)])
    for info in list(repo.backend.list(Kind.index)):
        repo.backend.remove(Kind.index, info.name)
    assert not check(reopen(repo)).ok
    packs, problems = rebuild_index(reopen(repo))
    assert packs == len(_pack_files(tmp_path / "repo")) and problems == []
    assert check(reopen(repo), read_data=True).ok
    restore(reopen(repo), "latest", str(tmp_path / "out"))
    assert tree_state(tmp_path / "out" / "data") == tree_state(src)


def test_two_backups_at_the_same_time_both_succeed(repo: Repository, tmp_path: Path) -> None:
    sources = []
    for name in ("a", "b"):
        src = tmp_path / name
        src.mkdir()
        for i in range(6):
            (src / f"{i}.bin").write_bytes(os.urandom(400_000))
        (src / "shared.bin").write_bytes(b"same in both" * 50_000)
        sources.append(src)
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def run(src: Path) -> None:
        try:
            results[src.name] = backup(reopen(repo), [str(src)]).snapshot_id
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(src,)) for src in sources]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and len(results) == 2
    assert check(reopen(repo), read_data=True).ok
    for src in sources:
        restore(reopen(repo), results[src.name], str(tmp_path / f"out-{src.name}"))
        assert tree_state(tmp_path / f"out-{src.name}" / src.name) == tree_state(src)


def test_prune_refuses_while_a_backup_holds_the_lock_then_waits(repo: Repository) -> None:
    holder = RepoLock(repo.backend, exclusive=False, operation="backup")
    holder.acquire()
    with pytest.raises(Locked, match="backup"):
        prune(reopen(repo))
    timer = threading.Timer(0.8, holder.release)
    timer.start()
    result = prune(reopen(repo), lock_wait=10)
    timer.join()
    assert result.packs_deleted == 0


def test_stale_lock_of_a_dead_process_does_not_block_prune(repo: Repository) -> None:
    from mlark.repo.locks import boot_id, pid_namespace
    from mlark.repo.models import LockFile
    import datetime as dt
    import socket

    now = dt.datetime.now(dt.timezone.utc)
    dead = LockFile(exclusive=False, host=socket.gethostname(), pid=2**22 + 12345, operation="backup", time=now, refreshed=now,
                    holder="0" * 32, boot_id=boot_id(), pid_namespace=pid_namespace())
    repo.backend.save(Kind.locks, "dead", dead.model_dump_json().encode())
    prune(reopen(repo))
    assert [i.name for i in repo.backend.list(Kind.locks)] == []


@pytest.mark.parametrize("differs", ["pid_namespace", "boot_id", "unrecorded"])
def test_fresh_lock_with_our_host_name_but_another_process_space_holds(repo: Repository, differs: str) -> None:
    # Two containers of one pod share the host name, not the PID namespace; a pod restarted on
    # another boot reuses pids. A pid that does not exist *here* says nothing then: only age counts.
    from mlark.repo.locks import boot_id, pid_namespace
    from mlark.repo.models import LockFile
    import datetime as dt
    import socket

    now = dt.datetime.now(dt.timezone.utc)
    ids = {"boot_id": boot_id(), "pid_namespace": pid_namespace()}
    ids.update({"pid_namespace": "pid:[1]"} if differs == "pid_namespace" else {"boot_id": "another boot"} if differs == "boot_id"
               else {"boot_id": "", "pid_namespace": ""})
    other = LockFile(exclusive=False, host=socket.gethostname(), pid=2**22 + 12345, operation="backup", time=now, refreshed=now,
                     holder="1" * 32, **ids)
    repo.backend.save(Kind.locks, "other", other.model_dump_json().encode())
    with pytest.raises(Locked, match="backup"):
        prune(reopen(repo))
    assert [i.name for i in repo.backend.list(Kind.locks)] == ["other"]


def test_lock_is_refreshed_while_held(repo: Repository) -> None:
    lock = RepoLock(repo.backend, exclusive=True, operation="prune", refresh_every=0.1)
    with lock:
        first = repo.backend.load(Kind.locks, lock.name)
        threading.Event().wait(0.35)
        assert repo.backend.load(Kind.locks, lock.name) != first
    assert list(repo.backend.list(Kind.locks)) == []


def test_damage_in_a_run_of_small_files_names_only_the_damaged_file(repo: Repository, tmp_path: Path) -> None:
    # Small files whose blobs are neighbours in one pack are restored from one read of the
    # pack: a flipped byte in one of them must not cost (or corrupt) its neighbours.
    src = tmp_path / "notes"
    src.mkdir()
    for i in range(40):
        (src / f"{i:02d}.txt").write_bytes(os.urandom(2_000 + i))
    (src / "empty").write_bytes(b"")
    backup(repo, [str(src)])
    nodes = repo.load_tree(repo.load_tree(repo.snapshots()[0][1].tree).nodes[0].subtree).nodes
    victim = next(n for n in nodes if n.name == "17.txt")
    location = repo.locate(victim.content[0])
    assert len({repo.locate(n.content[0]).pack for n in nodes if n.content}) == 1
    pack = repo.backend.root / "data" / location.pack[:2] / location.pack  # type: ignore[attr-defined]
    data = bytearray(pack.read_bytes())
    data[location.offset + location.length - 1] ^= 0x01
    pack.write_bytes(bytes(data))

    out = tmp_path / "out"
    result = restore(reopen(repo), "latest", str(out))
    assert [d.split(":")[0] for d in result.damaged] == ["notes/17.txt"]
    assert not (out / "notes" / "17.txt").exists()
    survivors = {p.name for p in (out / "notes").iterdir()}
    assert survivors == {p.name for p in src.iterdir()} - {"17.txt"}
    for name in survivors:
        assert (out / "notes" / name).read_bytes() == (src / name).read_bytes()


def test_missing_pack_names_every_file_it_held(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "notes"
    src.mkdir()
    for i in range(5):
        (src / f"{i}.txt").write_text(f"note {i}\n")
    backup(repo, [str(src)])
    data_packs = {repo.locate(n.content[0]).pack
                  for n in repo.load_tree(repo.load_tree(repo.snapshots()[0][1].tree).nodes[0].subtree).nodes}
    for pack_id in data_packs:
        repo.backend.remove(Kind.data, pack_id)
    result = restore(reopen(repo), "latest", str(tmp_path / "out"))
    assert sorted(d.split(":")[0] for d in result.damaged) == [f"notes/{i}.txt" for i in range(5)]
    assert list((tmp_path / "out" / "notes").iterdir()) == []
