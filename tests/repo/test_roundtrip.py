"""Backup then restore gives back exactly what was saved: trees, metadata, streams, odd files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from mlark.repo.archiver import StreamSource
from mlark.repo.backup import backup
from mlark.repo.repository import Repository
from mlark.repo.restorer import read_file, restore
from tests.repo.conftest import make_repo, reopen, tree_state


def _sample_tree(root: Path) -> None:
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "empty-dir").mkdir()
    (root / "empty.txt").write_bytes(b"")
    (root / "small.txt").write_text("hello world\n")
    (root / "sub" / "random.bin").write_bytes(os.urandom(700_000))
    (root / "sub" / "deeper" / "text.md").write_text("notebook cell\n" * 5000)
    (root / "script.sh").write_text("#!/bin/sh\necho hi\n")
    os.chmod(root / "script.sh", 0o750)
    os.chmod(root / "sub" / "random.bin", 0o600)
    os.symlink("sub/deeper/text.md", root / "link-to-text")
    os.symlink("/nonexistent/target", root / "dangling")
    os.utime(root / "small.txt", ns=(1_600_000_000_123_456_789, 1_600_000_000_123_456_789))
    os.chmod(root / "empty-dir", 0o700)


def test_tree_round_trip_keeps_content_modes_mtimes_and_symlinks(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    _sample_tree(src)
    summary = backup(repo, [str(src)])
    assert summary.files_new == 5 and summary.bytes_read == sum(p.stat().st_size for p in src.rglob("*") if p.is_file() and not p.is_symlink())
    result = restore(reopen(repo), summary.snapshot_id, str(tmp_path / "out"))
    assert result.damaged == []
    assert tree_state(tmp_path / "out" / "data") == tree_state(src)


def test_sparse_and_large_file_round_trip_stays_sparse(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "disk"
    src.mkdir()
    image = src / "volume.img"
    with open(image, "wb") as handle:
        handle.write(os.urandom(300_000))
        handle.seek(64 * 1024 * 1024)
        handle.write(b"tail")
    summary = backup(repo, [str(src)])
    assert summary.bytes_stored < 2_000_000  # 64 MiB of holes dedup to a few zero chunks
    restore(repo, "latest", str(tmp_path / "out"))
    restored = tmp_path / "out" / "disk" / "volume.img"
    assert restored.read_bytes() == image.read_bytes()
    assert restored.stat().st_blocks * 512 < 8 * 1024 * 1024  # holes were not written


def test_single_file_path_backs_up_and_restores(repo: Repository, tmp_path: Path) -> None:
    single = tmp_path / "model.safetensors"
    single.write_bytes(os.urandom(1_000_000))
    backup(repo, [str(single)])
    assert b"".join(read_file(repo, "latest", "model.safetensors")) == single.read_bytes()


def test_streams_from_file_objects_and_iterators(repo: Repository, tmp_path: Path) -> None:
    dump = os.urandom(3_000_000)
    parts = (dump[i : i + 65536] for i in range(0, len(dump), 65536))
    summary = backup(repo, streams=[StreamSource("postgres/registry.sql", parts),
                                    StreamSource("redis.rdb", io.BytesIO(b"REDIS0011")),
                                    StreamSource("empty", iter([]))])
    assert summary.streams == 3 and summary.bytes_read == len(dump) + 9
    fresh = reopen(repo)
    assert b"".join(read_file(fresh, summary.snapshot_id, "postgres/registry.sql")) == dump
    assert b"".join(read_file(fresh, summary.snapshot_id, "redis.rdb")) == b"REDIS0011"
    result = restore(fresh, summary.snapshot_id, str(tmp_path / "out"))
    assert (tmp_path / "out" / "postgres" / "registry.sql").read_bytes() == dump
    assert (tmp_path / "out" / "empty").read_bytes() == b""
    assert result.files == 3


def test_restore_of_a_subpath(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    _sample_tree(src)
    backup(repo, [str(src)])
    restore(repo, "latest", str(tmp_path / "out"), path="data/sub")
    assert tree_state(tmp_path / "out" / "sub") == tree_state(src / "sub")
    assert not (tmp_path / "out" / "small.txt").exists()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=st.dictionaries(
    st.text(alphabet="abcdefghijklmnop_-.", min_size=1, max_size=12).filter(lambda n: n not in (".", "..")),
    st.one_of(st.binary(max_size=5000), st.builds(lambda n, b: b * n, st.integers(0, 300_000), st.binary(min_size=1, max_size=3))),
    max_size=8,
))
def test_property_any_files_round_trip(tmp_path_factory: object, files: dict[str, bytes]) -> None:
    base = tmp_path_factory.mktemp("prop")  # type: ignore[attr-defined]
    src = base / "src"
    src.mkdir()
    for name, content in files.items():
        (src / name).write_bytes(content)
    repo = make_repo(base / "repo")
    backup(repo, [str(src)], streams=[StreamSource("all", iter(files.values()))])
    restore(reopen(repo), "latest", str(base / "out"))
    assert tree_state(base / "out" / "src") == tree_state(src)
    assert (base / "out" / "all").read_bytes() == b"".join(files.values())


def test_segmented_stream_keeps_unchanged_segments_deduplicated(repo: Repository) -> None:
    first, second = os.urandom(2_500_000), os.urandom(2_500_000)
    summary = backup(repo, streams=[StreamSource("volume.tar", [[first], [second]], segmented=True)])
    assert b"".join(read_file(reopen(repo), summary.snapshot_id, "volume.tar")) == first + second
    # A segment inserted between the two: only its own bytes are new. Unsegmented, the chunk
    # at the seam would change too.
    inserted = os.urandom(5000)
    again = backup(repo, streams=[StreamSource("volume.tar", [[first], [inserted], [second]], segmented=True)])
    assert again.blobs_new == 2, again  # the inserted segment, and the tree listing the stream's chunks
    assert len(inserted) <= again.bytes_new < len(inserted) + 16384, again
    assert b"".join(read_file(reopen(repo), again.snapshot_id, "volume.tar")) == first + inserted + second


@settings(max_examples=30, deadline=None)
@given(data=st.binary(max_size=600_000), split=st.integers(1, 100_000))
def test_property_stream_chunking_is_independent_of_how_bytes_arrive(data: bytes, split: int) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        repo = make_repo(Path(tmp) / "repo")
        whole = backup(repo, streams=[StreamSource("s", iter([data]))])
        pieces = backup(repo, streams=[StreamSource("s", (data[i : i + split] for i in range(0, len(data), split)))])
        assert pieces.blobs_new <= 1  # at most a new tree blob (mtime differs); all data deduplicated
        assert b"".join(read_file(repo, whole.snapshot_id, "s")) == data
        assert b"".join(read_file(repo, pieces.snapshot_id, "s")) == data


def test_restore_over_a_symlink_replaces_it_and_never_writes_through_it(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "small.txt").write_text("small\n")
    (src / "big.bin").write_bytes(os.urandom(600_000))  # several chunks
    backup(repo, [str(src)])
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.txt").write_text("untouched\n")
    out = tmp_path / "out"
    (out / "data").mkdir(parents=True)
    os.symlink(outside / "keep.txt", out / "data" / "small.txt")
    os.symlink(outside / "keep.txt", out / "data" / "big.bin")
    result = restore(reopen(repo), "latest", str(out))
    assert result.damaged == []
    assert (outside / "keep.txt").read_text() == "untouched\n"
    assert tree_state(out / "data") == tree_state(src)


def test_many_small_files_round_trip(repo: Repository, tmp_path: Path) -> None:
    # Enough small files to fill several packs and several read batches.
    src = tmp_path / "many"
    for d in range(3):
        (src / f"d{d}").mkdir(parents=True)
        for i in range(300):
            (src / f"d{d}" / f"{i}.json").write_bytes(os.urandom(i * 7) + b"{}" * (i % 50))
    (src / "d1" / "empty").write_bytes(b"")
    os.chmod(src / "d2" / "7.json", 0o640)
    summary = backup(repo, [str(src)])
    result = restore(reopen(repo), summary.snapshot_id, str(tmp_path / "out"))
    assert result.damaged == [] and result.files == 901
    assert tree_state(tmp_path / "out" / "many") == tree_state(src)


def test_nested_tree_round_trips_when_directories_are_saved_while_walking_goes_on(
        repo: Repository, tmp_path: Path, monkeypatch: object) -> None:
    import mlark.repo.archiver as archiver

    monkeypatch.setattr(archiver, "_LOOKAHEAD_FILES", 3)  # type: ignore[attr-defined]
    src = tmp_path / "nested"
    for path in ("a/b/c", "a/d", "e"):
        (src / path).mkdir(parents=True)
    for i, directory in enumerate(["", "a", "a/b", "a/b/c", "a/d", "e"] * 3):
        (src / directory / f"f{i}.txt").write_bytes(os.urandom(100 + i))
    (src / "a" / "big.bin").write_bytes(os.urandom(300_000))  # several chunks, read on a reader thread
    summary = backup(repo, [str(src)])
    assert summary.files_new == 19 and summary.dirs == 6
    assert summary.bytes_read == sum(p.stat().st_size for p in src.rglob("*") if p.is_file())
    result = restore(reopen(repo), summary.snapshot_id, str(tmp_path / "out"))
    assert result.damaged == []
    assert tree_state(tmp_path / "out" / "nested") == tree_state(src)
    second = backup(reopen(repo), [str(src)])
    assert second.files_unchanged == 19 and second.bytes_new == 0


def test_directories_walked_after_a_large_file_are_saved_before_it_is_stored(
        repo: Repository, tmp_path: Path, monkeypatch: object) -> None:
    import mlark.repo.archiver as archiver

    monkeypatch.setattr(archiver, "_LOOKAHEAD_FILES", 5)  # type: ignore[attr-defined]
    monkeypatch.setattr(archiver, "_BATCH_FILES", 4)  # type: ignore[attr-defined]
    src = tmp_path / "mixed"
    (src / "a").mkdir(parents=True)
    (src / "a" / "big.bin").write_bytes(os.urandom(2_000_000))
    for d in range(8):
        (src / f"s{d}" / "sub").mkdir(parents=True)
        for i in range(7):
            (src / f"s{d}" / f"{i}.txt").write_bytes(os.urandom(50 + i))
            (src / f"s{d}" / "sub" / f"{i}.txt").write_bytes(os.urandom(60 + i))
    (src / "z.bin").write_bytes(os.urandom(700_000))
    summary = backup(repo, [str(src)])
    assert summary.files_new == 2 + 8 * 14 and summary.dirs == 1 + 1 + 16
    result = restore(reopen(repo), summary.snapshot_id, str(tmp_path / "out"))
    assert result.damaged == []
    assert tree_state(tmp_path / "out" / "mixed") == tree_state(src)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_modes_are_restored_whether_set_at_creation_or_fixed_after(repo: Repository, tmp_path: Path, umask: int) -> None:
    """New files get their mode when created (unless the umask or special bits forbid it); files
    already in the target are truncated and their modes put right."""
    src = tmp_path / "data"
    src.mkdir()
    modes = {"plain": 0o644, "private": 0o600, "group": 0o664, "exec": 0o755, "setgid": 0o2755, "readonly": 0o444,
             "large": 0o640}
    for name, mode in modes.items():
        (src / name).write_bytes(os.urandom(9 * 1024 * 1024 if name == "large" else 1000))
        os.chmod(src / name, mode)
    backup(repo, [str(src)])
    old = os.umask(umask)
    try:
        restore(reopen(repo), "latest", str(tmp_path / "out"))
        for path in (tmp_path / "out" / "data").iterdir():  # disturb, then restore over them
            os.chmod(path, 0o600)
        restore(reopen(repo), "latest", str(tmp_path / "again"))
        restore(reopen(repo), "latest", str(tmp_path / "out"))
    finally:
        os.umask(old)
    for target in ("out", "again"):
        assert tree_state(tmp_path / target / "data") == tree_state(src)
        assert {p.name: p.stat().st_mode & 0o7777 for p in (tmp_path / target / "data").iterdir()} == modes
