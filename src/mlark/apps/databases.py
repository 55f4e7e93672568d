"""Database containers, and the commands that dump and load them through `kubectl exec`.

Detection reads the image name (`rhel9/mariadb-1011`, `postgres:16`, `bitnami/redis`).
Commands run in the database's own container with its own client, as `sh -c` scripts that
take credentials from the container's environment (or, for a declared Secret, from the first
line of stdin), so no password is ever in the plan, an argv, or a log.

What each dump is, so that a load ends with exactly the dumped data on a fresh server and over
one holding stale copies (docs/backup-and-restore.md, "Databases", shows a dump):
- PostgreSQL (`PG_TOOL`, format mlark-pg/2): one psql script, loaded by a superuser connected to
  template1. It checks that login first; then the roles of `pg_dumpall --roles-only`, created
  only where missing and altered, never dropped (the dumping login is created if missing and
  never altered, so the target container keeps its own superuser password; pg_* roles are
  built in); then per database a DROP DATABASE ... WITH (FORCE) and pg_dump --create's output.
  Every database that accepts connections is dumped (`postgres` too), or the declared ones.
  Older restore points (`pg_dumpall --clean`) are rewritten while loading: restore/databases.py.
- MariaDB/MySQL (`MARIADB_TOOL`): mariadb-dump --single-transaction --add-drop-database of every
  user database (never the `mysql` schema: its accounts belong to the target server).
- Redis: an RDB snapshot fetched with `redis-cli --rdb`. Redis cannot load one over a connection:
  the restore writes it into the (new) data volume before the server starts (`redis_data_file`
  says where), also in the AOF's place when the server runs with appendonly on.
PostgreSQL and MariaDB dumps are logical and consistent (one transaction per database).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel

from mlark.apps.base import Obj, dig
from mlark.apps.workloads import WORKLOAD_KINDS, pod_spec_of
from mlark.plan.models import DatabaseCredentials, DeclaredDatabase, SecretKeyRef
from mlark.restorepoint.models import ObjectRef

Engine = Literal["mariadb", "mysql", "postgres", "redis"]
_ENGINE_TOKENS: dict[str, Engine] = {"mariadb": "mariadb", "mysql": "mysql", "postgres": "postgres", "postgresql": "postgres", "redis": "redis"}
# Images named after a database that are not one: exporters, proxies, operators, sentinels.
_NOT_A_SERVER = {"exporter", "operator", "proxy", "pgbouncer", "client", "sentinel", "backup", "router", "shell"}
_DATA_MOUNTS = ("/var/lib/mysql", "/var/lib/pgsql", "/var/lib/postgresql", "/data", "/bitnami")


class DatabaseTarget(BaseModel):
    """One database container to dump, and how (pure data: the orchestration runs it)."""

    namespace: str
    workload: ObjectRef | None  # the Deployment/StatefulSet (or bare Pod) running it
    pod_labels: dict[str, str] = {}  # to find a running pod of the workload
    container: str
    engine: Engine
    image: str = ""
    databases: list[str] = []  # empty: every user database
    claim: str | None = None  # the PVC holding its data files
    dump_command: list[str]
    load_command: list[str] | None  # None: cannot be loaded by exec (Redis)
    password_stdin: SecretKeyRef | None = None  # write this Secret value + "\n" first on stdin
    tool: str  # for DatabaseCapture.tool
    declared: bool = False


def engine_of(image: str) -> Engine | None:
    """The engine an image runs, from the last path segment of its name (tag ignored)."""
    repository = image.split("@")[0].rsplit("/", 1)[-1].split(":")[0].lower()
    tokens = set(re.split(r"[-_.]", repository))
    if tokens & _NOT_A_SERVER:
        return None
    return next((_ENGINE_TOKENS[token] for token in re.split(r"[-_.]", repository) if token in _ENGINE_TOKENS), None)


# --- commands --------------------------------------------------------------------------------

_MARIADB_TOOLS = 'client=$(command -v mariadb || command -v mysql); dump=$(command -v mariadb-dump || command -v mysqldump); '
_MARIADB_LOGIN = (
    _MARIADB_TOOLS + 'user=root; pw="${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}"; '
    'if [ -n "$pw" ]; then export MYSQL_PWD="$pw"; fi; '
    # Images without a root password (the DSPA's) may still refuse root: fall back to the app user.
    'if ! "$client" -u root -e "SELECT 1" >/dev/null 2>&1 && [ -n "${MYSQL_USER:-}" ]; then '
    'user="$MYSQL_USER"; export MYSQL_PWD="${MYSQL_PASSWORD:-}"; fi; '
)
_POSTGRES_LOGIN = (
    # The first superuser login that works, as each image family provides it: official image
    # (POSTGRES_USER/POSTGRES_PASSWORD), Bitnami (postgres with POSTGRESQL_POSTGRES_PASSWORD, or
    # POSTGRESQL_USERNAME/POSTGRESQL_PASSWORD), Red Hat (postgres with POSTGRESQL_ADMIN_PASSWORD),
    # then local socket login as PGUSER/postgres (CloudNativePG, Red Hat without an admin
    # password: peer authentication). Without any, the application user (POSTGRESQL_USER).
    'pg_super() { [ "$(PGPASSWORD="$2" psql -X -w -A -t -U "$1" --dbname=template1 '
    '-c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user" 2>/dev/null)" = t ]; }; '
    'pg_pick() { if [ -z "$user" ] && [ -n "$1" ] && pg_super "$1" "$2"; then user="$1"; export PGPASSWORD="$2"; fi; }; '
    'user=; '
    'pg_pick "${POSTGRES_USER:-}" "${POSTGRES_PASSWORD:-${PGPASSWORD:-}}"; '
    'pg_pick postgres "${POSTGRESQL_POSTGRES_PASSWORD:-}"; '
    'pg_pick postgres "${POSTGRESQL_ADMIN_PASSWORD:-}"; '
    'pg_pick "${POSTGRESQL_USERNAME:-${POSTGRESQL_PASSWORD:+postgres}}" "${POSTGRESQL_PASSWORD:-}"; '
    'pg_pick "${PGUSER:-postgres}" "${PGPASSWORD:-}"; '
    'if [ -z "$user" ]; then '
    'if [ -n "${POSTGRESQL_USER:-}" ]; then user="$POSTGRESQL_USER"; export PGPASSWORD="${POSTGRESQL_PASSWORD:-}"; '
    'else user="${POSTGRES_USER:-${PGUSER:-postgres}}"; export PGPASSWORD="${POSTGRES_PASSWORD:-${PGPASSWORD:-}}"; fi; fi; '
)
_REDIS_LOGIN = 'if [ -n "${REDIS_PASSWORD:-}" ]; then export REDISCLI_AUTH="$REDIS_PASSWORD"; fi; '
_PASSWORD_VARIABLE = {"mariadb": "MYSQL_PWD", "mysql": "MYSQL_PWD", "postgres": "PGPASSWORD", "redis": "REDISCLI_AUTH"}
_DEFAULT_USER = {"mariadb": "root", "mysql": "root", "postgres": "postgres", "redis": ""}
_MARIADB_SYSTEM = "information_schema|performance_schema|mysql|sys"


def _declared_login(engine: Engine, credentials: DatabaseCredentials) -> str:
    """Login from the plan's declaration: variable names only; a Secret value arrives on stdin."""
    user = credentials.user
    if user is not None and user.value is not None:
        login = f"user={shlex.quote(user.value)}; "
    elif user is not None and user.env is not None:
        login = f'user="${{{user.env}:-}}"; '
    else:
        login = f"user={_DEFAULT_USER[engine]}; "
    variable, password = _PASSWORD_VARIABLE[engine], credentials.password
    if password is not None and password.env is not None:
        login += f'export {variable}="${{{password.env}:-}}"; '
    elif password is not None:
        login += f"IFS= read -r {variable}; export {variable}; "
    return (_MARIADB_TOOLS if engine in ("mariadb", "mysql") else "") + login


def _login(engine: Engine, credentials: DatabaseCredentials | None) -> str:
    if credentials is not None:
        return _declared_login(engine, credentials)
    return {"mariadb": _MARIADB_LOGIN, "mysql": _MARIADB_LOGIN, "postgres": _POSTGRES_LOGIN}.get(engine, _REDIS_LOGIN)


# --add-drop-database: each dumped database is dropped and recreated by the load, so a load over
# a server with stale data ends with exactly the dumped tables, views, routines and events.
MARIADB_TOOL = "mariadb-dump --single-transaction --add-drop-database"
_MARIADB_DUMP = 'exec "$dump" -u "$user" --single-transaction --add-drop-database --routines --triggers --events --databases'


def _mariadb_dump(databases: list[str]) -> str:
    if databases:
        return f"{_MARIADB_DUMP} {_quoted(databases)}"
    # Every user database, not --all-databases: loading `mysql` over a running server would
    # replace its users; the restored container recreates them from its environment.
    return (
        f'dbs=$("$client" -u "$user" -N -B -e "SHOW DATABASES" | grep -Ev "^({_MARIADB_SYSTEM})$") || true; '
        'if [ -z "$dbs" ]; then echo "-- no user database"; exit 0; fi; '
        f"{_MARIADB_DUMP} $dbs"
    )


# PostgreSQL dump, format 2: a psql script that a superuser loads connected to template1.
# 1. a check that the loading login is a superuser (else it stops before changing anything);
# 2. the roles (pg_dumpall --roles-only): CREATE ROLE only where missing, then ALTER ROLE, so a
#    load over an existing server updates them; the dumping login itself is created only if
#    missing and never altered (its password is the target container's own); pg_* roles are
#    built in and never dumped;
# 3. per database: DROP DATABASE ... WITH (FORCE) from template1 (stale content and sessions
#    go), then pg_dump --create's own CREATE DATABASE (owner, encoding, locale, settings) and data.
PG_FORMAT = "mlark-pg/2"
PG_TOOL = f"{PG_FORMAT}: pg_dumpall --roles-only, then pg_dump --create per database"
# Restore points of earlier versions (still understood: see restore/databases.py).
PG_LEGACY_ALL = "pg_dumpall --clean"
PG_LEGACY_NAMED = "pg_dump --create --clean"

_PG_PREAMBLE = f"""-- {PG_FORMAT} (mlark PostgreSQL dump): roles, then each database dropped, recreated and restored.
-- Load it as a superuser:  psql -X -v ON_ERROR_STOP=1 --dbname=template1 < this-file
SELECT rolsuper AS mlark_superuser FROM pg_roles WHERE rolname = current_user \\gset
\\if :mlark_superuser
\\else
DO $mlark$ BEGIN RAISE EXCEPTION 'mlark: this dump drops and recreates databases and roles: load it as a superuser, not %', current_user; END $mlark$;
\\endif
"""
# Per database, the statements that empty the server of it before pg_dump --create recreates it.
_PG_DROP_SQL = (
    "SELECT format(E'\\\\connect template1\\n"
    "SELECT current_setting(''server_version_num'')::int >= 130000 AS mlark_force \\\\gset\\n"
    "\\\\if :mlark_force\\nDROP DATABASE IF EXISTS %I WITH (FORCE);\\n\\\\else\\n"
    "SELECT count(pg_terminate_backend(pid)) AS mlark_ended FROM pg_stat_activity WHERE datname = %L "
    "AND pid <> pg_backend_pid() \\\\gset\\nDROP DATABASE IF EXISTS %I;\\n\\\\endif', :'db', :'db', :'db');"
)
_PG_CREATE_IF_MISSING = r"s/^CREATE ROLE \(.*\);$/DO $mlark$ BEGIN CREATE ROLE \1; EXCEPTION WHEN duplicate_object THEN NULL; END $mlark$;/"


def _postgres_dump(databases: list[str]) -> str:
    listed = f"printf '%s\\n' {_quoted(databases)}" if databases else (
        'q -c "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname"')
    return (
        "set -e; "
        'q() { psql -X -w -A -t -q -v ON_ERROR_STOP=1 -U "$user" --dbname=template1 "$@"; }; '
        f"cat <<'MLARK_SQL'\n{_PG_PREAMBLE}MLARK_SQL\n"
        'me=$(q -c "SELECT quote_ident(current_user)"); '
        'if [ "$(q -c "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" = t ]; then '
        'roles=$(pg_dumpall -U "$user" -l template1 --roles-only); '
        "else roles=$(pg_dumpall -U \"$user\" -l template1 --roles-only --no-role-passwords); fi; "
        "printf '%s\\n' \"DO \\$mlark\\$ BEGIN CREATE ROLE $me SUPERUSER LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END \\$mlark\\$;\"; "
        f"printf '%s\\n' \"$roles\" | grep -v -F -e \"ALTER ROLE $me WITH \" | sed -e {shlex.quote(_PG_CREATE_IF_MISSING)}; "
        f"dbs=$({listed}); "
        "printf '%s\\n' \"$dbs\" | while IFS= read -r db; do [ -n \"$db\" ] || continue; "
        f"q -v db=\"$db\" <<'MLARK_SQL'\n{_PG_DROP_SQL}\nMLARK_SQL\n"
        'pg_dump -U "$user" --create -d "$db"; done'
    )


def _postgres_load(database: str) -> str:
    return f'exec psql -X -U "$user" -v ON_ERROR_STOP=1 --quiet --dbname={database}'


def legacy_pg_dumpall_load() -> list[str]:
    """Load of a pg_dumpall script: connected to `postgres`, as it expects (it drops and
    recreates template1 from there)."""
    return ["sh", "-c", _POSTGRES_LOGIN + _postgres_load("postgres")]


def _quoted(names: list[str]) -> str:
    return " ".join(shlex.quote(name) for name in names)


# Redis writes an RDB snapshot over its replication protocol; progress goes to stderr.
_REDIS_DUMP = 'f=$(mktemp) && redis-cli --rdb "$f" >&2 && cat "$f"; status=$?; rm -f "$f"; exit $status'


def commands(engine: Engine, databases: list[str], credentials: DatabaseCredentials | None = None) -> tuple[list[str], list[str] | None, str]:
    """(dump argv, load argv or None, tool description) for an engine."""
    login = _login(engine, credentials)
    if engine in ("mariadb", "mysql"):
        return ["sh", "-c", login + _mariadb_dump(databases)], ["sh", "-c", login + 'exec "$client" -u "$user"'], MARIADB_TOOL
    if engine == "postgres":
        load = login + _postgres_load("template1")
        return ["sh", "-c", login + _postgres_dump(databases)], ["sh", "-c", load], PG_TOOL
    return ["sh", "-c", login + _REDIS_DUMP], None, "redis-cli --rdb"


# --- detection -------------------------------------------------------------------------------


def _claims(workload: Mapping[str, Any] | None, pod_spec: Mapping[str, Any]) -> dict[str, str]:
    """Pod volume name -> PVC name; a StatefulSet's claim templates give the first replica's
    claim (<template>-<statefulset>-0), the one whose data is dumped and restored."""
    claims = {v.get("name"): dig(v, "persistentVolumeClaim", "claimName") for v in pod_spec.get("volumes") or []}
    if workload is not None and workload.get("kind") == "StatefulSet":
        name = dig(workload, "metadata", "name")
        for template in dig(workload, "spec", "volumeClaimTemplates") or []:
            template_name = dig(template, "metadata", "name")
            claims.setdefault(template_name, f"{template_name}-{name}-0")
    return {volume: claim for volume, claim in claims.items() if claim}


def _data_claim(pod_spec: Mapping[str, Any], container: Mapping[str, Any], workload: Mapping[str, Any] | None = None) -> str | None:
    """The PVC mounted where the engine keeps its files, if any."""
    claims = _claims(workload, pod_spec)
    for mount in container.get("volumeMounts") or []:
        if str(mount.get("mountPath", "")).startswith(_DATA_MOUNTS) and claims.get(mount.get("name")):
            return claims[mount["name"]]
    return None


class RedisDataFile(BaseModel):
    """Where a Redis container reads its data at start, as paths inside its data PVC."""

    claim: str
    path: str  # the RDB, relative to the volume's root, e.g. "dump.rdb" or "data/dump.rdb"
    # With appendonly on, Redis loads its AOF instead of the RDB: an RDB in the old single-file
    # AOF's place is read as its preamble (Redis 5, 6) or migrated as the AOF base (Redis 7).
    aof_path: str | None = None
    uid: int = 0  # owner the server can rewrite them as (the pod's runAsUser / fsGroup)
    gid: int = 0


def _env_value(container: Mapping[str, Any], name: str) -> str | None:
    return next((str(v.get("value")) for v in container.get("env") or [] if v.get("name") == name and "value" in v), None)


def _redis_option(container: Mapping[str, Any], name: str) -> str | None:
    words = [str(word) for word in [*(container.get("command") or []), *(container.get("args") or [])]]
    for index, word in enumerate(words[:-1]):
        if word == f"--{name}":
            return words[index + 1]
    return None


def redis_data_file(workload: Mapping[str, Any] | None, container_name: str) -> RedisDataFile | None:
    """The RDB file of a Redis container: its `--dir` (default: the image's data directory,
    /bitnami/redis/data for Bitnami, /data for the official image, which starts there) and
    `--dbfilename` (default dump.rdb), inside the PVC mounted there. None: no PVC holds it."""
    pod_spec = (pod_spec_of(workload) or {}) if workload else {}
    container = next((c for c in pod_spec.get("containers") or [] if c.get("name") == container_name), None)
    if container is None:
        return None
    image = str(container.get("image", ""))
    directory = _redis_option(container, "dir") or ("/bitnami/redis/data" if "bitnami" in image else "/data")
    filename = _redis_option(container, "dbfilename") or "dump.rdb"
    bitnami_aof = (_env_value(container, "REDIS_AOF_ENABLED") or "yes") if "bitnami" in image else "no"
    appendonly = (_redis_option(container, "appendonly") or bitnami_aof) == "yes"
    aof_name = _redis_option(container, "appendfilename") or "appendonly.aof"
    claims = _claims(workload, pod_spec)
    mounts = [m for m in container.get("volumeMounts") or [] if claims.get(m.get("name"))
              and (directory + "/").startswith(str(m.get("mountPath", "")).rstrip("/") + "/")]
    if not mounts:
        return None
    mount = max(mounts, key=lambda m: len(str(m.get("mountPath", ""))))
    inside = directory[len(str(mount["mountPath"]).rstrip("/")):].strip("/")
    prefix = [part for part in (str(mount.get("subPath") or "").strip("/"), inside) if part]
    path = "/".join([*prefix, filename])
    security = {**(pod_spec.get("securityContext") or {}), **(container.get("securityContext") or {})}
    uid = int(security.get("runAsUser") or 0)
    gid = int((pod_spec.get("securityContext") or {}).get("fsGroup") or security.get("runAsGroup") or 0)
    return RedisDataFile(claim=claims[mount["name"]], path=path, aof_path="/".join([*prefix, aof_name]) if appendonly else None,
                         uid=uid, gid=gid)


def _pod_labels(obj: Mapping[str, Any]) -> dict[str, str]:
    if obj.get("kind") == "Pod":
        return dict(dig(obj, "metadata", "labels") or {})
    return dict(dig(obj, "spec", "selector", "matchLabels") or dig(obj, "spec", "template", "metadata", "labels") or {})


def detect_databases(obj: Obj) -> list[DatabaseTarget]:
    """Database containers of a workload (or of a Pod no controller owns: the controller's
    template is detected instead, so each database is found once)."""
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    if (group, obj.get("kind")) not in WORKLOAD_KINDS or obj.get("kind") in ("ReplicaSet", "Job", "CronJob"):
        return []
    if obj.get("kind") == "Pod" and any(ref.get("controller") for ref in dig(obj, "metadata", "ownerReferences") or []):
        return []
    pod_spec = pod_spec_of(obj) or {}
    found = []
    for container in pod_spec.get("containers") or []:
        engine = engine_of(str(container.get("image", "")))
        if engine is None:
            continue
        dump, load, tool = commands(engine, [])
        found.append(
            DatabaseTarget(
                namespace=obj["metadata"].get("namespace", ""), workload=ObjectRef.of(obj), pod_labels=_pod_labels(obj),
                container=container["name"], engine=engine, image=container.get("image", ""),
                claim=_data_claim(pod_spec, container, obj), dump_command=dump, load_command=load, tool=tool,
            )
        )
    return found


def declared_target(declared: DeclaredDatabase, workload: Obj | None = None) -> DatabaseTarget:
    """A database the plan names. `workload` (its manifest, when captured) gives the default
    container, the image and the data PVC."""
    pod_spec = (pod_spec_of(workload) or {}) if workload else {}
    containers = pod_spec.get("containers") or []
    container_name = declared.container or (containers[0]["name"] if containers else "")
    container = next((c for c in containers if c.get("name") == container_name), {})
    password = declared.credentials.password if declared.credentials else None
    secret = password.secret_key_ref if password else None
    dump, load, tool = commands(declared.engine, list(declared.databases), declared.credentials)
    labels = _pod_labels(workload) if workload else dict(declared.pod_selector.match_labels if declared.pod_selector else {})
    return DatabaseTarget(
        namespace=declared.namespace, workload=ObjectRef.of(workload) if workload else _declared_ref(declared),
        pod_labels=labels, container=container_name, engine=declared.engine, image=container.get("image", ""),
        databases=list(declared.databases), claim=_data_claim(pod_spec, container, workload) if container else None,
        dump_command=dump, load_command=load, tool=tool, declared=True,
        password_stdin=secret.model_copy(update={"namespace": secret.namespace or declared.namespace}) if secret else None,
    )


def _declared_ref(declared: DeclaredDatabase) -> ObjectRef | None:
    if declared.workload is None:
        return None
    group = "" if declared.workload.kind == "Pod" else "apps"
    return ObjectRef(group=group, version="v1", kind=declared.workload.kind, namespace=declared.namespace, name=declared.workload.name)
