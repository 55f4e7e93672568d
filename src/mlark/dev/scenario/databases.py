"""The scenario's databases, reached the way an operator would: `kubectl exec` into the database
container and run its own client with the credentials in the container's environment."""

from __future__ import annotations

import shlex

from kubernetes.client import ApiClient

from mlark.dev.scenario.kube import ScenarioError, wait_for
from mlark.dev.scenario.pods import exec_checked, pod_exec, running_pod
from mlark.dev.scenario.spec import DatabaseRef

# The official MariaDB/PostgreSQL images keep the application credentials in these variables.
MARIADB_LOGIN = 'exec {tool} --user="$MYSQL_USER" --password="$MYSQL_PASSWORD" {args} "$MYSQL_DATABASE"'
POSTGRES_LOGIN = 'PGPASSWORD="$POSTGRES_PASSWORD" exec {tool} --username="$POSTGRES_USER" {args} --dbname="$POSTGRES_DB"'


def client_command(db: DatabaseRef, tool: str = "", args: str = "") -> list[str]:
    """argv for running the database's client (or dump tool) inside its container."""
    if db.engine == "mariadb":
        return ["sh", "-c", MARIADB_LOGIN.format(tool=tool or "mariadb", args=args)]
    if db.engine == "postgresql":
        return ["sh", "-c", POSTGRES_LOGIN.format(tool=tool or "psql", args=args)]
    raise ScenarioError(f"unknown database engine {db.engine}")


def db_pod(api: ApiClient, db: DatabaseRef) -> str:
    return running_pod(api, db.namespace, db.pod_selector)


def query(api: ApiClient, db: DatabaseRef, sql: str) -> str:
    """Run one statement; tab-separated rows without headers."""
    args = "--batch --skip-column-names -e " + shlex.quote(sql) if db.engine == "mariadb" else "-At -F '\t' -c " + shlex.quote(sql)
    return exec_checked(api, db.namespace, db_pod(api, db), db.container, client_command(db, args=args))


def run_script(api: ApiClient, db: DatabaseRef, sql: str) -> str:
    return exec_checked(api, db.namespace, db_pod(api, db), db.container, client_command(db), stdin=sql)


def dump(api: ApiClient, db: DatabaseRef) -> str:
    tool = "mariadb-dump" if db.engine == "mariadb" else "pg_dump"
    args = "--single-transaction" if db.engine == "mariadb" else ""
    return exec_checked(api, db.namespace, db_pod(api, db), db.container, client_command(db, tool=tool, args=args))


def wait_ready(api: ApiClient, db: DatabaseRef, timeout: float = 180.0) -> None:
    """A Running pod is not yet a database that accepts logins: ask it until it answers."""
    probe = "--batch -e 'SELECT 1'" if db.engine == "mariadb" else "-c 'SELECT 1'"

    def answers() -> bool:
        try:
            pod = db_pod(api, db)
        except ScenarioError:
            return False
        return pod_exec(api, db.namespace, pod, db.container, client_command(db, args=probe), timeout=30).returncode == 0

    wait_for(f"database {db.database} in {db.namespace} to accept logins", answers, timeout, 2)
