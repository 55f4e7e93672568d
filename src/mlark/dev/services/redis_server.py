"""Redis 7 instances: the environment's shared one and per-pod ones.

The data directory receives dump.rdb (and appendonly files if enabled), like /data in the
official image. A password comes from REDIS_PASSWORD (the variable Bitnami-style images
use); the official image has none, so an empty env means no authentication.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import redis

from mlark.dev.paths import component_dir
from mlark.dev.ports import redis_port
from mlark.dev.process import require_free_ports, running_pid, start_daemon, wait_until
from mlark.dev.services.binaries import find_binary
from mlark.dev.services.common import DatabaseEndpoint, record_ports, stop, stored_secret

SHARED_NAME = "redis"
_HINT = "install Debian's redis-server (scripts/install-system-deps.sh)"


def _answers(port: int, password: str | None) -> bool:
    try:
        client = redis.Redis(host="127.0.0.1", port=port, password=password, socket_connect_timeout=1)
        return bool(client.ping())
    except redis.exceptions.AuthenticationError:
        return True  # up, only our credentials are not the configured ones
    except redis.exceptions.RedisError:
        return False


def start_redis(
    name: str,
    data_dir: Path,
    port: int,
    env: Mapping[str, str],
    *,
    appendonly: bool = False,
    dbfilename: str = "dump.rdb",
    appendfilename: str = "appendonly.aof",
    timeout: float = 30.0,
) -> DatabaseEndpoint:
    """Start redis-server as daemon `name` on 127.0.0.1:port, persisting into data_dir/dbfilename
    (read at start, like the images do from their data volume). Idempotent."""
    data_dir = Path(data_dir)
    password = env.get("REDIS_PASSWORD") or None
    if running_pid(name) is None:
        require_free_ports(name, [port])
        data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(find_binary("redis-server", hint=_HINT)),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data_dir),
            "--daemonize",
            "no",
            "--appendonly",
            "yes" if appendonly else "no",
            "--dbfilename",
            dbfilename,
            "--appendfilename",
            appendfilename,
            # Log to stdout, which start_daemon sends to the component's log file.
            "--logfile",
            "",
        ]
        if password:
            argv += ["--requirepass", password]
        start_daemon(name, argv)
        record_ports(name, [port])
    wait_until(name, lambda: _answers(port, password), timeout=timeout, interval=0.2)
    return DatabaseEndpoint(
        engine="redis",
        port=port,
        password=password,
        database="0",
        daemon=name,
        data_dir=str(data_dir),
    )


def shared_env() -> dict[str, str]:
    return {"REDIS_PASSWORD": stored_secret(SHARED_NAME, "password")}


def start_shared_redis() -> DatabaseEndpoint:
    return start_redis(SHARED_NAME, component_dir(SHARED_NAME) / "data", redis_port(), shared_env())


def shared_endpoint() -> DatabaseEndpoint:
    """The shared instance's endpoint, without starting it (for status reports)."""
    return DatabaseEndpoint(
        engine="redis",
        port=redis_port(),
        password=shared_env()["REDIS_PASSWORD"],
        database="0",
        daemon=SHARED_NAME,
        data_dir=str(component_dir(SHARED_NAME) / "data"),
    )


def stop_shared_redis() -> bool:
    return stop(SHARED_NAME)
