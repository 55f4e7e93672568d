"""What restic keeps of a file system, mlark keeps too (issue 11, defect 6): hard links, holes,
extended attributes, FIFOs, device nodes and mode 000."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from mlark.repo.backend.local import ALIGN
from mlark.repo.backup import backup
from mlark.repo.repository import Repository
from mlark.repo.restorer import restore, zero_runs
from tests.repo.conftest import cli, cli_json, reopen

MIB = 1024 * 1024


def test_hard_links_come_back_as_links(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    (src / "other").mkdir(parents=True)
    (src / "model.bin").write_bytes(os.urandom(2 * MIB))
    os.link(src / "model.bin", src / "model-alias.bin")
    os.link(src / "model.bin", src / "other" / "model.bin")
    (src / "small.txt").write_text("tokenizer\n")
    os.link(src / "small.txt", src / "other" / "small.txt")
    (src / "alone.txt").write_text("alone\n")
    restore(reopen(repo), backup(repo, [str(src)]).snapshot_id, str(tmp_path / "out"))
    out = tmp_path / "out" / "data"
    big = {os.stat(out / name).st_ino for name in ("model.bin", "model-alias.bin", "other/model.bin")}
    small = {os.stat(out / name).st_ino for name in ("small.txt", "other/small.txt")}
    assert len(big) == 1 and len(small) == 1
    assert os.stat(out / "model.bin").st_nlink == 3 and os.stat(out / "small.txt").st_nlink == 2
    assert os.stat(out / "alone.txt").st_nlink == 1
    assert (out / "other" / "model.bin").read_bytes() == (src / "model.bin").read_bytes()


def _restic(tmp_path: Path, src: Path) -> Path:
    """Restore of the same tree by restic, the reference."""
    env = {**os.environ, "RESTIC_PASSWORD": "x", "RESTIC_REPOSITORY": str(tmp_path / "restic-repo"),
           "RESTIC_CACHE_DIR": str(tmp_path / "restic-cache")}
    for args in (["init"], ["backup", str(src)], ["restore", "latest", "--target", str(tmp_path / "restic-out")]):
        subprocess.run(["restic", "-q", *args], env=env, check=True, capture_output=True)
    return tmp_path / "restic-out" / str(src).lstrip("/")


def _holey(path: Path, size: int, data_at: list[int]) -> None:
    with open(path, "wb") as handle:
        for offset in data_at:
            handle.seek(offset)
            handle.write(b"x")
        handle.truncate(size)


def test_sparse_files_come_back_with_holes_wherever_a_whole_zero_block_is(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "disk"
    src.mkdir()
    _holey(src / "one-byte.img", 50 * MIB, [25 * MIB])  # large: written with O_DIRECT where possible
    _holey(src / "small.img", 3 * MIB, [10, 2 * MIB + 5])  # below the O_DIRECT size: the page-cache path
    restore(reopen(repo), backup(repo, [str(src)]).snapshot_id, str(tmp_path / "out"))
    theirs = _restic(tmp_path, src)
    for name in ("one-byte.img", "small.img"):
        ours, source = tmp_path / "out" / "disk" / name, src / name
        assert ours.read_bytes() == source.read_bytes()
        allocated = ours.stat().st_blocks * 512
        # No more than the blocks holding data, the source's own allocation, and restic's.
        assert allocated <= source.stat().st_blocks * 512 <= 2 * 4096 + 4096
        assert allocated <= (theirs / name).stat().st_blocks * 512


_PIECE = st.one_of(st.integers(1, 3 * ALIGN).map(bytes),
                  st.integers(1, 3 * ALIGN).map(lambda n: b"\x07" * n), st.binary(min_size=1, max_size=64))


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECE, max_size=12), st.booleans())
def test_property_zero_runs_finds_every_run_that_can_be_a_hole(pieces: list[bytes], mutable: bool) -> None:
    data = b"".join(pieces)
    expected = [m.span() for m in re.finditer(rb"\x00+", data)
                if m.end() - m.start() >= ALIGN or m.start() == 0 or m.end() == len(data)]
    assert zero_runs(bytearray(data) if mutable else data) == expected


@pytest.fixture
def no_xattr_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory on ramfs, which refuses extended attributes."""
    mount = tmp_path / "ramfs"
    mount.mkdir()
    subprocess.run(["mount", "-t", "ramfs", "ramfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=True)


def test_extended_attributes_are_kept_or_each_refusal_warned(repo_path: Path, tmp_path: Path, no_xattr_dir: Path) -> None:
    src = tmp_path / "data"
    (src / "dir").mkdir(parents=True)
    (src / "model.bin").write_bytes(os.urandom(100_000))
    (src / "plain.txt").write_text("no attributes\n")
    os.setxattr(src / "model.bin", "user.checksum", b"sha256:abc")
    os.setxattr(src / "model.bin", "user.binary", bytes(range(256)))
    os.setxattr(src / "dir", "user.owner", b"team-a")
    cli_json("backup", "--repo", str(repo_path), str(src))

    restored = cli_json("restore", "--repo", str(repo_path), "latest", "--target", str(tmp_path / "out"))
    assert restored["warnings"] == []
    out = tmp_path / "out" / "data"
    assert os.getxattr(out / "model.bin", "user.checksum") == b"sha256:abc"
    assert os.getxattr(out / "model.bin", "user.binary") == bytes(range(256))
    assert os.getxattr(out / "dir", "user.owner") == b"team-a"
    assert os.listxattr(out / "plain.txt") == []

    refused = cli("restore", "--repo", str(repo_path), "latest", "--target", str(no_xattr_dir), "-o", "json")
    assert refused.returncode == 0, refused.stderr.decode()
    warnings = [line for line in refused.stderr.decode().splitlines() if line.startswith("warning:")]
    assert len(warnings) == 2 and any("data/model.bin" in w for w in warnings) and any("data/dir" in w for w in warnings)
    assert (no_xattr_dir / "data" / "model.bin").read_bytes() == (src / "model.bin").read_bytes()


@pytest.mark.skipif(os.geteuid() != 0, reason="device nodes are made by root only, as with restic")
def test_fifos_devices_and_mode_000_come_back(repo: Repository, tmp_path: Path) -> None:
    src = tmp_path / "data"
    (src / "locked-dir").mkdir(parents=True)
    os.mkfifo(src / "pipe")
    os.mknod(src / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    os.mknod(src / "loop", 0o660 | stat.S_IFBLK, os.makedev(7, 200))
    (src / "secret").write_text("nobody reads me\n")
    os.chmod(src / "secret", 0)
    os.chmod(src / "pipe", 0o640)
    summary = backup(repo, [str(src)])
    assert summary.warnings == []
    os.chmod(src / "locked-dir", 0)
    second = backup(reopen(repo), [str(src)])
    restore(reopen(repo), second.snapshot_id, str(tmp_path / "out"))
    out = tmp_path / "out" / "data"
    pipe, null, loop = os.lstat(out / "pipe"), os.lstat(out / "null"), os.lstat(out / "loop")
    assert stat.S_ISFIFO(pipe.st_mode) and stat.S_IMODE(pipe.st_mode) == 0o640
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert stat.S_ISBLK(loop.st_mode) and loop.st_rdev == os.makedev(7, 200)
    assert stat.S_IMODE(os.lstat(out / "secret").st_mode) == 0
    assert stat.S_IMODE(os.lstat(out / "locked-dir").st_mode) == 0
    assert (out / "secret").read_text() == "nobody reads me\n"
