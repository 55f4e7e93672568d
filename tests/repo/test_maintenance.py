"""Retention rules, prune reclaiming space, and a whole repository on S3 with object lock."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

import pytest

from mlark.repo.backend import Kind
from mlark.repo.backend.s3 import S3Backend, S3Options
from mlark.repo.backend.retry import RetryBackend
from mlark.repo.backup import backup
from mlark.repo.checker import check
from mlark.repo.maintenance import forget, prune, stats
from mlark.repo.models import ObjectLock, Snapshot
from mlark.repo.repository import Repository
from mlark.repo.restorer import restore
from mlark.repo.retention import Policy, apply
from tests.repo.conftest import FAST_KDF, PASSWORD, SMALL_CHUNKS, tree_state


def _snap(day: int, hour: int = 0, tags: list[str] | None = None) -> Snapshot:
    return Snapshot(time=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=day, hours=hour),
                    host="h", username="u", tree="t", tags=tags or [])


def test_retention_rules_keep_the_expected_snapshots() -> None:
    snaps = [(f"s{d:03d}{h}", _snap(d, h)) for d in range(0, 400, 1) for h in (0, 12)]
    kept = apply(Policy(last=3, daily=7, weekly=4, monthly=6, yearly=2), snaps)
    newest = sorted(snaps, key=lambda s: s[1].time)[-1][0]
    assert "last" in kept[newest] and "daily" in kept[newest]
    assert sum("daily" in r for r in kept.values()) == 7
    assert sum("monthly" in r for r in kept.values()) == 6
    assert sum("yearly" in r for r in kept.values()) == 2
    assert len(kept) < 25
    within = apply(Policy(within="3d"), snaps)
    assert len(within) == 7  # three days of two snapshots each, plus the boundary one
    tagged = apply(Policy(last=1, keep_tags=["gold"]), [("a", _snap(1, tags=["gold"])), ("b", _snap(2))])
    assert set(tagged) == {"a", "b"}


def test_retention_without_rules_refuses() -> None:
    from mlark.repo.errors import UsageError

    with pytest.raises(UsageError):
        apply(Policy(), [("a", _snap(1))])


def test_forget_then_prune_reclaims_space_and_keeps_the_rest(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    states = {}
    for round_ in range(3):
        (src / f"round{round_}.bin").write_bytes(os.urandom(1_500_000))
        if round_:
            (src / f"round{round_ - 1}.bin").unlink()
        states[backup(repo, [str(src)]).snapshot_id] = tree_state(src)
    before = stats(repo).stored_bytes
    result = forget(repo, Policy(last=1))
    assert len(result.remove) == 2
    pruned = prune(repo)
    assert pruned.bytes_freed > 2_500_000
    after = stats(Repository.open(repo.backend, PASSWORD))
    assert after.stored_bytes < before - 2_500_000 and after.snapshots == 1
    fresh = Repository.open(repo.backend, PASSWORD)
    assert check(fresh, read_data=True).ok
    kept = result.keep[0]
    restore(fresh, kept, str(tmp_path / "out"))
    assert tree_state(tmp_path / "out" / "data") == states[kept]


def _s3_backend(service: Any, bucket: str) -> RetryBackend:
    return RetryBackend(S3Backend(S3Options(service.endpoint, bucket, "mlark", service.region,
                                            service.access_key, service.secret_key)))


@pytest.mark.s3
def test_repository_on_s3_round_trips(s3_service: Any, s3_bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "model.bin").write_bytes(os.urandom(2_000_000))
    (src / "config.json").write_text('{"lr": 0.001}')
    repo = Repository.init(_s3_backend(s3_service, s3_bucket), PASSWORD, kdf=FAST_KDF, chunker=SMALL_CHUNKS, pack_size=1 << 20)
    summary = backup(repo, [str(src)])
    again = backup(Repository.open(_s3_backend(s3_service, s3_bucket), PASSWORD), [str(src)])
    assert again.files_unchanged == 2 and again.bytes_read == 0
    fresh = Repository.open(_s3_backend(s3_service, s3_bucket), PASSWORD)
    assert check(fresh, read_data=True).ok
    restore(fresh, summary.snapshot_id, str(tmp_path / "out"))
    assert tree_state(tmp_path / "out" / "data") == tree_state(src)


@pytest.mark.s3
def test_object_lock_keeps_every_written_object_from_deletion(s3_service: Any, s3_locked_bucket: str, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "weights.bin").write_bytes(os.urandom(300_000))
    repo = Repository.init(_s3_backend(s3_service, s3_locked_bucket), PASSWORD, kdf=FAST_KDF, chunker=SMALL_CHUNKS,
                           object_lock=ObjectLock(mode="COMPLIANCE", days=1))
    snapshot_id = backup(repo, [str(src)]).snapshot_id
    client = s3_service.client()
    key = f"mlark/snapshots/{snapshot_id}"
    retention = client.get_object_retention(Bucket=s3_locked_bucket, Key=key)["Retention"]
    assert retention["Mode"] == "COMPLIANCE"
    version = client.head_object(Bucket=s3_locked_bucket, Key=key)["VersionId"]
    import botocore.exceptions

    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        client.delete_object(Bucket=s3_locked_bucket, Key=key, VersionId=version)
    # A plain delete (what forget does) only hides the object; the locked version stays readable.
    repo.backend.remove(Kind.snapshots, snapshot_id)
    body = client.get_object(Bucket=s3_locked_bucket, Key=key, VersionId=version)["Body"].read()
    assert len(body) > 0
