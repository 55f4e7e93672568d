"""Splitting tar streams at their members: archives made by GNU tar itself, in its formats."""

from __future__ import annotations

import os
import subprocess
import tarfile
from io import BytesIO
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlark.repo.chunker import Chunker
from mlark.repo.models import ChunkerParams
from mlark.volumedata.segments import BLOCK, tar_segments


def _tree(root: Path) -> None:
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / "analysis.ipynb").write_bytes(b'{"cells": []}' * 100)
    (root / "empty").write_bytes(b"")
    (root / ("long-" + "n" * 180 + ".txt")).write_bytes(b"a file whose name needs a GNU long-name header")
    (root / "data.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    with open(root / "sparse.img", "wb") as handle:  # holes: GNU tar stores it as a sparse member
        for offset in range(0, 64 << 20, 4 << 20):
            handle.seek(offset)
            handle.write(os.urandom(1000))
    os.link(root / "empty", root / "hardlink")
    os.symlink("notebooks/analysis.ipynb", root / "link")


def _gnu_tar(root: Path, *options: str) -> bytes:
    sparse = [] if "--format=ustar" in options else ["--sparse"]  # ustar cannot hold sparse members
    return subprocess.run(["tar", "-c", "-f", "-", "--numeric-owner", *sparse, *options, "."], cwd=root,
                          check=True, capture_output=True).stdout


def _pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i:i + size] for i in range(0, len(data), size)]


def _members(segments: list[bytes]) -> list[str]:
    """The member names each segment starts with (read back by Python's tarfile)."""
    names = []
    for segment in segments:
        if not any(segment[:BLOCK]):
            names.append("<end>")
            continue
        with tarfile.open(fileobj=BytesIO(segment + bytes(2 * BLOCK)), mode="r:") as archive:
            names.append(archive.next().name)  # type: ignore[union-attr]
    return names


@pytest.mark.parametrize("tar_format", ["gnu", "posix", "ustar"])
def test_every_member_is_its_own_segment(tmp_path: Path, tar_format: str) -> None:
    _tree(tmp_path)
    if tar_format == "ustar":  # ustar has no long names or sparse members: leave them out
        (tmp_path / ("long-" + "n" * 180 + ".txt")).unlink()
    archive = _gnu_tar(tmp_path, f"--format={tar_format}")
    segments = [b"".join(segment) for segment in tar_segments(_pieces(archive, 70_001))]
    assert b"".join(segments) == archive
    names = _members(segments)
    assert names[-1] == "<end>" and len(set(names)) == len(names)
    expected = {"./notebooks/analysis.ipynb", "./empty", "./data.bin", "./sparse.img", "./hardlink", "./link"}
    assert expected <= set(names), names
    if tar_format != "ustar":
        assert any(name.startswith("./long-nnn") for name in names)
    # Every segment but the trailer starts a member: the archive was cut nowhere else.
    assert all(len(segment) % BLOCK == 0 for segment in segments)


def test_a_file_added_changes_only_its_own_chunks(tmp_path: Path) -> None:
    _tree(tmp_path)
    chunker = Chunker(ChunkerParams(), seed=7)
    before = _gnu_tar(tmp_path)
    (tmp_path / "notebooks" / "notes.ipynb").write_bytes(b'{"cells": ["notes"]}')
    after = _gnu_tar(tmp_path)
    old = set(chunker.chunks_of_segments(tar_segments(_pieces(before, 65536))))
    new = list(chunker.chunks_of_segments(tar_segments(_pieces(after, 65536))))
    assert b"".join(new) == after
    added = [chunk for chunk in new if chunk not in old]
    # The new member and the header of the directory whose mtime it changed; plus the zeros that
    # pad the archive to tar's 10 KiB record, which compress to nothing.
    assert sum(len(chunk) for chunk in added if any(chunk)) <= 4 * BLOCK, [len(chunk) for chunk in added]
    assert sum(len(chunk) for chunk in added if not any(chunk)) <= 20 * BLOCK


def test_what_is_not_tar_passes_through_as_one_segment() -> None:
    data = os.urandom(5000)
    segments = [b"".join(segment) for segment in tar_segments([data])]
    assert segments == [data]


def test_a_truncated_archive_keeps_every_byte(tmp_path: Path) -> None:
    _tree(tmp_path)
    archive = _gnu_tar(tmp_path)
    for cut in (100, BLOCK, BLOCK + 1, len(archive) // 2, len(archive) - 1):
        assert b"".join(b"".join(segment) for segment in tar_segments(_pieces(archive[:cut], 4096))) == archive[:cut]


@settings(max_examples=60, deadline=None)
@given(prefix=st.binary(max_size=3 * BLOCK), piece=st.integers(min_value=1, max_value=2000), flip=st.integers(min_value=0))
def test_any_bytes_concatenate_back(prefix: bytes, piece: int, flip: int) -> None:
    # A valid archive with garbage before it, or with one byte flipped: never a byte lost or added.
    stream = BytesIO()
    with tarfile.open(fileobj=stream, mode="w", format=tarfile.GNU_FORMAT) as archive:
        info = tarfile.TarInfo("x" * 120)
        info.size = 1500
        archive.addfile(info, BytesIO(os.urandom(1500)))
    data = bytearray(prefix + stream.getvalue())
    data[flip % len(data)] ^= 0xFF
    assert b"".join(b"".join(segment) for segment in tar_segments(_pieces(bytes(data), piece))) == bytes(data)


def test_a_segment_left_unread_does_not_shift_the_next(tmp_path: Path) -> None:
    _tree(tmp_path)
    archive = _gnu_tar(tmp_path)
    whole = [b"".join(segment)[:BLOCK] for segment in tar_segments(_pieces(archive, 10_000))]
    heads = [next(segment, b"")[:BLOCK] for segment in tar_segments(_pieces(archive, 10_000))]
    assert heads == whole and len(heads) >= 9
