"""The Redis restore route, with real servers: an RDB taken by `redis-cli --rdb` (as the dump is),
unpacked by tar from the archive the restore feeds its mover pod, is what a Redis started on
that directory serves, with appendonly off (dump.rdb) and on (the old single-file AOF's place)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from mlark.dev.paths import component_dir
from mlark.dev.process import free_port
from mlark.dev.services.common import stop
from mlark.dev.services.redis_server import start_redis
from mlark.restore.databases import rdb_archive, rdb_archive_size


@pytest.fixture
def workdir() -> Iterator[Path]:
    path = component_dir("tests") / f"redis-rdb-{uuid.uuid4().hex[:8]}"
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _server(name: str, directory: Path, appendonly: bool = False) -> redis.Redis:
    endpoint = start_redis(name, directory, free_port(), {"REDIS_PASSWORD": "pw"}, appendonly=appendonly)
    return redis.Redis(host="127.0.0.1", port=endpoint.port, password="pw", decode_responses=True)


@pytest.mark.parametrize("appendonly", [False, True])
def test_an_rdb_placed_before_start_is_what_the_server_serves(workdir: Path, appendonly: bool) -> None:
    source_name, target_name = f"test-rdb-src-{uuid.uuid4().hex[:6]}", f"test-rdb-dst-{uuid.uuid4().hex[:6]}"
    try:
        source = _server(source_name, workdir / "source")
        source.set("session:alice", "token-a")
        source.hset("user:1", mapping={"name": "alice", "plan": "pro"})
        source.rpush("queue", "a", "b", "c")
        redis.Redis(host="127.0.0.1", port=source.connection_pool.connection_kwargs["port"], password="pw", db=1).set("f", "1.4")
        port = source.connection_pool.connection_kwargs["port"]
        rdb = workdir / "taken.rdb"
        subprocess.run(["redis-cli", "-p", str(port), "--rdb", str(rdb)], env={"REDISCLI_AUTH": "pw", "PATH": "/usr/bin:/bin"},
                       check=True, capture_output=True)
        content = rdb.read_bytes()
        paths = ["data/dump.rdb", "data/appendonly.aof"] if appendonly else ["data/dump.rdb"]
        archive = b"".join(rdb_archive(paths, len(content), (0, 0), lambda: [content[:1000], content[1000:]]))
        assert len(archive) == rdb_archive_size(paths, len(content))
        volume = workdir / "volume"
        volume.mkdir()
        subprocess.run(["tar", "-x", "-f", "-", "--numeric-owner", "-p"], input=archive, cwd=volume, check=True)

        target = _server(target_name, volume / "data", appendonly=appendonly)
        assert target.get("session:alice") == "token-a"
        assert target.hgetall("user:1") == {"name": "alice", "plan": "pro"}
        assert target.lrange("queue", 0, -1) == ["a", "b", "c"]
        assert redis.Redis(host="127.0.0.1", port=target.connection_pool.connection_kwargs["port"], password="pw", db=1).get("f") == b"1.4"
    finally:
        stop(source_name)
        stop(target_name)
