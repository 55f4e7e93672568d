"""One conformance suite that every backend runs: memory, local directory and S3 (SeaweedFS)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlark.repo.backend import Backend, Kind, LocalBackend, MemoryBackend, RetryBackend
from mlark.repo.backend.s3 import S3Backend, S3Options
from mlark.repo.errors import ObjectMissing, TransientError


@pytest.fixture(params=["memory", "local", pytest.param("s3", marks=pytest.mark.s3)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
    elif request.param == "local":
        yield LocalBackend(tmp_path / "store")
    else:
        service = request.getfixturevalue("s3_service")
        bucket = request.getfixturevalue("s3_bucket")
        yield RetryBackend(S3Backend(S3Options(service.endpoint, bucket, "some/prefix", service.region,
                                               service.access_key, service.secret_key)))


def test_save_then_load_whole_and_ranges(backend: Backend) -> None:
    backend.create_location()
    data = bytes(range(256)) * 40
    backend.save(Kind.data, "ab" * 32, data)
    assert backend.load(Kind.data, "ab" * 32) == data
    assert backend.load(Kind.data, "ab" * 32, 10, 20) == data[10:30]
    assert backend.load(Kind.data, "ab" * 32, 100) == data[100:]
    assert backend.load(Kind.data, "ab" * 32, -7) == data[-7:]
    assert backend.stat(Kind.data, "ab" * 32).size == len(data)


def test_list_is_per_kind_and_complete(backend: Backend) -> None:
    backend.create_location()
    for i in range(5):
        backend.save(Kind.data, f"{i:02x}" + "0" * 62, b"x" * i)
    backend.save(Kind.index, "f" * 64, b"index")
    backend.save(Kind.config, "config", b"{}")
    packs = {info.name: info.size for info in backend.list(Kind.data)}
    assert packs == {f"{i:02x}" + "0" * 62: i for i in range(5)}
    assert [info.name for info in backend.list(Kind.index)] == ["f" * 64]
    assert [info.name for info in backend.list(Kind.config)] == ["config"]
    assert list(backend.list(Kind.snapshots)) == []


def test_list_tells_when_each_object_was_written(backend: Backend) -> None:
    # prune keeps unindexed packs younger than its safety margin: it needs every object's age.
    import time

    backend.create_location()
    before = time.time()
    backend.save(Kind.data, "cd" * 32, b"pack")
    (info,) = list(backend.list(Kind.data))
    assert info.modified is not None and before - 5 <= info.modified <= time.time() + 5


def test_replace_and_remove(backend: Backend) -> None:
    backend.create_location()
    backend.save(Kind.locks, "l1", b"one")
    backend.save(Kind.locks, "l1", b"two")
    assert backend.load(Kind.locks, "l1") == b"two"
    backend.remove(Kind.locks, "l1")
    backend.remove(Kind.locks, "l1")  # absent: not an error
    assert list(backend.list(Kind.locks)) == []


def test_missing_objects_raise_object_missing(backend: Backend) -> None:
    backend.create_location()
    with pytest.raises(ObjectMissing):
        backend.load(Kind.snapshots, "nope")
    with pytest.raises(ObjectMissing):
        backend.stat(Kind.config, "config")


def test_empty_object(backend: Backend) -> None:
    backend.create_location()
    backend.save(Kind.keys, "k", b"")
    assert backend.load(Kind.keys, "k") == b""
    assert backend.stat(Kind.keys, "k").size == 0


def test_local_backend_leaves_no_temp_files(tmp_path: Path) -> None:
    store = LocalBackend(tmp_path / "s")
    store.create_location()
    store.save(Kind.data, "cd" * 32, b"payload")
    files = [p.name for p in (tmp_path / "s").rglob("*") if p.is_file()]
    assert files == ["cd" * 32]


class _Flaky:
    """A backend that fails transiently a given number of times before delegating."""

    def __init__(self, inner: Backend, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def call(*args: Any) -> Any:
            if self.failures > 0:
                self.failures -= 1
                raise TransientError("503 Slow Down")
            return method(*args)

        return call


def test_retry_backend_retries_transient_errors_then_gives_up() -> None:
    inner = MemoryBackend()
    retried = RetryBackend(_Flaky(inner, 2), attempts=3, base_delay=0.001)  # type: ignore[arg-type]
    retried.save(Kind.keys, "k", b"v")
    assert inner.load(Kind.keys, "k") == b"v"
    hopeless = RetryBackend(_Flaky(inner, 10), attempts=3, base_delay=0.001)  # type: ignore[arg-type]
    with pytest.raises(TransientError, match="after 3 attempts"):
        hopeless.load(Kind.keys, "k")
