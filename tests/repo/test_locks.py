"""Locks under pods: a live backup's lock is never taken away, a lost lock stops its writer,
read-only repositories stay readable, and leftovers are reported and cleaned.

The backups here read a stream from a pipe the test holds, so each one is "running" exactly
as long as the test wants, with packs of it already stored but not yet indexed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mlark.repo.backend import Kind, LocalBackend
from mlark.repo.locks import boot_id, pid_namespace
from mlark.repo.models import LockFile
from tests.repo.conftest import PASSWORD, cli, cli_json, make_repo

CHUNK = 1024 * 1024


def _wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _packs(repo_path: Path) -> list[Path]:
    return [p for p in (repo_path / "data").rglob("*") if p.is_file() and not p.name.startswith(".tmp-")]


def _locks(repo_path: Path) -> list[Path]:
    return list((repo_path / "locks").iterdir())


def _snapshot_files(repo_path: Path) -> set[str]:
    return {p.name for p in (repo_path / "snapshots").iterdir()}


class StreamBackup:
    """`mlark repo backup --stdin-name` fed by the test: running until finish() closes the pipe."""

    def __init__(self, repo_path: Path, env: dict[str, str] | None = None) -> None:
        self.repo_path = repo_path
        self.sent = bytearray()
        full_env = {**os.environ, "MLARK_PASSWORD": PASSWORD, "COLUMNS": "500", **(env or {})}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mlark", "repo", "backup", "--repo", str(repo_path), "--stdin-name", "model.bin", "-o", "json"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env)

    def send(self, megabytes: int) -> None:
        assert self.proc.stdin is not None
        for _ in range(megabytes):
            block = os.urandom(CHUNK)
            self.proc.stdin.write(block)
            self.sent += block
        self.proc.stdin.flush()

    def running_with_packs(self) -> None:
        """Wait until the backup holds its lock and has stored packs no index names yet."""
        before = len(_packs(self.repo_path))
        self.send(4)
        _wait_for(lambda: len(_locks(self.repo_path)) >= 1, "the backup's lock")
        _wait_for(lambda: len(_packs(self.repo_path)) > before, "a stored pack of the running backup")

    def finish(self, megabytes: int = 2) -> tuple[int, str, str]:
        self.send(megabytes)
        out, err = self.proc.communicate(timeout=120)
        return self.proc.returncode, out.decode(), err.decode()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def stream_backups() -> Iterator[list[StreamBackup]]:
    started: list[StreamBackup] = []
    yield started
    for backup in started:
        backup.kill()


def _in_other_pid_namespace(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """`mlark repo ARGS` in a PID namespace of its own, same host name: a second container of the pod."""
    full_env = {**os.environ, "MLARK_PASSWORD": PASSWORD, "COLUMNS": "500", **(env or {})}
    return subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m", "mlark", "repo", *args],
                          capture_output=True, env=full_env, timeout=120)


def test_prune_in_another_pid_namespace_cannot_take_a_running_backups_lock(
        repo_path: Path, tmp_path: Path, stream_backups: list[StreamBackup]) -> None:
    running = StreamBackup(repo_path)
    stream_backups.append(running)
    running.running_with_packs()
    lock = LockFile.model_validate_json(_locks(repo_path)[0].read_bytes())
    assert lock.host == socket.gethostname() and lock.holder  # same host name: the old rule called it stale

    no_margin = {"MLARK_PRUNE_MIN_AGE_SECONDS": "0"}  # nothing but the lock protects the backup's packs
    pruned = _in_other_pid_namespace("prune", "--repo", str(repo_path), env=no_margin)
    assert pruned.returncode == 13, pruned.stderr.decode()
    assert "locked shared by backup" in pruned.stderr.decode()
    waited = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-m", "mlark", "repo", "prune",
                               "--repo", str(repo_path), "--lock-wait", "60", "-o", "json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env={**os.environ, "MLARK_PASSWORD": PASSWORD, **no_margin})
    time.sleep(2)
    assert waited.poll() is None, "prune with --lock-wait must wait for the backup"

    code, out, err = running.finish()
    assert code == 0, err
    snapshot_id = json.loads(out)["snapshot_id"]
    waited_out, waited_err = waited.communicate(timeout=120)
    assert waited.returncode == 0, waited_err.decode()
    cli("restore", "--repo", str(repo_path), snapshot_id, "--target", str(tmp_path / "out"), check=True)
    assert (tmp_path / "out" / "model.bin").read_bytes() == bytes(running.sent)
    assert cli_json("check", "--repo", str(repo_path), "--read-data")["ok"] is True


def test_backup_whose_lock_is_removed_fails_and_leaves_no_snapshot(
        repo_path: Path, tmp_path: Path, stream_backups: list[StreamBackup]) -> None:
    before = _snapshot_files(repo_path)
    running = StreamBackup(repo_path)
    stream_backups.append(running)
    running.running_with_packs()
    for lock in _locks(repo_path):
        lock.unlink()
    code, _, err = running.finish()
    assert code == 17, err
    assert "lock" in err and "was removed by another process" in err and "Traceback" not in err
    assert _snapshot_files(repo_path) == before
    assert list((repo_path / "index").iterdir()) == []  # not even an index of its packs
    assert cli_json("check", "--repo", str(repo_path))["ok"] is True


def test_backup_paused_beyond_the_stale_age_aborts_and_the_repository_stays_valid(
        repo_path: Path, tmp_path: Path, stream_backups: list[StreamBackup]) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(300_000))
    earlier = cli_json("backup", "--repo", str(repo_path), str(src))["snapshot_id"]
    ages = {"MLARK_LOCK_REFRESH_SECONDS": "1", "MLARK_LOCK_STALE_SECONDS": "6", "MLARK_PRUNE_MIN_AGE_SECONDS": "0"}
    running = StreamBackup(repo_path, env=ages)
    stream_backups.append(running)
    running.running_with_packs()
    running.proc.send_signal(signal.SIGSTOP)  # a suspended node, VM or container
    try:
        time.sleep(7)
        # Now the lock is stale by age: a prune elsewhere removes it and the backup's packs.
        pruned = _in_other_pid_namespace("prune", "--repo", str(repo_path), "-o", "json", env=ages)
        assert pruned.returncode == 0, pruned.stderr.decode()
        assert json.loads(pruned.stdout)["packs_deleted"] >= 1
    finally:
        running.proc.send_signal(signal.SIGCONT)
    code, _, err = running.finish()
    assert code == 17, err
    assert "not refreshed" in err or "removed by another process" in err
    assert {s["id"] for s in cli_json("snapshots", "--repo", str(repo_path))} == {earlier}
    assert cli_json("check", "--repo", str(repo_path), "--read-data")["ok"] is True
    cli("restore", "--repo", str(repo_path), earlier, "--target", str(tmp_path / "out"), check=True)
    assert (tmp_path / "out" / "src" / "a.bin").read_bytes() == (src / "a.bin").read_bytes()


# --- read-only repositories ----------------------------------------------------------


def _backed_up(repo_path: Path, tmp_path: Path) -> tuple[str, Path]:
    src = tmp_path / "src"
    src.mkdir()
    (src / "weights.bin").write_bytes(os.urandom(400_000))
    return cli_json("backup", "--repo", str(repo_path), str(src))["snapshot_id"], src


READ_COMMANDS = [("snapshots",), ("ls", "latest"), ("cat", "latest", "src/weights.bin"), ("check", "--read-data")]


def _read_only_mount(repo_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """`mlark repo ARGS` seeing repo_path as a read-only mount (a mount namespace of its own)."""
    script = f'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"'
    env = {**os.environ, "MLARK_PASSWORD": PASSWORD, "COLUMNS": "500"}
    return subprocess.run(["unshare", "--mount", "sh", "-c", script, "sh", str(repo_path), sys.executable, "-m", "mlark",
                           "repo", *args], capture_output=True, env=env, timeout=120)


def test_read_only_mount_is_restorable_and_checkable_without_a_lock(repo_path: Path, tmp_path: Path) -> None:
    snapshot_id, src = _backed_up(repo_path, tmp_path)
    for command in READ_COMMANDS:
        result = _read_only_mount(repo_path, command[0], "--repo", str(repo_path), *command[1:])
        err = result.stderr.decode()
        assert result.returncode == 0, (command, err)
        assert "note: no lock taken: the repository refuses writes" in err and "Traceback" not in err
    cat = _read_only_mount(repo_path, "cat", "--repo", str(repo_path), snapshot_id, "src/weights.bin")
    assert cat.stdout == (src / "weights.bin").read_bytes()
    restored = _read_only_mount(repo_path, "restore", "--repo", str(repo_path), snapshot_id, "--target", str(tmp_path / "out"))
    assert restored.returncode == 0, restored.stderr.decode()
    assert (tmp_path / "out" / "src" / "weights.bin").read_bytes() == (src / "weights.bin").read_bytes()
    backup = _read_only_mount(repo_path, "backup", "--repo", str(repo_path), str(src))
    assert backup.returncode == 18 and "refuses writes" in backup.stderr.decode()
    assert "Traceback" not in backup.stderr.decode()
    assert _locks(repo_path) == []


def test_non_root_user_reads_a_root_owned_repository(tmp_path: Path) -> None:
    shared = Path(tempfile.mkdtemp(prefix="mlark-ro-"))
    try:
        shared.chmod(0o755)
        repo_path = shared / "repo"
        make_repo(repo_path)
        src = shared / "src"
        src.mkdir()
        (src / "weights.bin").write_bytes(os.urandom(300_000))
        snapshot_id = cli_json("backup", "--repo", str(repo_path), str(src))["snapshot_id"]
        for path in [repo_path, *repo_path.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # readable by all, writable by root only
        target = shared / "out"
        target.mkdir(mode=0o777)
        target.chmod(0o777)

        def as_nobody(*args: str) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(["runuser", "-u", "nobody", "--", "env", f"MLARK_PASSWORD={PASSWORD}", "COLUMNS=500",
                                   sys.executable, "-m", "mlark", "repo", *args], capture_output=True, timeout=120, cwd=shared)

        for command in [c for c in READ_COMMANDS if c[0] != "cat"]:
            result = as_nobody(command[0], "--repo", str(repo_path), *command[1:])
            assert result.returncode == 0, (command, result.stderr.decode())
            assert "note: no lock taken" in result.stderr.decode()
        restored = as_nobody("restore", "--repo", str(repo_path), snapshot_id, "--target", str(target))
        assert restored.returncode == 0, restored.stderr.decode()
        assert (target / "src" / "weights.bin").read_bytes() == (src / "weights.bin").read_bytes()
        refused = as_nobody("prune", "--repo", str(repo_path))
        assert refused.returncode == 18 and "refuses writes" in refused.stderr.decode()
    finally:
        shutil.rmtree(shared)


def test_no_lock_takes_no_lock_and_says_so(repo_path: Path, tmp_path: Path) -> None:
    snapshot_id, src = _backed_up(repo_path, tmp_path)
    # An exclusive lock held elsewhere: with --no-lock, reading does not even look at it.
    now = dt.datetime.now(dt.timezone.utc)
    held = LockFile(exclusive=True, host="other-host", pid=1, operation="prune", time=now, refreshed=now, holder="2" * 32)
    (repo_path / "locks" / "held").write_text(held.model_dump_json())
    assert cli("restore", "--repo", str(repo_path), snapshot_id, "--target", str(tmp_path / "x")).returncode == 13
    result = cli("restore", "--repo", str(repo_path), snapshot_id, "--target", str(tmp_path / "out"), "--no-lock")
    assert result.returncode == 0, result.stderr.decode()
    assert "note: no lock taken (--no-lock)" in result.stderr.decode()
    assert (tmp_path / "out" / "src" / "weights.bin").read_bytes() == (src / "weights.bin").read_bytes()
    assert cli_json("check", "--repo", str(repo_path), "--no-lock")["ok"] is True
    assert [p.name for p in _locks(repo_path)] == ["held"]


# --- leftovers ------------------------------------------------------------------------


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_prune_removes_old_temporary_files_and_unindexed_packs_and_keeps_young_ones(repo_path: Path, tmp_path: Path) -> None:
    _backed_up(repo_path, tmp_path)
    pack = _packs(repo_path)[0]
    old_tmp = pack.parent / f".tmp-{pack.name[:-4]}dead-0badc0de"
    young_tmp = repo_path / "index" / ".tmp-0123-feedbeef"
    old_tmp.write_bytes(os.urandom(50_000))
    young_tmp.write_bytes(b"half an index")
    _age(old_tmp, 25 * 3600)
    orphan_old = repo_path / "data" / "ab" / ("ab" + "1" * 62)
    orphan_young = repo_path / "data" / "cd" / ("cd" + "2" * 62)
    for orphan in (orphan_old, orphan_young):
        orphan.parent.mkdir(exist_ok=True)
        orphan.write_bytes(os.urandom(10_000))
    _age(orphan_old, 25 * 3600)

    report = cli_json("check", "--repo", str(repo_path))
    assert report["ok"] is True
    temporary = {w["object"] for w in report["warnings"] if w["kind"] == "temporary"}
    assert temporary == {str(old_tmp.relative_to(repo_path)), str(young_tmp.relative_to(repo_path))}

    result = cli_json("prune", "--repo", str(repo_path))
    assert result["temporary_files_removed"] == 1 and result["packs_deleted"] == 1 and result["packs_too_young"] == 1
    assert not old_tmp.exists() and young_tmp.exists()
    assert not orphan_old.exists() and orphan_young.exists()  # may be a live backup's, not yet indexed
    assert cli_json("check", "--repo", str(repo_path), "--read-data")["ok"] is True


def test_unparsable_and_stale_locks_are_reported_cleaned_and_unlocked(repo_path: Path, tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    old = now - dt.timedelta(hours=1)
    stale_shared = LockFile(exclusive=False, host="gone", pid=7, operation="backup", time=old, refreshed=old, holder="3" * 32)
    live = LockFile(exclusive=False, host="elsewhere", pid=7, operation="backup", time=now, refreshed=now, holder="4" * 32)
    locks = repo_path / "locks"
    (locks / "stale").write_text(stale_shared.model_dump_json())
    (locks / "live").write_text(live.model_dump_json())
    (locks / "garbage").write_bytes(b"\x00not json")

    report = cli_json("check", "--repo", str(repo_path), "--no-lock")
    warned = {(w["kind"], w["object"]) for w in report["warnings"]}
    assert {("lock", "garbage"), ("lock", "stale")} <= warned and ("lock", "live") not in warned
    assert report["ok"] is True
    # A shared locker clears a stale shared lock too, so they no longer pile up; it names the bad one.
    locked = cli("check", "--repo", str(repo_path))
    assert locked.returncode == 0 and "lock file locks/garbage cannot be parsed" in locked.stderr.decode()
    assert sorted(p.name for p in _locks(repo_path)) == ["garbage", "live"]

    result = cli("unlock", "--repo", str(repo_path), "-o", "json")
    assert result.returncode == 0, result.stderr.decode()
    assert sorted(p.name for p in _locks(repo_path)) == ["live"]
    assert "garbage" in json.loads(result.stdout)["unparsable"]

    everything = cli("unlock", "--repo", str(repo_path), "--remove-all")
    assert everything.returncode == 0 and "warning: --remove-all" in everything.stderr.decode()
    assert _locks(repo_path) == []


def test_lock_records_a_holder_unique_across_processes(repo_path: Path) -> None:
    from mlark.repo.locks import RepoLock

    backend = LocalBackend(repo_path)
    with RepoLock(backend, exclusive=False, operation="backup") as lock:
        mine = LockFile.model_validate_json(backend.load(Kind.locks, lock.name))
    child = subprocess.run([sys.executable, "-c", "from mlark.repo.locks import HOLDER; print(HOLDER)"],
                           capture_output=True, text=True, check=True)
    assert len(mine.holder) == 32 and mine.holder != child.stdout.strip()
    assert mine.boot_id == boot_id() and mine.pid_namespace == pid_namespace()


class _LockThief(LocalBackend):
    """The real local backend; when prune lists the packs, every lock vanishes (an operator's
    `unlock --remove-all`, or another process that wrongly called it stale)."""

    def list(self, kind: Kind) -> Iterator[Any]:
        if kind is Kind.data:
            for lock in (self.root / "locks").iterdir():
                lock.unlink()
        return super().list(kind)


def test_prune_whose_lock_is_removed_stops_before_writing_or_deleting(tmp_path: Path) -> None:
    from mlark.repo.errors import LockLost
    from mlark.repo.maintenance import forget, prune
    from mlark.repo.repository import Repository
    from mlark.repo.retention import Policy

    repo = make_repo(tmp_path / "repo")
    src = tmp_path / "src"
    src.mkdir()
    for round_ in range(3):
        (src / "a.bin").write_bytes(os.urandom(600_000))
        cli_json("backup", "--repo", str(tmp_path / "repo"), str(src))
    forget(repo, Policy(last=1))
    before = sorted(p.relative_to(tmp_path / "repo") for p in (tmp_path / "repo").rglob("*") if p.is_file())
    with pytest.raises(LockLost, match="removed by another process"):
        prune(Repository.open(_LockThief(tmp_path / "repo"), PASSWORD))
    after = sorted(p.relative_to(tmp_path / "repo") for p in (tmp_path / "repo").rglob("*") if p.is_file())
    assert after == [p for p in before if p.parts[0] != "locks"]  # not one index written, not one pack deleted
    assert cli_json("prune", "--repo", str(tmp_path / "repo"))["packs_deleted"] >= 1


@pytest.mark.s3
def test_s3_with_read_only_credentials_is_readable_without_a_lock(s3_service: Any, s3_bucket: str, tmp_path: Path) -> None:
    admin = {"AWS_ACCESS_KEY_ID": s3_service.access_key, "AWS_SECRET_ACCESS_KEY": s3_service.secret_key,
             "AWS_REGION": s3_service.region}
    reader = {**admin, "AWS_ACCESS_KEY_ID": s3_service.reader_access_key, "AWS_SECRET_ACCESS_KEY": s3_service.reader_secret_key}
    url = f"s3:{s3_service.endpoint}/{s3_bucket}/repo"
    cli("init", "--repo", url, env=admin, check=True)
    src = tmp_path / "src"
    src.mkdir()
    (src / "weights.bin").write_bytes(os.urandom(400_000))
    snapshot_id = cli_json("backup", "--repo", url, str(src), env=admin)["snapshot_id"]
    for command in READ_COMMANDS:
        result = cli(command[0], "--repo", url, *command[1:], env=reader)
        err = result.stderr.decode()
        assert result.returncode == 0, (command, err)
        assert "note: no lock taken: the repository refuses writes (S3 denied" in err and "Traceback" not in err
    restored = cli("restore", "--repo", url, snapshot_id, "--target", str(tmp_path / "out"), env=reader)
    assert restored.returncode == 0, restored.stderr.decode()
    assert (tmp_path / "out" / "src" / "weights.bin").read_bytes() == (src / "weights.bin").read_bytes()
    refused = cli("backup", "--repo", url, str(src), env=reader)
    assert refused.returncode == 18 and "refuses writes" in refused.stderr.decode()
    keys = s3_service.client().list_objects_v2(Bucket=s3_bucket, Prefix="repo/locks/")
    assert keys.get("KeyCount", 0) == 0
