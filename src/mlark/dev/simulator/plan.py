"""Pure planning: from a pod and what it refers to, what to run locally and where exec goes."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

Manifest = Mapping[str, Any]


class ProcessKind(str, enum.Enum):
    mariadb = "mariadb"
    postgres = "postgres"
    redis = "redis"
    mlserver = "mlserver"


# Where each database image keeps its data, as the official images do.
DATA_MOUNTS = {
    ProcessKind.mariadb: ("/var/lib/mysql",),
    ProcessKind.postgres: ("/var/lib/postgresql/data", "/var/lib/postgresql", "/var/lib/pgsql/data"),
}
# Redis keeps its files in its working directory: /data in the official image (its WORKDIR),
# /bitnami/redis/data in Bitnami's; `--dir` in the container's arguments overrides both.
REDIS_DIRS = {"official": "/data", "bitnami": "/bitnami/redis/data"}
CONTAINER_PORTS = {ProcessKind.mariadb: 3306, ProcessKind.postgres: 5432, ProcessKind.redis: 6379, ProcessKind.mlserver: 8080}
_NOT_A_REDIS_SERVER = ("sentinel", "exporter", "operator", "proxy")
STORAGE_INITIALIZER = "storage-initializer"


class ProcessPlan(BaseModel):
    """One real local process standing in for one container."""

    kind: ProcessKind
    container: str
    data_dir: str | None = None
    env: dict[str, str]
    model_uri: str | None = None
    initializer_env: dict[str, str] = {}


class ExecPlan(BaseModel):
    container: str
    work_dir: str
    env: dict[str, str]


class PodPlan(BaseModel):
    namespace: str
    name: str
    uid: str
    processes: list[ProcessPlan]
    execs: list[ExecPlan]


class Unresolvable(Exception):
    """The pod refers to something that does not exist yet (a Secret key, a bound PVC)."""


def process_kind(image: str) -> ProcessKind | None:
    """Which real process stands in for a container, judged by its image like a human would."""
    lowered = image.lower().rsplit("/", 1)[-1]
    if "mariadb" in lowered or "mysql" in lowered:
        return ProcessKind.mariadb
    if "postgres" in lowered or "pgvector" in lowered:
        return ProcessKind.postgres
    if "redis" in lowered and not any(word in lowered for word in _NOT_A_REDIS_SERVER):
        return ProcessKind.redis
    if "mlserver" in lowered:
        return ProcessKind.mlserver
    return None


def resolve_env(
    container: Manifest,
    secrets: Mapping[str, Mapping[str, str]],
    config_maps: Mapping[str, Mapping[str, str]],
) -> dict[str, str]:
    """The container's environment as the kubelet would compute it (envFrom, then env)."""
    result: dict[str, str] = {}
    for source in container.get("envFrom") or []:
        prefix = source.get("prefix", "")
        for key, value in _from_reference(source, secrets, config_maps).items():
            result[prefix + key] = value
    for variable in container.get("env") or []:
        if "valueFrom" not in variable:
            result[variable["name"]] = str(variable.get("value", ""))
            continue
        value = _value_from(variable["valueFrom"], secrets, config_maps)
        if value is not None:
            result[variable["name"]] = value
    return result


def _from_reference(source: Manifest, secrets: Mapping, config_maps: Mapping) -> Mapping[str, str]:
    for field, store in (("secretRef", secrets), ("configMapRef", config_maps)):
        reference = source.get(field)
        if reference is None:
            continue
        if reference["name"] in store:
            return store[reference["name"]]
        if reference.get("optional"):
            return {}
        raise Unresolvable(f"{field} {reference['name']} not found")
    return {}


def _value_from(value_from: Manifest, secrets: Mapping, config_maps: Mapping) -> str | None:
    for field, store in (("secretKeyRef", secrets), ("configMapKeyRef", config_maps)):
        reference = value_from.get(field)
        if reference is None:
            continue
        value = store.get(reference["name"], {}).get(reference["key"])
        if value is None and not reference.get("optional"):
            raise Unresolvable(f"{field} {reference['name']}/{reference['key']} not found")
        return value
    return None  # fieldRef / resourceFieldRef: nothing the local processes need


def mount_dir(container: Manifest, path: str, volume_dirs: Mapping[str, str]) -> str | None:
    """The local directory behind `path` in the container, if a volume is mounted there."""
    for mount in container.get("volumeMounts") or []:
        if mount["mountPath"].rstrip("/") == path.rstrip("/") and mount["name"] in volume_dirs:
            base = volume_dirs[mount["name"]]
            sub_path = mount.get("subPath")
            return f"{base}/{sub_path}" if sub_path else base
    return None


def plan_pod(
    pod: Manifest,
    volume_dirs: Mapping[str, str],
    scratch_dir: str,
    secrets: Mapping[str, Mapping[str, str]],
    config_maps: Mapping[str, Mapping[str, str]],
) -> PodPlan:
    """Decide what runs for `pod`. volume_dirs maps pod volume names to local directories."""
    spec = pod["spec"]
    processes: list[ProcessPlan] = []
    execs: list[ExecPlan] = []
    initializer = next((c for c in spec.get("initContainers") or [] if c["name"] == STORAGE_INITIALIZER), None)
    for container in spec.get("containers") or []:
        env = resolve_env(container, secrets, config_maps)
        kind = process_kind(container.get("image", ""))
        process = _process_plan(kind, container, env, volume_dirs, initializer, secrets, config_maps)
        if process is not None:
            processes.append(process)
        work_dir = mount_dir(container, container.get("workingDir", ""), volume_dirs) if container.get("workingDir") else None
        execs.append(ExecPlan(container=container["name"], work_dir=work_dir or scratch_dir, env=env))
    metadata = pod["metadata"]
    return PodPlan(namespace=metadata["namespace"], name=metadata["name"], uid=metadata["uid"], processes=processes, execs=execs)


def _process_plan(
    kind: ProcessKind | None,
    container: Manifest,
    env: dict[str, str],
    volume_dirs: Mapping[str, str],
    initializer: Manifest | None,
    secrets: Mapping,
    config_maps: Mapping,
) -> ProcessPlan | None:
    if kind is None:
        return None
    if kind is ProcessKind.mlserver:
        if initializer is None or not initializer.get("args"):
            return None  # a model server with nothing to load stays a fake container
        return ProcessPlan(
            kind=kind, container=container["name"], env=env, model_uri=initializer["args"][0],
            initializer_env=resolve_env(initializer, secrets, config_maps),
        )
    if kind is ProcessKind.redis:
        return redis_plan(container, env, volume_dirs)
    data_dir = next((d for path in DATA_MOUNTS[kind] if (d := mount_dir(container, path, volume_dirs))), None)
    return ProcessPlan(kind=kind, container=container["name"], data_dir=data_dir, env=env)


def expand(word: str, env: Mapping[str, str]) -> str:
    """A command or argument word as the kubelet expands it: $(VAR) from the container's
    environment ($$ escapes, an unknown variable stays as written)."""
    return re.sub(r"\$(\$|\(([A-Za-z_][A-Za-z0-9_]*)\))",
                  lambda m: "$" if m.group(1) == "$" else env.get(m.group(2), m.group(0)), word)


def redis_plan(container: Manifest, env: dict[str, str], volume_dirs: Mapping[str, str]) -> ProcessPlan:
    """A Redis as its image runs it: Bitnami's takes REDIS_PASSWORD; the official image takes
    only its arguments (`redis-server --requirepass $(REDIS_PASSWORD)`): a REDIS_PASSWORD that
    no argument uses sets no password there."""
    words = [expand(str(word), env) for word in [*(container.get("command") or []), *(container.get("args") or [])]]
    options = {words[i][2:]: words[i + 1] for i in range(len(words) - 1) if words[i].startswith("--")}
    bitnami = "bitnami" in str(container.get("image", "")).lower()
    password = env.get("REDIS_PASSWORD", "") if bitnami else ""
    password = options.get("requirepass", password)
    directory = options.get("dir") or REDIS_DIRS["bitnami" if bitnami else "official"]
    appendonly = options.get("appendonly", env.get("REDIS_AOF_ENABLED", "yes") if bitnami else "no")
    return ProcessPlan(
        kind=ProcessKind.redis, container=container["name"], data_dir=_under_mount(container, directory, volume_dirs),
        env={"REDIS_PASSWORD": password, "REDIS_APPENDONLY": appendonly, "REDIS_DBFILENAME": options.get("dbfilename", "dump.rdb"),
         "REDIS_APPENDFILENAME": options.get("appendfilename", "appendonly.aof")},
    )


def _under_mount(container: Manifest, path: str, volume_dirs: Mapping[str, str]) -> str | None:
    """The local directory behind `path`, which may lie below a volume's mount point."""
    best: tuple[int, str] | None = None
    for mount in container.get("volumeMounts") or []:
        mount_path = mount["mountPath"].rstrip("/")
        if mount["name"] in volume_dirs and (path + "/").startswith(mount_path + "/"):
            base = mount_dir(container, mount["mountPath"], volume_dirs) or volume_dirs[mount["name"]]
            below = path[len(mount_path):].strip("/")
            if best is None or len(mount_path) > best[0]:
                best = (len(mount_path), f"{base}/{below}" if below else base)
    return best[1] if best else None


def mariadb_client_options(process: ProcessPlan, port: int) -> str:
    """A [client] option file: inside the container the clients find the server on its socket;
    here every MariaDB client (mariadb-dump too, which ignores MYSQL_HOST) must be told."""
    password = process.env.get("MYSQL_ROOT_PASSWORD") or process.env.get("MARIADB_ROOT_PASSWORD", "")
    return f"[client]\nhost=127.0.0.1\nport={port}\nuser=root\npassword={password}\n"


def redis_cli_wrapper(real: str, port: int) -> str:
    """The redis-cli that `kubectl exec` finds first: the real one (path `real`), told the pod's port."""
    return f'#!/bin/sh\nexec {real} -p {port} "$@"\n'


def exec_env(process: ProcessPlan, port: int, client_dir: str) -> dict[str, str]:
    """Variables that point the database clients run by `kubectl exec` at the pod's instance."""
    if process.kind is ProcessKind.mariadb:
        # MariaDB's clients read $MYSQL_HOME/my.cnf, where the agent writes the options above.
        return {"MYSQL_HOME": client_dir, "MYSQL_HOST": "127.0.0.1", "MYSQL_TCP_PORT": str(port)}
    if process.kind is ProcessKind.postgres:
        return {
            "PGHOST": "127.0.0.1",
            "PGPORT": str(port),
            "PGUSER": process.env.get("POSTGRES_USER", "postgres"),
            "PGPASSWORD": process.env.get("POSTGRES_PASSWORD", ""),
        }
    if process.kind is ProcessKind.redis:
        # redis-cli has no variable for its server: the agent puts a redis-cli in client_dir/bin
        # that adds the port, first on PATH (the container's own redis-cli would find 6379).
        return {"PATH": f"{client_dir}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    return {}
