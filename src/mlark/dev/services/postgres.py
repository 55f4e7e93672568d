"""PostgreSQL 15 instances: the environment's shared one and per-pod ones.

A first start on an empty data directory is initialised the way the official container
image's entrypoint does it (superuser POSTGRES_USER with POSTGRES_PASSWORD, database
POSTGRES_DB, password authentication over TCP); an initialised data directory is used as it
is. PostgreSQL refuses to run as root, so when we are root the server runs as the `postgres`
account and its data directory is owned by it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import psycopg
from psycopg import sql

from mlark.dev.paths import component_dir
from mlark.dev.ports import postgres_port
from mlark.dev.process import DevEnvironmentError, require_free_ports, running_pid, start_daemon, wait_until
from mlark.dev.services.binaries import find_binary
from mlark.dev.services.common import (
    DatabaseEndpoint,
    as_user,
    begin_initialisation,
    discard_interrupted_initialisation,
    end_initialisation,
    chown_tree,
    grant_traverse,
    record_ports,
    run_dir,
    service_user,
    socket_path,
    stop,
    stored_secret,
)

SHARED_NAME = "postgres"
PG_MAJOR = 15
_PG_BIN = Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin")
_HINT = f"install Debian's postgresql-{PG_MAJOR} (scripts/install-system-deps.sh)"


def _binary(name: str) -> Path:
    # Debian keeps the server binaries out of PATH; look there before PATH so that another
    # major version on PATH is not picked up.
    path = _PG_BIN / name
    if path.is_file():
        return path
    return find_binary(name, hint=_HINT)


def _settings(env: Mapping[str, str]) -> tuple[str, str, str, str]:
    user = env.get("POSTGRES_USER") or "postgres"
    password = env.get("POSTGRES_PASSWORD") or ""
    database = env.get("POSTGRES_DB") or user
    auth = env.get("POSTGRES_HOST_AUTH_METHOD") or "scram-sha-256"
    return user, password, database, auth


def _socket_dir(name: str) -> Path:
    return socket_path(name, "pgsock", reserve=len("/.s.PGSQL.65535"))


def _run_as(argv: Sequence[str], os_user: str | None, what: str) -> None:
    result = subprocess.run([*as_user(os_user), *argv], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DevEnvironmentError(f"{what} failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")


def _initdb(name: str, data_dir: Path, env: Mapping[str, str], os_user: str | None) -> None:
    user, password, _, auth = _settings(env)
    if not password and auth != "trust":
        raise DevEnvironmentError(
            f"{name}: database is uninitialized and POSTGRES_PASSWORD is not set "
            "(or set POSTGRES_HOST_AUTH_METHOD=trust)"
        )
    password_file = run_dir() / f"{name}.pwfile"
    fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(password or "unused")
    chown_tree(password_file, os_user)
    try:
        _run_as(
            [
                str(_binary("initdb")),
                f"--pgdata={data_dir}",
                f"--username={user}",
                f"--pwfile={password_file}",
                "--auth-local=trust",  # the socket is private to the environment
                f"--auth-host={auth}",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                *shlex.split(env.get("POSTGRES_INITDB_ARGS", "")),
            ],
            os_user,
            f"{name}: initdb",
        )
    finally:
        password_file.unlink(missing_ok=True)


def _prepare_dirs(name: str, data_dir: Path, os_user: str | None) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_dir = _socket_dir(name)
    socket_dir.mkdir(parents=True, exist_ok=True)
    # A data directory restored by a root process must be given back to the server account,
    # with the 0700 mode the server insists on.
    chown_tree(data_dir, os_user)
    chown_tree(socket_dir, os_user)
    os.chmod(data_dir, 0o700)
    grant_traverse(data_dir.parent, os_user)
    grant_traverse(socket_dir.parent, os_user)


def _answers(name: str, port: int) -> bool:
    try:
        psycopg.connect(host=str(_socket_dir(name)), port=port, user="postgres", dbname="postgres", connect_timeout=2).close()
    except psycopg.OperationalError as error:
        # A refused role or database still proves the server accepts connections.
        return "does not exist" in str(error)
    return True


def _superuser_connection(name: str, port: int, user: str, database: str = "postgres") -> psycopg.Connection:
    return psycopg.connect(host=str(_socket_dir(name)), port=port, user=user, dbname=database, autocommit=True)


def start_postgres(
    name: str,
    data_dir: Path,
    port: int,
    env: Mapping[str, str],
    *,
    init_sql: Sequence[str] = (),
    timeout: float = 90.0,
) -> DatabaseEndpoint:
    """Start PostgreSQL as daemon `name` on 127.0.0.1:port with PGDATA data_dir. Idempotent.

    env holds the container's variables (POSTGRES_PASSWORD, POSTGRES_USER, POSTGRES_DB,
    POSTGRES_INITDB_ARGS, POSTGRES_HOST_AUTH_METHOD). On an empty data_dir they initialise
    the instance and init_sql runs in POSTGRES_DB (like /docker-entrypoint-initdb.d).
    """
    data_dir = Path(data_dir)
    user, password, database, _ = _settings(env)
    if running_pid(name) is None:
        require_free_ports(name, [port])
        os_user = service_user("postgres")
        if data_dir.exists():
            discard_interrupted_initialisation(data_dir)
        fresh = not (data_dir / "PG_VERSION").exists()
        if fresh and data_dir.exists() and any(data_dir.iterdir()):
            raise DevEnvironmentError(
                f"{name}: {data_dir} is neither empty nor a PostgreSQL data directory (no PG_VERSION)"
            )
        _prepare_dirs(name, data_dir, os_user)
        if fresh:
            _initdb(name, data_dir, env, os_user)
            begin_initialisation(data_dir)
        argv = [
            *as_user(os_user),
            str(_binary("postgres")),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-k",
            str(_socket_dir(name)),
            "-c",
            "listen_addresses=127.0.0.1",
            # Small footprint: the pod simulator may run several instances on 2 cores.
            "-c",
            "shared_buffers=32MB",
            "-c",
            "max_connections=40",
        ]
        start_daemon(name, argv)
        record_ports(name, [port])
        wait_until(name, lambda: _answers(name, port), timeout=timeout, interval=0.3)
        if fresh:
            with _superuser_connection(name, port, user) as connection:
                exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
                if not exists:
                    connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            if init_sql:
                with _superuser_connection(name, port, user, database) as connection:
                    for script in init_sql:
                        connection.execute(script)  # type: ignore[arg-type]
            end_initialisation(data_dir)
    else:
        wait_until(name, lambda: _answers(name, port), timeout=timeout, interval=0.3)
    return DatabaseEndpoint(
        engine="postgresql",
        port=port,
        user=user,
        password=password or None,
        database=database,
        admin_user=user,
        admin_password=password or None,
        daemon=name,
        data_dir=str(data_dir),
    )


def shared_env() -> dict[str, str]:
    return {
        "POSTGRES_USER": "mlark",
        "POSTGRES_PASSWORD": stored_secret(SHARED_NAME, "password"),
        "POSTGRES_DB": "mlark",
    }


def start_shared_postgres() -> DatabaseEndpoint:
    return start_postgres(SHARED_NAME, component_dir(SHARED_NAME) / "data", postgres_port(), shared_env())


def shared_endpoint() -> DatabaseEndpoint:
    """The shared instance's endpoint, without starting it (for status reports)."""
    env = shared_env()
    return DatabaseEndpoint(
        engine="postgresql",
        port=postgres_port(),
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        database=env["POSTGRES_DB"],
        admin_user=env["POSTGRES_USER"],
        admin_password=env["POSTGRES_PASSWORD"],
        daemon=SHARED_NAME,
        data_dir=str(component_dir(SHARED_NAME) / "data"),
    )


def stop_shared_postgres() -> bool:
    return stop(SHARED_NAME)
