"""Deduplication and incremental backups: unchanged data costs nothing, a 2% change about 2%."""

from __future__ import annotations

import os
import random
from pathlib import Path

from mlark.repo.backup import backup
from mlark.repo.repository import Repository
from mlark.repo.restorer import restore
from tests.repo.conftest import tree_state


def _dataset(root: Path, files: int = 40, size: int = 250_000) -> None:
    root.mkdir()
    for i in range(files):
        (root / f"shard-{i:03d}.bin").write_bytes(os.urandom(size))


def test_second_backup_of_unchanged_data_reads_and_stores_almost_nothing(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    _dataset(src)
    first = backup(repo, [str(src)])
    second = backup(repo, [str(src)])
    assert second.parent == first.snapshot_id
    assert second.files_unchanged == 40 and second.files_new == second.files_changed == 0
    assert second.bytes_read == 0
    assert second.bytes_stored < 2_000  # only the snapshot's (identical) trees, deduplicated


def test_two_percent_change_stores_about_two_percent(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    _dataset(src)
    first = backup(repo, [str(src)])
    rng = random.Random(5)
    total = sum(p.stat().st_size for p in src.iterdir())
    for path in rng.sample(sorted(src.iterdir()), 4):  # change 50 kB in each of 4 files = 2% of 10 MB
        data = bytearray(path.read_bytes())
        start = rng.randrange(0, len(data) - 50_000)
        data[start : start + 50_000] = os.urandom(50_000)
        path.write_bytes(bytes(data))
    second = backup(repo, [str(src)])
    assert second.files_changed == 4 and second.files_unchanged == 36
    assert 0.02 * total <= second.bytes_new <= 0.10 * total  # chunk granularity adds up to a few chunks
    assert second.bytes_read == 4 * 250_000
    restore(repo, second.snapshot_id, str(tmp_path / "out2"))
    restore(repo, first.snapshot_id, str(tmp_path / "out1"))
    assert tree_state(tmp_path / "out2" / "data") == tree_state(src)
    assert len(tree_state(tmp_path / "out1" / "data")) == 40


def test_same_content_under_other_names_is_stored_once(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    blob = os.urandom(2_000_000)
    for name in ("a.bin", "b.bin", "c.bin"):
        (src / name).write_bytes(blob)
    summary = backup(repo, [str(src)])
    assert summary.bytes_read == 6_000_000
    assert summary.bytes_stored < 2_100_000


def test_file_touched_but_identical_is_read_yet_stores_nothing(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    _dataset(src, files=3)
    backup(repo, [str(src)])
    os.utime(src / "shard-000.bin", ns=(1, 1))
    second = backup(repo, [str(src)])
    assert second.files_changed == 1 and second.bytes_read == 250_000
    assert second.bytes_stored < 2_000
