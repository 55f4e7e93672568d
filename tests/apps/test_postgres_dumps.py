"""PostgreSQL dumps and loads, run as they run in a database container, against real servers.

The dump and load commands are `sh -c` scripts meant for the database's own container; here
they run on this machine with the variables a container (and the pod simulator's exec) gives
them, against PostgreSQL 15 servers initialised like the official image: a load into a fresh
server and a load over a server with stale data must both end with exactly the dumped
databases, roles and rows.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from mlark.apps.databases import PG_LEGACY_ALL, commands, legacy_pg_dumpall_load
from mlark.dev.paths import component_dir
from mlark.dev.process import free_port
from mlark.dev.services.common import DatabaseEndpoint, stop
from mlark.dev.services.postgres import start_postgres
from mlark.restore.databases import legacy_pg_dumpall, legacy_pg_dumpall_growth

SUPERUSER = "catalog"  # POSTGRES_USER of the official image: the superuser, not `postgres`


def _server(tmp_path: Path, label: str, password: str, database: str = "catalogdb") -> Iterator[DatabaseEndpoint]:
    name = f"test-pgdump-{label}-{uuid.uuid4().hex[:8]}"
    env = {"POSTGRES_USER": SUPERUSER, "POSTGRES_PASSWORD": password, "POSTGRES_DB": database}
    # Not under pytest's tmp_path: another pytest session on the machine makes /tmp/pytest-of-<user>
    # 0700 again, and the server (running as the postgres account) loses its data directory.
    data_dir = component_dir("tests") / name
    try:
        yield start_postgres(name, data_dir / "pgdata", free_port(), env)
    finally:
        stop(name)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
def source(tmp_path: Path) -> Iterator[DatabaseEndpoint]:
    yield from _server(tmp_path, "source", "source-pw")


@pytest.fixture
def target(tmp_path: Path) -> Iterator[DatabaseEndpoint]:
    yield from _server(tmp_path, "target", "target-pw")


def container_env(server: DatabaseEndpoint, **variables: str) -> dict[str, str]:
    """What `kubectl exec` into an official-image container gives a command (as the pod simulator
    maps it: the clients find the server through PGHOST/PGPORT)."""
    base = {"PATH": os.environ["PATH"], "PGHOST": "127.0.0.1", "PGPORT": str(server.port)}
    if not variables:
        variables = {"POSTGRES_USER": SUPERUSER, "POSTGRES_PASSWORD": server.password or "", "POSTGRES_DB": "catalogdb",
                     "PGUSER": SUPERUSER, "PGPASSWORD": server.password or ""}
    return {**base, **variables}


def in_container(argv: list[str], env: dict[str, str], stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(argv, input=stdin, env=env, capture_output=True, timeout=120, check=False)


def connect(server: DatabaseEndpoint, database: str) -> psycopg.Connection:
    return psycopg.connect(host="127.0.0.1", port=server.port, user=SUPERUSER, password=server.password,
                           dbname=database, autocommit=True)


def fill_source(server: DatabaseEndpoint) -> None:
    """Two application databases with rows, owned by an application role with a password."""
    with connect(server, "catalogdb") as db:
        db.execute("CREATE ROLE app LOGIN PASSWORD 'app-secret' CONNECTION LIMIT 7")
        db.execute("CREATE ROLE reader NOLOGIN")
        db.execute("GRANT reader TO app")
        db.execute("CREATE DATABASE mlflow OWNER app")
        db.execute("CREATE DATABASE features OWNER app")
        db.execute("CREATE TABLE catalog_models (id int PRIMARY KEY, name text)")
        db.execute("INSERT INTO catalog_models VALUES (1, 'iris'), (2, 'opt125m')")
    with connect(server, "mlflow") as db:
        db.execute("SET ROLE app")
        db.execute("CREATE TABLE runs (id int PRIMARY KEY, metric float8, note text)")
        db.execute("INSERT INTO runs SELECT g, g / 10.0, 'run ' || g FROM generate_series(1, 500) g")
        db.execute("GRANT SELECT ON runs TO reader")
    with connect(server, "features") as db:
        db.execute("SET ROLE app")
        db.execute("CREATE TABLE features (name text PRIMARY KEY, value jsonb)")
        db.execute("""INSERT INTO features VALUES ('petal', '{"w": 1.4}'), ('sepal', '{"w": 3.5}')""")


def state(server: DatabaseEndpoint) -> dict[str, object]:
    """Databases (with owners), non-built-in roles (with attributes and password hashes),
    memberships, and every user table's rows, in a comparable form."""
    with connect(server, "postgres") as db:
        databases = db.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE NOT datistemplate "
                               "ORDER BY 1").fetchall()
        roles = db.execute("SELECT rolname, rolsuper, rolcanlogin, rolconnlimit, rolpassword FROM pg_authid "
                           "WHERE rolname !~ '^pg_' AND rolname <> current_user ORDER BY 1").fetchall()
        members = db.execute("SELECT r.rolname, m.rolname FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
                             "JOIN pg_roles m ON m.oid = a.member WHERE r.rolname !~ '^pg_' ORDER BY 1, 2").fetchall()
    tables: dict[str, object] = {}
    for name, _ in databases:
        with connect(server, name) as db:
            for schema, table in db.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = 'public'"
                                            " ORDER BY 2").fetchall():
                tables[f"{name}.{table}"] = db.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY 1').fetchall()
    return {"databases": databases, "roles": roles, "members": members, "tables": tables}


def dump(server: DatabaseEndpoint, databases: list[str] | None = None) -> bytes:
    argv, _, _ = commands("postgres", databases or [])
    result = in_container(argv, container_env(server))
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return result.stdout


def load(server: DatabaseEndpoint, data: bytes, databases: list[str] | None = None, **variables: str) -> subprocess.CompletedProcess[bytes]:
    _, argv, _ = commands("postgres", databases or [])
    assert argv is not None
    return in_container(argv, container_env(server, **variables), data)


def test_a_dump_loads_into_a_fresh_server(source: DatabaseEndpoint, target: DatabaseEndpoint) -> None:
    fill_source(source)
    data = dump(source)
    result = load(target, data)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert state(target) == state(source)
    restored = state(target)
    assert ("features", "app") in restored["databases"] and ("mlflow", "app") in restored["databases"]  # type: ignore[operator]
    assert len(restored["tables"]["mlflow.runs"]) == 500  # type: ignore[index]


def test_a_dump_loads_over_a_server_with_stale_data(source: DatabaseEndpoint, target: DatabaseEndpoint) -> None:
    fill_source(source)
    data = dump(source)
    with connect(target, "catalogdb") as db:  # the same application, older and changed since
        db.execute("CREATE ROLE app LOGIN PASSWORD 'stale-secret'")
        db.execute("CREATE DATABASE mlflow OWNER app")
        db.execute("CREATE TABLE catalog_models (id int PRIMARY KEY, name text)")
        db.execute("INSERT INTO catalog_models VALUES (1, 'stale'), (9, 'gone since')")
    with connect(target, "mlflow") as db:
        db.execute("CREATE TABLE runs (id int PRIMARY KEY, metric float8, note text)")
        db.execute("INSERT INTO runs VALUES (1, -1, 'stale'), (100000, 0, 'added after the backup')")
        db.execute("CREATE TABLE scratch (x int)")
    # A session of the application holds the database open: the load must not stop at it.
    with connect(target, "mlflow"):
        result = load(target, data)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert state(target) == state(source)
    # The target's own superuser kept the password its container was started with.
    with psycopg.connect(host="127.0.0.1", port=target.port, user=SUPERUSER, password="target-pw", dbname="postgres") as db:
        assert db.execute("SELECT 1").fetchone() == (1,)


def test_named_databases_only_replace_themselves(source: DatabaseEndpoint, target: DatabaseEndpoint) -> None:
    fill_source(source)
    data = dump(source, ["mlflow"])
    with connect(target, "catalogdb") as db:
        db.execute("CREATE ROLE app LOGIN")
        db.execute("CREATE DATABASE features OWNER app")  # not in the dump: left as it is
    result = load(target, data, ["mlflow"])
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    restored = state(target)
    assert restored["tables"]["mlflow.runs"] == state(source)["tables"]["mlflow.runs"]  # type: ignore[index]
    assert ("features", "app") in restored["databases"]  # type: ignore[operator]


def test_loading_as_a_non_superuser_stops_before_changing_anything(source: DatabaseEndpoint, target: DatabaseEndpoint) -> None:
    fill_source(source)
    data = dump(source)
    with connect(target, "catalogdb") as db:
        db.execute("CREATE ROLE appowner LOGIN PASSWORD 'owner-pw' CREATEDB")
        db.execute("CREATE DATABASE mlflow OWNER appowner")
    before = state(target)
    # A Red Hat image whose environment holds only the application user: no superuser login.
    result = load(target, data, POSTGRESQL_USER="appowner", POSTGRESQL_PASSWORD="owner-pw")
    assert result.returncode != 0
    assert b"load it as a superuser, not appowner" in result.stderr
    assert state(target) == before


@pytest.mark.parametrize(
    ("variables", "chosen"),
    [
        # Bitnami: the application user and, separately, the postgres password.
        ({"POSTGRESQL_USERNAME": "app", "POSTGRESQL_PASSWORD": "app-secret", "POSTGRESQL_POSTGRES_PASSWORD": "{pw}"}, "postgres"),
        # Bitnami with only a password: that is postgres's.
        ({"POSTGRESQL_PASSWORD": "{pw}"}, "postgres"),
        # Red Hat (rhel9/postgresql-*): application user, plus an admin password for postgres.
        ({"POSTGRESQL_USER": "app", "POSTGRESQL_PASSWORD": "app-secret", "POSTGRESQL_ADMIN_PASSWORD": "{pw}"}, "postgres"),
        # Red Hat without an admin password: the application user is all there is.
        ({"POSTGRESQL_USER": "app", "POSTGRESQL_PASSWORD": "app-secret"}, "app"),
    ],
)
def test_the_login_prefers_a_superuser_of_each_image_family(tmp_path: Path, variables: dict[str, str], chosen: str) -> None:
    for server in _server(tmp_path, "family", "admin-pw", "postgres"):
        with connect(server, "postgres") as db:
            db.execute("CREATE ROLE app LOGIN PASSWORD 'app-secret'")
            db.execute("CREATE ROLE postgres SUPERUSER LOGIN PASSWORD 'admin-pw'")
        env = container_env(server, **{k: v.replace("{pw}", "admin-pw") for k, v in variables.items()})
        login = commands("postgres", [])[0][2].split("set -e;")[0]
        result = in_container(["sh", "-c", login + 'psql -X -w -A -t -U "$user" --dbname=postgres -c "SELECT current_user"'], env)
        assert result.returncode == 0, result.stderr.decode()
        assert result.stdout.decode().strip() == chosen


def test_the_dump_is_a_readable_psql_script_that_names_its_format(source: DatabaseEndpoint) -> None:
    fill_source(source)
    text = dump(source).decode()
    assert text.startswith("-- mlark-pg/2 (mlark PostgreSQL dump)")
    assert "DROP ROLE" not in text  # the loading superuser is never dropped
    assert "CREATE ROLE app; EXCEPTION WHEN duplicate_object" in text
    assert f"ALTER ROLE {SUPERUSER} WITH" not in text  # the target's own superuser keeps its password
    assert text.count("DROP DATABASE IF EXISTS mlflow WITH (FORCE)") == 1
    assert commands("postgres", [])[2] != PG_LEGACY_ALL


def test_a_restore_point_made_with_pg_dumpall_still_loads(source: DatabaseEndpoint, target: DatabaseEndpoint) -> None:
    """Restore points of earlier versions hold `pg_dumpall --clean --if-exists` output: loaded as it
    is, it drops the loading superuser's databases and stops at "current user cannot be dropped"."""
    fill_source(source)
    legacy = in_container(["sh", "-c", 'exec pg_dumpall -U "$PGUSER" --clean --if-exists'], container_env(source))
    assert legacy.returncode == 0, legacy.stderr.decode()
    assert load(target, legacy.stdout).returncode != 0  # as it is: refused half-way
    rewritten = b"".join(legacy_pg_dumpall([legacy.stdout[i:i + 4096] for i in range(0, len(legacy.stdout), 4096)]))
    assert len(rewritten) == len(legacy.stdout) + legacy_pg_dumpall_growth(iter([legacy.stdout]))
    result = in_container(legacy_pg_dumpall_load(), container_env(target), rewritten)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    assert state(target) == state(source)
