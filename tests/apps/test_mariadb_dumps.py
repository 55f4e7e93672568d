"""MariaDB dumps and loads, run as they run in a database container, against real servers: a load
over a server that holds stale copies of the dumped databases ends with exactly the dumped data,
and the server's own accounts (the `mysql` schema) are never part of a dump."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from mlark.apps.databases import commands
from mlark.dev.paths import component_dir
from mlark.dev.process import free_port
from mlark.dev.services.common import DatabaseEndpoint, stop
from mlark.dev.services.mariadb import start_mariadb
from mlark.dev.simulator.plan import ProcessKind, ProcessPlan, exec_env, mariadb_client_options

ROOT_PASSWORD = "root-pw"


@pytest.fixture
def servers() -> Iterator[tuple[tuple[DatabaseEndpoint, Path], tuple[DatabaseEndpoint, Path]]]:
    directory = component_dir("tests") / f"mariadb-dumps-{uuid.uuid4().hex[:8]}"
    names = [f"test-mdump-{label}-{uuid.uuid4().hex[:6]}" for label in ("source", "target")]
    env = {"MYSQL_ROOT_PASSWORD": ROOT_PASSWORD, "MYSQL_DATABASE": "registry", "MYSQL_USER": "app", "MYSQL_PASSWORD": "app-pw"}
    try:
        made = []
        for name in names:
            endpoint = start_mariadb(name, directory / name / "data", free_port(), env)
            client = directory / name / "client"
            client.mkdir(parents=True)
            process = ProcessPlan(kind=ProcessKind.mariadb, container="mariadb", env=env)
            (client / "my.cnf").write_text(mariadb_client_options(process, endpoint.port))
            made.append((endpoint, client))
        yield made[0], made[1]
    finally:
        for name in names:
            stop(name)
        shutil.rmtree(directory, ignore_errors=True)


def run(argv: list[str], server: tuple[DatabaseEndpoint, Path], stdin: bytes | None = None) -> bytes:
    """argv as `kubectl exec` runs it in the container (the simulator's client settings)."""
    endpoint, client = server
    process = ProcessPlan(kind=ProcessKind.mariadb, container="mariadb", env={})
    env = {"PATH": os.environ["PATH"], "MYSQL_ROOT_PASSWORD": ROOT_PASSWORD, **exec_env(process, endpoint.port, str(client))}
    result = subprocess.run(argv, input=stdin, env=env, capture_output=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return result.stdout


def sql(server: tuple[DatabaseEndpoint, Path], *statements: str) -> list[tuple]:
    connection = pymysql.connect(host="127.0.0.1", port=server[0].port, user="root", password=ROOT_PASSWORD, autocommit=True)
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            rows = list(cursor.fetchall())
    connection.close()
    return rows


def state(server: tuple[DatabaseEndpoint, Path]) -> dict[str, object]:
    schemas = [row[0] for row in sql(server, "SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT IN "
                                             "('information_schema', 'performance_schema', 'mysql', 'sys') ORDER BY 1")]
    tables = {}
    for schema in schemas:
        for (table,) in sql(server, f"SELECT table_name FROM information_schema.tables WHERE table_schema = '{schema}' ORDER BY 1"):
            tables[f"{schema}.{table}"] = sql(server, f"SELECT * FROM `{schema}`.`{table}` ORDER BY 1")
    return {"schemas": schemas, "tables": tables}


def test_a_load_over_stale_databases_ends_with_exactly_the_dump(servers: tuple) -> None:
    source, target = servers
    sql(source, "CREATE TABLE registry.models (id int PRIMARY KEY, name text)",
        "INSERT INTO registry.models VALUES (1, 'iris'), (2, 'fraud')", "CREATE DATABASE pipelines",
        "CREATE TABLE pipelines.runs (id int PRIMARY KEY, state text)", "INSERT INTO pipelines.runs VALUES (1, 'Succeeded')")
    # The target: the same databases, changed since, with a table the backup never saw.
    sql(target, "CREATE TABLE registry.models (id int PRIMARY KEY, name text)", "INSERT INTO registry.models VALUES (1, 'stale'), (7, 'new')",
        "CREATE TABLE registry.scratch (x int)", "CREATE DATABASE pipelines", "CREATE TABLE pipelines.leftover (y int)",
        "CREATE USER 'target_only'@'%' IDENTIFIED BY 'x'")
    dump_argv, load_argv, _ = commands("mariadb", [])
    dump = run(dump_argv, source)
    assert load_argv is not None
    run(load_argv, target, dump)
    assert state(target) == state(source)
    assert b"DROP DATABASE IF EXISTS `registry`" in dump and b"`mysql`" not in dump
    # The target server's own accounts are untouched: the mysql schema is not in the dump.
    assert sql(target, "SELECT user FROM mysql.user WHERE user = 'target_only'") == [("target_only",)]
