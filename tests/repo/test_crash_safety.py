"""Backup and prune killed with SIGKILL at random moments leave a valid, restorable repository."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlark.repo.backend import LocalBackend
from mlark.repo.backup import backup
from mlark.repo.checker import check
from mlark.repo.maintenance import forget
from mlark.repo.repository import Repository
from mlark.repo.restorer import restore
from mlark.repo.retention import Policy
from tests.repo.conftest import PASSWORD, make_repo, reopen, tree_state

pytestmark = pytest.mark.slow


def _mutate(src: Path, rng: random.Random) -> None:
    for _ in range(3):
        (src / f"f{rng.randrange(12):02d}.bin").write_bytes(os.urandom(rng.randrange(200_000, 1_500_000)))


def _kill_after(args: list[str], delay: float) -> int:
    env = {**os.environ, "MLARK_PASSWORD": PASSWORD}
    proc = subprocess.Popen([sys.executable, "-m", "mlark", "repo", *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    return proc.returncode


def _duration(args: list[str]) -> float:
    """How long the command takes when left alone, on this machine under its current load:
    kill moments are drawn inside that span, so they land mid-run however fast the machine is."""
    started = time.monotonic()
    code = _kill_after(args, 600)
    assert code == 0, f"mlark repo {' '.join(args)} failed on its own (exit {code})"
    return time.monotonic() - started


def _assert_sound(repo_path: Path, expected: dict[str, dict[str, tuple[object, ...]]], out: Path) -> None:
    repo = Repository.open(LocalBackend(repo_path), PASSWORD)
    report = check(repo, read_data=True)
    assert report.ok, report.errors
    for snapshot_id, state in expected.items():
        target = out / snapshot_id[:8]
        result = restore(repo, snapshot_id, str(target))
        assert result.damaged == []
        assert tree_state(target / "src") == state


def test_backup_and_prune_survive_sigkill(tmp_path: Path) -> None:
    rng = random.Random(20261125)
    src = tmp_path / "src"
    src.mkdir()
    _mutate(src, rng)
    repo = make_repo(tmp_path / "repo")
    expected = {backup(repo, [str(src)]).snapshot_id: tree_state(src)}
    _mutate(src, rng)
    backup_time = _duration(["backup", "--repo", str(tmp_path / "repo"), str(src)])
    expected[reopen(repo).snapshots()[-1][0]] = tree_state(src)
    killed = 0
    for trial in range(24):
        _mutate(src, rng)
        if trial % 3 == 2:
            forget(reopen(repo), Policy(last=2))
            expected = {k: v for k, v in expected.items() if k in {n for n, _ in reopen(repo).snapshots()}}
            code = _kill_after(["prune", "--repo", str(tmp_path / "repo")], rng.uniform(0.3, 0.9) * backup_time)
        else:
            code = _kill_after(["backup", "--repo", str(tmp_path / "repo"), str(src)], rng.uniform(0.3, 0.9) * backup_time)
        killed += code == -signal.SIGKILL
        if trial % 4 == 3:
            _assert_sound(tmp_path / "repo", expected, tmp_path / f"out{trial}")
        fresh = reopen(repo)
        expected[backup(fresh, [str(src)]).snapshot_id] = tree_state(src)
    print(f"{killed} of 24 processes killed mid-run")
    assert killed >= 10, f"only {killed} of 24 processes were killed mid-way; the trial timing needs adjusting"
    _assert_sound(tmp_path / "repo", expected, tmp_path / "final")
