"""MariaDB 10.11 instances: the environment's shared one and per-pod ones.

A first start on an empty data directory is initialised the way the official container
image's entrypoint does it (root password, optional database and user from the MYSQL_* /
MARIADB_* variables); a data directory that already holds a database is left alone.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import pymysql
from pymysql.constants import CLIENT

from mlark.dev.paths import component_dir
from mlark.dev.ports import mariadb_port
from mlark.dev.process import DevEnvironmentError, require_free_ports, running_pid, start_daemon, wait_until
from mlark.dev.services.binaries import find_binary
from mlark.dev.services.common import (
    DatabaseEndpoint,
    begin_initialisation,
    discard_interrupted_initialisation,
    end_initialisation,
    record_ports,
    run_dir,
    socket_path,
    stop,
    stored_secret,
)

SHARED_NAME = "mariadb"
_HINT = "install Debian's mariadb-server (scripts/install-system-deps.sh)"
_ACCESS_DENIED = 1045


def _env(env: Mapping[str, str], key: str) -> str | None:
    """The official image reads MARIADB_x first and accepts MYSQL_x as an alias."""
    return env.get(f"MARIADB_{key}") or env.get(f"MYSQL_{key}") or None


def _root_password(env: Mapping[str, str]) -> str:
    password = _env(env, "ROOT_PASSWORD")
    if password:
        return password
    if _env(env, "RANDOM_ROOT_PASSWORD"):
        return secrets.token_urlsafe(18)
    if _env(env, "ALLOW_EMPTY_ROOT_PASSWORD") or env.get("MYSQL_ALLOW_EMPTY_PASSWORD"):
        return ""
    raise DevEnvironmentError(
        "mariadb: database is uninitialized and no root password option is set "
        "(MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD or MYSQL_RANDOM_ROOT_PASSWORD)"
    )


def _server_argv(name: str, data_dir: Path, port: int) -> list[str]:
    argv = [
        str(find_binary("mariadbd", extra_dirs=[Path("/usr/sbin")], hint=_HINT)),
        # No system my.cnf: every setting of this instance is on its command line.
        "--no-defaults",
        f"--datadir={data_dir}",
        f"--port={port}",
        "--bind-address=127.0.0.1",
        f"--socket={socket_path(name)}",
        f"--pid-file={run_dir() / f'{name}.mariadb.pid'}",
        "--skip-name-resolve",
        "--character-set-server=utf8mb4",
        "--collation-server=utf8mb4_general_ci",
        # Small footprint: the pod simulator may run several instances on a 2-core machine.
        "--innodb-buffer-pool-size=32M",
        "--performance-schema=OFF",
    ]
    if os.geteuid() == 0:
        argv.append("--user=root")  # mariadbd refuses root unless told explicitly
    return argv


def _install_db(name: str, data_dir: Path) -> None:
    import subprocess

    install = find_binary("mariadb-install-db", hint=_HINT)
    argv = [
        str(install),
        "--no-defaults",
        f"--datadir={data_dir}",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
    ]
    if os.geteuid() == 0:
        argv.append("--user=root")
    before = set(data_dir.iterdir())
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        # A half-installed directory would pass for an initialised one on the next start.
        for entry in set(data_dir.iterdir()) - before:
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        raise DevEnvironmentError(f"{name}: mariadb-install-db failed:\n{result.stdout[-1500:]}{result.stderr[-1500:]}")


def _answers(port: int) -> bool:
    """The server accepts connections: a login succeeds or is refused for its credentials."""
    try:
        pymysql.connect(host="127.0.0.1", port=port, user="mlark-probe", password="x", connect_timeout=2).close()
    except pymysql.err.OperationalError as error:
        return bool(error.args) and error.args[0] == _ACCESS_DENIED
    except Exception:
        return False
    return True


def _quote_ident(value: str) -> str:
    return "`" + value.replace("`", "``") + "`"


def _initialise(name: str, env: Mapping[str, str], root_password: str, init_sql: Sequence[str]) -> None:
    """First start: the official entrypoint's accounts and database, over the local socket."""
    database = _env(env, "DATABASE")
    user = _env(env, "USER")
    password = _env(env, "PASSWORD") or ""
    connection = pymysql.connect(unix_socket=str(socket_path(name)), user="root", password="", autocommit=True)
    try:
        with connection.cursor() as cursor:
            # Like the official image, keep only the system accounts and root@localhost: the
            # installer's anonymous and root@127.0.0.1/::1/<hostname> accounts (no password)
            # would shadow the accounts created below.
            cursor.execute(
                "SELECT User, Host FROM mysql.user WHERE User NOT IN ('mysql.sys', 'mariadb.sys', 'root', 'mysql') "
                "OR Host <> 'localhost'"
            )
            for account, host in cursor.fetchall():
                cursor.execute("DROP USER %s@%s", (account, host))
            cursor.execute("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (root_password,))
            cursor.execute("CREATE USER IF NOT EXISTS 'root'@'%%' IDENTIFIED BY %s", (root_password,))
            cursor.execute("GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION")
            if database:
                cursor.execute(f"CREATE DATABASE IF NOT EXISTS {_quote_ident(database)}")
            if user and user != "root":
                cursor.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
                if database:
                    cursor.execute(f"GRANT ALL ON {_quote_ident(database)}.* TO %s@'%%'", (user,))
            cursor.execute("FLUSH PRIVILEGES")
    finally:
        connection.close()
    if init_sql:
        run_sql(name, root_password, init_sql, database=database)


def run_sql(name: str, root_password: str, scripts: Sequence[str], *, database: str | None = None) -> None:
    """Run SQL scripts (several statements each) as root over the instance's socket."""
    connection = pymysql.connect(
        unix_socket=str(socket_path(name)),
        user="root",
        password=root_password,
        database=database,
        autocommit=True,
        client_flag=CLIENT.MULTI_STATEMENTS,
    )
    try:
        with connection.cursor() as cursor:
            for script in scripts:
                cursor.execute(script)
                while cursor.nextset():
                    pass
    finally:
        connection.close()


def start_mariadb(
    name: str,
    data_dir: Path,
    port: int,
    env: Mapping[str, str],
    *,
    init_sql: Sequence[str] = (),
    timeout: float = 90.0,
) -> DatabaseEndpoint:
    """Start MariaDB as daemon `name` on 127.0.0.1:port with its data in data_dir. Idempotent.

    env holds the container's variables (MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER,
    MYSQL_PASSWORD or their MARIADB_* names). On an empty data_dir they initialise the
    instance and init_sql runs in MYSQL_DATABASE (like /docker-entrypoint-initdb.d); an
    initialised data_dir is used as it is.
    """
    data_dir = Path(data_dir)
    if running_pid(name) is None:
        require_free_ports(name, [port])
        data_dir.mkdir(parents=True, exist_ok=True)
        discard_interrupted_initialisation(data_dir)
        fresh = not (data_dir / "mysql").is_dir()
        root_password = _root_password(env) if fresh else (_env(env, "ROOT_PASSWORD") or "")
        if fresh:
            begin_initialisation(data_dir)
            _install_db(name, data_dir)
        start_daemon(name, _server_argv(name, data_dir, port))
        record_ports(name, [port])
        wait_until(name, lambda: _answers(port), timeout=timeout, interval=0.3)
        if fresh:
            _initialise(name, env, root_password, init_sql)
            end_initialisation(data_dir)
    else:
        root_password = _env(env, "ROOT_PASSWORD") or ""
        wait_until(name, lambda: _answers(port), timeout=timeout, interval=0.3)
    user = _env(env, "USER")
    return DatabaseEndpoint(
        engine="mysql",
        port=port,
        user=user or "root",
        password=(_env(env, "PASSWORD") or "") if user else root_password,
        database=_env(env, "DATABASE"),
        admin_user="root",
        admin_password=root_password,
        daemon=name,
        data_dir=str(data_dir),
    )


def shared_env() -> dict[str, str]:
    """Container-style variables of the environment's shared instance (secrets kept per environment)."""
    return {
        "MYSQL_ROOT_PASSWORD": stored_secret(SHARED_NAME, "root_password"),
        "MYSQL_DATABASE": "mlark",
        "MYSQL_USER": "mlark",
        "MYSQL_PASSWORD": stored_secret(SHARED_NAME, "password"),
    }


def start_shared_mariadb() -> DatabaseEndpoint:
    return start_mariadb(SHARED_NAME, component_dir(SHARED_NAME) / "data", mariadb_port(), shared_env())


def shared_endpoint() -> DatabaseEndpoint:
    """The shared instance's endpoint, without starting it (for status reports)."""
    env = shared_env()
    return DatabaseEndpoint(
        engine="mysql",
        port=mariadb_port(),
        user=env["MYSQL_USER"],
        password=env["MYSQL_PASSWORD"],
        database=env["MYSQL_DATABASE"],
        admin_user="root",
        admin_password=env["MYSQL_ROOT_PASSWORD"],
        daemon=SHARED_NAME,
        data_dir=str(component_dir(SHARED_NAME) / "data"),
    )


def stop_shared_mariadb() -> bool:
    return stop(SHARED_NAME)
