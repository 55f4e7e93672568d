"""Chunking a file in blocks cuts exactly where chunking it as a stream does."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlark.repo.chunker import _READ_BLOCK, Chunker
from mlark.repo.models import ChunkerParams

SMALL = ChunkerParams(min_size=4 * 1024, avg_size=16 * 1024, max_size=64 * 1024)


def _both(tmp_path: Path, data: bytes, params: ChunkerParams, block: int = _READ_BLOCK) -> tuple[list[bytes], list[bytes]]:
    chunker = Chunker(params, seed=1234)
    path = tmp_path / "file"
    path.write_bytes(data)
    with open(path, "rb", buffering=0) as handle:
        by_file = [bytes(chunk) for chunk in chunker.file_chunks(handle, block)]
    return by_file, list(chunker.chunks(io.BytesIO(data)))


@settings(max_examples=40, deadline=None)
@given(data=st.binary(max_size=300_000), seed=st.integers(0, 2**32 - 1),
       block=st.sampled_from([1, 64 * 1024, 64 * 1024 + 1, 100_000, 250_000]))
def test_file_chunks_are_the_stream_chunks(tmp_path_factory: pytest.TempPathFactory, data: bytes, seed: int,
                                           block: int) -> None:
    tmp_path = tmp_path_factory.mktemp("chunks")
    # random tails vary where blocks end relative to the cuts
    data += random.Random(seed).randbytes(seed % 400_000)
    by_file, by_stream = _both(tmp_path, data, SMALL, block)
    assert by_file == by_stream
    assert b"".join(by_file) == data


@pytest.mark.parametrize("size", [0, 1, _READ_BLOCK - 1, _READ_BLOCK, 2 * _READ_BLOCK + 8 * 1024 * 1024 + 17])
def test_file_chunks_across_blocks_with_default_params(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    by_file, by_stream = _both(tmp_path, data, ChunkerParams())
    assert [len(c) for c in by_file] == [len(c) for c in by_stream]
    assert by_file == by_stream


def test_a_chunk_spanning_blocks_cut_at_the_largest_size(tmp_path: Path) -> None:
    """Data without a cut point (zeros never match the gear mask) is cut every max_size bytes, also
    where a chunk spans two blocks."""
    data = bytes(5 * SMALL.max_size + 123)
    by_file, by_stream = _both(tmp_path, data, SMALL, block=SMALL.max_size + 1000)
    assert [len(c) for c in by_file] == [len(c) for c in by_stream]
    assert by_file == by_stream


def test_a_file_that_shrinks_while_chunked_yields_what_is_left(tmp_path: Path) -> None:
    chunker = Chunker(SMALL, seed=7)
    path = tmp_path / "file"
    path.write_bytes(os.urandom(1_000_000))
    with open(path, "rb", buffering=0) as handle:
        chunks = chunker.file_chunks(handle, block=SMALL.max_size)
        first = bytes(next(chunks))
        os.truncate(path, 300_000)
        rest = [bytes(chunk) for chunk in chunks]
    assert len(first) + sum(len(c) for c in rest) <= 1_000_000
    assert all(rest)  # no empty chunks
