"""O_DIRECT writing of restored files: blobs arriving in any order, from many threads, land
byte-exact; holes stay holes; a failing blob never leaves other threads waiting."""

from __future__ import annotations

import mmap
import os
import random
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlark.repo.backup import backup
from mlark.repo.directwrite import Abandoned, DirectFileWriter, room_needed
from mlark.repo.repository import Repository
from mlark.repo.restorer import restore
from tests.repo.conftest import reopen, tree_state

Blob = tuple[int, bytes, bool]  # offset, bytes, all zero?


def _blobs(lengths: list[int], zeros: set[int], seed: int) -> list[Blob]:
    rng = random.Random(seed)
    blobs, offset = [], 0
    for index, length in enumerate(lengths):
        zero = index in zeros
        blobs.append((offset, bytes(length) if zero else rng.randbytes(length), zero))
        offset += length
    return blobs


def _write(path: Path, blobs: list[Blob], ring: int, workers: int = 4, seed: int = 0,
           buffer: mmap.mmap | None = None) -> DirectFileWriter:
    """Put the blobs from a pool, submitted in file order as the restorer does, finishing in shuffled order."""
    size = sum(len(data) for _, data, _ in blobs)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    direct_fd = os.open(path, os.O_WRONLY | os.O_DIRECT)
    largest = max((len(data) for _, data, _ in blobs), default=0)
    writer = DirectFileWriter(direct_fd, size, largest, fallback_fd=fd, ring=ring, buffer=buffer)
    delays = random.Random(seed)

    def put(offset: int, data: bytes, zero: bool, delay: float) -> None:
        time.sleep(delay)
        writer.put(offset, data, zero)

    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(put, offset, data, zero, delays.random() / 500) for offset, data, zero in blobs]
        for future in futures:
            future.result()
    writer.finish()
    writer.close()
    os.ftruncate(fd, size)
    os.close(fd)
    return writer


@settings(max_examples=25, deadline=None)
@given(lengths=st.lists(st.integers(1, 200_000), min_size=1, max_size=40),
       zeros=st.sets(st.integers(0, 39), max_size=8), seed=st.integers(0, 1000))
def test_blobs_in_any_order_land_byte_exact(tmp_path_factory: pytest.TempPathFactory, lengths: list[int],
                                             zeros: set[int], seed: int) -> None:
    path = tmp_path_factory.mktemp("direct") / "file"
    blobs = _blobs(lengths, zeros, seed)
    # the smallest ring the writer allows: blobs wait for the window to move on
    writer = _write(path, blobs, ring=room_needed(max(lengths)), seed=seed)
    assert path.read_bytes() == b"".join(data for _, data, _ in blobs)
    assert writer.direct  # ext4 takes aligned direct writes: no fallback happened


def test_a_file_many_windows_long_is_written_through_a_small_ring(tmp_path: Path) -> None:
    lengths = [random.Random(i).randint(100_000, 1_500_000) for i in range(60)]  # ~48 MB
    blobs = _blobs(lengths, set(), seed=3)
    ring = room_needed(max(lengths))
    assert sum(lengths) > 4 * ring
    _write(tmp_path / "file", blobs, ring=ring, workers=6, seed=5)
    assert (tmp_path / "file").read_bytes() == b"".join(data for _, data, _ in blobs)


def test_zero_blobs_stay_holes(tmp_path: Path) -> None:
    mib = 1024 * 1024
    blobs = _blobs([mib + 5, 16 * mib, 3 * mib + 7, 16 * mib, 1000], zeros={1, 3}, seed=9)
    _write(tmp_path / "file", blobs, ring=64 * mib)
    path = tmp_path / "file"
    assert path.read_bytes() == b"".join(data for _, data, _ in blobs)
    # data is ~4 MiB; the 32 MiB of zeros were not written (only blocks shared with data)
    assert path.stat().st_blocks * 512 < 6 * mib


def test_a_buffer_reused_from_another_file_leaves_nothing_of_it(tmp_path: Path) -> None:
    mib = 1024 * 1024
    first = _write(tmp_path / "first", _blobs([3 * mib, 5 * mib + 11], set(), seed=1), ring=64 * mib)
    blobs = _blobs([mib + 3, 4 * mib, 2 * mib + 5, 77], zeros={1}, seed=2)
    second = _write(tmp_path / "second", blobs, ring=64 * mib, buffer=first.buffer)
    assert second.buffer is first.buffer
    assert (tmp_path / "second").read_bytes() == b"".join(data for _, data, _ in blobs)


def test_abandoning_wakes_a_blob_waiting_for_the_window(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "file", os.O_WRONLY | os.O_CREAT, 0o600)
    direct_fd = os.open(tmp_path / "file", os.O_WRONLY | os.O_DIRECT)
    largest = 100_000
    ring = room_needed(largest)
    writer = DirectFileWriter(direct_fd, 10 * ring, largest, fallback_fd=fd, ring=ring)
    outcome: list[BaseException] = []

    def far_blob() -> None:
        try:
            writer.put(5 * ring, os.urandom(largest))  # beyond the window until the first blobs come
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)

    waiting = threading.Thread(target=far_blob)
    waiting.start()
    time.sleep(0.2)
    assert waiting.is_alive() and not outcome
    writer.abandon()
    waiting.join(timeout=10)
    assert not waiting.is_alive()
    assert len(outcome) == 1 and isinstance(outcome[0], Abandoned)
    with pytest.raises(Abandoned):
        writer.finish()
    writer.close()
    os.close(fd)


def test_large_files_restore_where_direct_io_is_refused(repo: Repository, tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir():
        pytest.fail("/dev/shm (tmpfs, which refuses O_DIRECT) is needed for this test")
    src = tmp_path / "data"
    src.mkdir()
    (src / "model.bin").write_bytes(os.urandom(9 * 1024 * 1024 + 3))
    (src / "small.txt").write_text("small\n")
    backup(repo, [str(src)])
    target = shm / f"mlark-test-{os.getpid()}-{time.monotonic_ns()}"
    try:
        result = restore(reopen(repo), "latest", str(target))
        assert result.damaged == []
        assert tree_state(target / "data") == tree_state(src)
    finally:
        shutil.rmtree(target, ignore_errors=True)


def test_a_damaged_blob_of_a_large_file_names_it_and_nothing_hangs(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "model.bin").write_bytes(os.urandom(12 * 1024 * 1024))
    (src / "other.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    backup(repo, [str(src)])
    tree = repo.load_tree(repo.load_tree(repo.snapshots()[0][1].tree).nodes[0].subtree)
    victim = next(n for n in tree.nodes if n.name == "model.bin").content[3]  # a blob early in the file
    location = repo.locate(victim)
    pack = repo.backend.root / "data" / location.pack[:2] / location.pack  # type: ignore[attr-defined]
    data = bytearray(pack.read_bytes())
    data[location.offset + 100] ^= 0x01
    pack.write_bytes(bytes(data))

    result = restore(reopen(repo), "latest", str(tmp_path / "out"))
    assert len(result.damaged) == 1 and result.damaged[0].startswith("data/model.bin")
    assert not (tmp_path / "out" / "data" / "model.bin").exists()
    assert (tmp_path / "out" / "data" / "other.bin").read_bytes() == (src / "other.bin").read_bytes()
