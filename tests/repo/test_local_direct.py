"""Large objects of the local backend are written with O_DIRECT where possible: same bytes either way."""

from __future__ import annotations

import errno
import mmap
import os
from pathlib import Path

import pytest

from mlark.repo.backend import LocalBackend
from mlark.repo.backend import local
from mlark.repo.backend.base import Kind
from mlark.repo.restorer import PackReader
from tests.repo.conftest import make_repo

SIZES = [local._DIRECT_FROM, local._DIRECT_FROM + 1, 3 * 1024 * 1024 + 4097, 9 * 1024 * 1024 + 5]


@pytest.mark.parametrize("size", SIZES)
def test_large_objects_round_trip(tmp_path: Path, size: int) -> None:
    backend = LocalBackend(tmp_path)
    backend.create_location()
    data = os.urandom(size)
    cuts = [0, 1, 4096, size // 3, size // 2 + 7, size]
    parts = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    name = "ab" + "0" * 62
    backend.save_parts(Kind.data, name, [memoryview(parts[0]), bytearray(parts[1]), *parts[2:]])
    assert backend.load(Kind.data, name) == data
    assert backend.stat(Kind.data, name).size == size
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_refused_direct_io_falls_back_to_the_page_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_open = os.open

    def refusing_open(path, flags, *args):  # type: ignore[no-untyped-def]
        if flags & local._O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, *args)

    monkeypatch.setattr(local, "_direct_unsupported", set())
    monkeypatch.setattr(os, "open", refusing_open)
    backend = LocalBackend(tmp_path)
    backend.create_location()
    data = os.urandom(2 * 1024 * 1024 + 3)
    backend.save_parts(Kind.data, "cd" + "1" * 62, [data[:100], data[100:]])
    assert backend.load(Kind.data, "cd" + "1" * 62) == data
    assert local._direct_unsupported


def test_pack_reader_reads_unaligned_ranges(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    data = os.urandom(3 * 1024 * 1024 + 123)
    name = "ef" + "2" * 62
    repo.backend.save_parts(Kind.data, name, [data])
    for direct in (True, False):
        reader = PackReader(repo, direct=direct)
        try:
            for offset, length in [(0, 1), (1, 4095), (4095, 2), (4096, 4096), (12345, 1024 * 1024 + 7),
                                   (len(data) - 10, 10), (len(data) - 10, 100), (0, len(data))]:
                assert bytes(reader.read(name, offset, length)) == data[offset : offset + length]
        finally:
            reader.close()


@pytest.mark.parametrize("start", [0, 4096, 100])
def test_a_view_of_a_mapping_is_written_in_place_only_from_its_start(tmp_path: Path, start: int) -> None:
    """A pack filled in place (a view from the start of an mmap with room for the padding) is written
    without a copy; any other view is gathered first. Same bytes on disk either way."""
    backend = LocalBackend(tmp_path)
    backend.create_location()
    size = 2 * 1024 * 1024 + 17
    buffer = mmap.mmap(-1, start + size + 8192)
    data = os.urandom(size)
    buffer[start : start + size] = data
    view = memoryview(buffer)[start : start + size]
    padded = -(-size // 4096) * 4096
    assert (local._own_buffer([view], padded) is buffer) == (start == 0)
    name = "0a" + str(start).rjust(62, "0")
    backend.save_parts(Kind.data, name, [view])
    assert backend.load(Kind.data, name) == data
    view.release()
