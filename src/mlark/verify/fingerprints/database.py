"""Databases: per table, the row count and a checksum of the content.

MariaDB/MySQL: `COUNT(*)` and `CHECKSUM TABLE` (the server's own content checksum).
PostgreSQL: `count(*)` and the md5 of the table's rows as text, in sorted order (so physical
order after a reload does not matter). Targets: the dumps of the restore point.
"""

from __future__ import annotations

from typing import Any

from mlark.apps.base import ObjectIndex
from mlark.apps.databases import Engine
from mlark.restorepoint.models import DatabaseCapture
from mlark.verify.fingerprints.common import Context, FingerprintError, pod_for, quote_identifier, run_sql, template_labels
from mlark.verify.models import Fingerprint

_MARIADB_SYSTEM = ("information_schema", "performance_schema", "mysql", "sys")


def targets(context: Context) -> list[Fingerprint]:
    found: list[Fingerprint] = []
    for capture in context.manifest.databases:
        if capture.engine not in ("mariadb", "mysql", "postgres"):
            continue  # Redis has no tables
        workload = capture.workload.name if capture.workload else capture.pod
        name = f"database {capture.namespace}/{workload}"
        if any(f.name == name for f in found):
            name += f"/{capture.container}"
        found.append(Fingerprint(name=name, kind="database", namespace=capture.namespace,
                                 subject=_subject(capture, context.index), data={}))
    return found


def _subject(capture: DatabaseCapture, index: ObjectIndex) -> dict[str, Any]:
    workload = index.get(capture.workload) if capture.workload else None
    return {
        "namespace": capture.namespace, "workload": capture.workload.model_dump() if capture.workload else None,
        "pod_labels": template_labels(workload), "pod": capture.pod, "container": capture.container,
        "engine": capture.engine, "databases": list(capture.databases),
    }


def measure(context: Context, fingerprint: Fingerprint) -> dict[str, Any]:
    subject = fingerprint.subject
    namespace, engine = str(subject["namespace"]), subject["engine"]
    pod = pod_for(context.api, namespace, subject.get("pod_labels") or {}, f"database {namespace}")
    container = str(subject["container"])
    if engine == "postgres":
        tables = _postgres_tables(context, namespace, pod, container, list(subject.get("databases") or []))
    else:
        tables = _mariadb_tables(context, namespace, pod, container, engine, list(subject.get("databases") or []))
    return {"engine": engine, "tables": tables}


def _mariadb_tables(context: Context, namespace: str, pod: str, container: str, engine: Engine,
                    databases: list[str]) -> dict[str, dict[str, Any]]:
    schemas = databases or [row[0] for row in run_sql(context.api, namespace, pod, container, engine, "SHOW DATABASES")
                            if row[0] not in _MARIADB_SYSTEM]
    if not schemas:
        return {}
    listed = ", ".join("'" + name.replace("\\", "\\\\").replace("'", "\\'") + "'" for name in schemas)
    names = [f"{schema}.{table}" for schema, table in run_sql(
        context.api, namespace, pod, container, engine,
        f"SELECT table_schema, table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
        f"AND table_schema IN ({listed}) ORDER BY 1, 2")]
    if not names:
        return {}
    statements = []
    for name in names:
        qualified = ".".join(quote_identifier(part, engine) for part in name.split(".", 1))
        statements.append(f"SELECT COUNT(*) FROM {qualified}; CHECKSUM TABLE {qualified};")
    rows = run_sql(context.api, namespace, pod, container, engine, " ".join(statements))
    # Two rows per table, in order: [count], [name, checksum].
    if len(rows) != 2 * len(names):
        raise FingerprintError(f"unexpected answer counting {len(names)} tables in {namespace}/{pod}: {rows[:4]}")
    return {name: {"rows": int(rows[2 * i][0]), "checksum": rows[2 * i + 1][-1]} for i, name in enumerate(names)}


def _postgres_tables(context: Context, namespace: str, pod: str, container: str,
                     databases: list[str]) -> dict[str, dict[str, Any]]:
    if not databases:
        databases = [row[0] for row in run_sql(context.api, namespace, pod, container, "postgres",
                                               "SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1", "postgres")]
    tables: dict[str, dict[str, Any]] = {}
    for database in databases:
        tables.update(_postgres_database(context, namespace, pod, container, database))
    return tables


def _postgres_database(context: Context, namespace: str, pod: str, container: str, database: str) -> dict[str, dict[str, Any]]:
    names = run_sql(context.api, namespace, pod, container, "postgres",
                    "SELECT schemaname, tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') "
                    "ORDER BY 1, 2", database)
    if not names:
        return {}
    parts = []
    for schema, table in names:
        qualified = f"{quote_identifier(schema, 'postgres')}.{quote_identifier(table, 'postgres')}"
        label = f"{database}.{schema}.{table}".replace("'", "''")
        # Rows as text, sorted: the checksum does not depend on where a reload put each row.
        parts.append(f"SELECT '{label}', count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) "
                     f"FROM {qualified} t")
    rows = run_sql(context.api, namespace, pod, container, "postgres", " UNION ALL ".join(parts), database)
    return {row[0]: {"rows": int(row[1]), "checksum": row[2]} for row in rows}
