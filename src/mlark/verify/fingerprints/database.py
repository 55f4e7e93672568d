"""Databases: per table, the row count and a checksum of the content.

MariaDB/MySQL: `COUNT(*)` and `CHECKSUM TABLE` (the server's own content checksum).
PostgreSQL: `count(*)` and the md5 of the table's rows as text, in sorted order (so physical
order after a reload does not matter).
Redis: the key count of every logical database (`INFO keyspace`) and, for a sample of keys
chosen at backup time (the first SAMPLE_KEYS in sorted order of the first SCAN batches), the
type and a sha256 of the value, read with redis-cli by type (sets and hashes sorted). Keys with a
TTL that expire between backup and check show as a changed count.
Targets: the dumps of the restore point.
"""

from __future__ import annotations

import hashlib
from typing import Any

from mlark.apps.base import ObjectIndex
from mlark.apps.databases import Engine
from mlark.restorepoint.models import DatabaseCapture
from mlark.apps.databases import _login
from mlark.kube.exec import exec_capture
from mlark.verify.fingerprints.common import (SQL_TIMEOUT, Context, FingerprintError, pod_for, quote_identifier, run_sql,
                                              template_labels)
from mlark.verify.models import Fingerprint

_MARIADB_SYSTEM = ("information_schema", "performance_schema", "mysql", "sys")


def targets(context: Context) -> list[Fingerprint]:
    found: list[Fingerprint] = []
    for capture in context.manifest.databases:
        workload = capture.workload.name if capture.workload else capture.pod
        name = f"database {capture.namespace}/{workload}"
        if any(f.name == name for f in found):
            name += f"/{capture.container}"
        subject = _subject(capture, context.index)
        if capture.engine == "redis":
            sample = _redis_sample(context, subject)
            subject["sample" if isinstance(sample, dict) else "sample_error"] = sample
        found.append(Fingerprint(name=name, kind="database", namespace=capture.namespace, subject=subject, data={}))
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
    if engine == "redis":
        if subject.get("sample_error"):
            raise FingerprintError(f"no sample of keys could be chosen at backup time: {subject['sample_error']}")
        return {"engine": engine, **_redis_measure(context, namespace, pod, container, subject.get("sample") or {})}
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


# -- Redis ---------------------------------------------------------------------------------------

SAMPLE_KEYS = 20  # per logical database
SCAN_LIMIT = 10000  # keys listed to choose the sample from
_RECORD = "\x1e"  # starts each key's answer (ASCII record separator)
# One exec answers every sampled key of one logical database: $0 is the database, keys follow.
_REDIS_VALUES = (
    'db="$0"; for key in "$@"; do type=$(redis-cli -n "$db" TYPE "$key"); printf "\\036%s\\n" "$type"; case "$type" in '
    'string) redis-cli -n "$db" GET "$key";; hash) redis-cli -n "$db" HGETALL "$key";; '
    'list) redis-cli -n "$db" LRANGE "$key" 0 -1;; set) redis-cli -n "$db" SMEMBERS "$key";; '
    'zset) redis-cli -n "$db" ZRANGE "$key" 0 -1 WITHSCORES;; stream) redis-cli -n "$db" XRANGE "$key" - +;; '
    'esac || exit 1; done'
)


def _redis(context: Context, namespace: str, pod: str, container: str, script: str, args: list[str]) -> str:
    """Output of a redis-cli script run in the container, logged in as the dump is."""
    command = ["sh", "-c", _login("redis", None) + script, *args]
    result = exec_capture(context.api, namespace, pod, container, command, timeout=SQL_TIMEOUT)
    if result.returncode != 0:
        error = result.stderr.decode("utf-8", "replace").strip()[-400:] or result.message
        raise FingerprintError(f"redis-cli in pod {namespace}/{pod} (container {container}) failed: {error}")
    return result.text


def _keyspace(context: Context, namespace: str, pod: str, container: str) -> dict[str, int]:
    """Keys per logical database, from INFO keyspace ("db0:keys=3,expires=0,avg_ttl=0")."""
    counts = {}
    for line in _redis(context, namespace, pod, container, "redis-cli INFO keyspace", []).splitlines():
        name, sep, fields = line.strip().partition(":")
        if sep and name.startswith("db"):
            values = dict(field.split("=", 1) for field in fields.split(",") if "=" in field)
            counts[name] = int(values.get("keys", 0))
    return counts


def _redis_sample(context: Context, subject: dict[str, Any]) -> dict[str, list[str]] | str:
    """The keys to read again after a restore, per logical database; or why none could be chosen."""
    namespace, container = str(subject["namespace"]), str(subject["container"])
    try:
        pod = pod_for(context.api, namespace, subject.get("pod_labels") or {}, f"database {namespace}")
        sample = {}
        for name, count in _keyspace(context, namespace, pod, container).items():
            keys = _scan(context, namespace, pod, container, name[2:])
            if count and not keys:
                raise FingerprintError(f"{name} holds {count} keys but SCAN listed none")
            sample[name] = sorted(keys)[:SAMPLE_KEYS]
    except FingerprintError as error:
        return str(error)
    return sample


def _scan(context: Context, namespace: str, pod: str, container: str, db: str) -> set[str]:
    """Up to about SCAN_LIMIT keys, by SCAN batches (redis-cli prints the next cursor first)."""
    keys: set[str] = set()
    cursor = "0"
    for _ in range(10):
        lines = _redis(context, namespace, pod, container, 'redis-cli -n "$0" SCAN "$1" COUNT "$2"',
                       [db, cursor, str(SCAN_LIMIT)]).splitlines()
        if not lines:
            raise FingerprintError(f"SCAN of db{db} in {namespace}/{pod} answered nothing")
        cursor = lines[0].strip()
        keys.update(line for line in lines[1:] if line)
        if cursor == "0" or len(keys) >= SAMPLE_KEYS:
            break
    return keys


def _normalised(kind: str, lines: list[str]) -> str:
    """A value's lines in an order that does not depend on the server's encoding."""
    if kind == "set":
        lines = sorted(lines)
    elif kind == "hash":
        lines = [f"{field}\n{value}" for field, value in sorted(zip(lines[::2], lines[1::2]))]
    return "\n".join(lines)


def _redis_measure(context: Context, namespace: str, pod: str, container: str,
                   sample: dict[str, list[str]]) -> dict[str, Any]:
    values: dict[str, dict[str, str]] = {}
    for name, keys in sorted(sample.items()):
        if not keys:
            continue
        text = _redis(context, namespace, pod, container, _REDIS_VALUES, [name[2:], *keys])
        answers = text.split(_RECORD)[1:]
        if len(answers) != len(keys):
            raise FingerprintError(f"unexpected answer reading {len(keys)} keys of {name} in {namespace}/{pod}")
        for key, answer in zip(keys, answers):
            kind, _, value = answer.partition("\n")
            lines = value.split("\n")[:-1] if value.endswith("\n") else value.split("\n")
            values[f"{name}/{key}"] = {"type": kind, "sha256": hashlib.sha256(_normalised(kind, lines).encode()).hexdigest()}
    return {"keys": _keyspace(context, namespace, pod, container), "values": values}
