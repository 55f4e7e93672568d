"""Backup, forget and prune on S3 through a proxy that drops connections and answers 500/503 at
random: the repository stays valid and every snapshot it still lists restores exactly."""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.repo.conftest import cli, tree_state
from tests.repo.faultproxy import FAULTS, FaultProxy

pytestmark = [pytest.mark.s3, pytest.mark.slow]


@pytest.fixture
def proxy(s3_service: Any) -> Iterator[FaultProxy]:
    upstream = urlsplit(s3_service.endpoint)
    running = FaultProxy(upstream.hostname or "127.0.0.1", upstream.port or 80, rate=0.15, seed=20261202)
    yield running
    running.close()


def _mutate(src: Path, rng: random.Random) -> None:
    for _ in range(3):
        (src / f"f{rng.randrange(8)}.bin").write_bytes(os.urandom(rng.randrange(100_000, 900_000)))


def test_backup_forget_and_prune_through_s3_faults_leave_a_valid_repository(
        s3_service: Any, s3_bucket: str, proxy: FaultProxy, tmp_path: Path) -> None:
    env = {"AWS_ACCESS_KEY_ID": s3_service.access_key, "AWS_SECRET_ACCESS_KEY": s3_service.secret_key,
           "AWS_REGION": s3_service.region, "MLARK_PRUNE_MIN_AGE_SECONDS": "0"}
    direct = f"s3:{s3_service.endpoint}/{s3_bucket}/repo"
    faulty = f"s3:{proxy.endpoint}/{s3_bucket}/repo"
    assert cli("init", "--repo", direct, env=env).returncode == 0
    rng = random.Random(11)
    src = tmp_path / "src"
    src.mkdir()
    expected: dict[str, dict[str, tuple[object, ...]]] = {}
    outcomes = []
    for round_ in range(8):
        _mutate(src, rng)
        result = cli("backup", "--repo", faulty, str(src), "-o", "json", env=env)
        outcomes.append(result.returncode)
        if result.returncode == 0:
            expected[json.loads(result.stdout)["snapshot_id"]] = tree_state(src)
        else:  # retries exhausted: a clear error, and no snapshot
            assert result.returncode == 15 and b"Traceback" not in result.stderr, result.stderr.decode()
        if round_ in (3, 7):
            forgot = cli("forget", "--repo", faulty, "--keep-last", "3", "--prune", env=env)
            outcomes.append(forgot.returncode)
            assert forgot.returncode in (0, 15) and b"Traceback" not in forgot.stderr, forgot.stderr.decode()
    pruned = cli("prune", "--repo", faulty, env=env)
    outcomes.append(pruned.returncode)
    assert pruned.returncode in (0, 15) and b"Traceback" not in pruned.stderr, pruned.stderr.decode()
    print(dict(proxy.counts), outcomes)
    assert all(proxy.counts[fault] >= 3 for fault in FAULTS), proxy.counts
    assert outcomes.count(0) >= len(outcomes) - 2, outcomes  # six attempts per request ride out the faults

    proxy.enabled = False
    report = json.loads(cli("check", "--repo", direct, "--read-data", "-o", "json", env=env).stdout)
    assert report["ok"] is True, report["errors"]
    listed = json.loads(cli("snapshots", "--repo", direct, "-o", "json", env=env, check=True).stdout)
    assert listed and {s["id"] for s in listed} <= set(expected)
    for snapshot in listed:
        target = tmp_path / "out" / snapshot["short_id"]
        cli("restore", "--repo", faulty, snapshot["id"], "--target", str(target), env=env, check=True)
        assert tree_state(target / "src") == expected[snapshot["id"]]


def test_lock_that_cannot_be_refreshed_through_an_outage_is_lost(s3_service: Any, s3_bucket: str, proxy: FaultProxy) -> None:
    from mlark.repo.backend import Kind
    from mlark.repo.backend.retry import RetryBackend
    from mlark.repo.backend.s3 import S3Backend, S3Options
    from mlark.repo.errors import LockLost
    from mlark.repo.locks import RepoLock

    proxy.enabled = False
    backend = RetryBackend(S3Backend(S3Options(proxy.endpoint, s3_bucket, "repo", s3_service.region,
                                               s3_service.access_key, s3_service.secret_key)), attempts=2, base_delay=0.05)
    lock = RepoLock(backend, exclusive=True, operation="prune", refresh_every=0.5, stale_after=3)
    lock.acquire()
    try:
        lock.ensure()  # fresh and ours
        proxy.rate, proxy.enabled = 1.0, True  # the endpoint fails every request: no refresh gets through
        time.sleep(3.5)
        proxy.enabled = False  # back again, but too late: others may already call the lock stale
        with pytest.raises(LockLost, match="not refreshed"):
            lock.ensure()
    finally:
        lock.release()
    assert proxy.counts["requests"] > 3
    assert list(backend.list(Kind.locks)) == []
