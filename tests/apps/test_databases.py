"""Database detection from images, and dump/load commands that never carry a password."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from mlark.apps.databases import commands, declared_target, detect_databases, engine_of, redis_data_file
from mlark.plan.models import DeclaredDatabase


@pytest.mark.parametrize(
    ("image", "engine"),
    [
        ("registry.redhat.io/rhel9/mariadb-1011:latest", "mariadb"),
        ("registry.redhat.io/rhel8/mariadb-103:1", "mariadb"),
        ("quay.io/sclorg/mariadb-105-c9s", "mariadb"),
        ("mysql:8.4", "mysql"),
        ("postgres:16@sha256:abc", "postgres"),
        ("registry.redhat.io/rhel9/postgresql-16:latest", "postgres"),
        ("bitnami/redis:7.2", "redis"),
        ("registry.redhat.io/rhel9/redis-7", "redis"),
        ("prometheuscommunity/postgres-exporter:v0.15", None),
        ("bitnami/redis-sentinel:7", None),
        ("registry.redhat.io/rhoai/odh-model-registry-rhel9:v3.3", None),
        ("quay.io/prometheus/mysqld-exporter", None),
    ],
)
def test_engine_from_image(image: str, engine: str | None) -> None:
    assert engine_of(image) == engine


def test_seed_databases_are_detected(seed_objects: list[dict[str, Any]]) -> None:
    found = {(t.namespace, t.workload.name if t.workload else "", t.engine, t.claim) for o in seed_objects for t in detect_databases(o)}
    assert found == {
        ("rhoai-demo", "mariadb-dspa", "mariadb", "mariadb-dspa"),
        ("rhoai-model-registries", "model-registry-db", "mariadb", "model-registry-db"),
        ("rhoai-model-registries", "model-catalog-postgres", "postgres", "model-catalog-postgres"),
    }
    target = next(t for o in seed_objects for t in detect_databases(o) if t.workload and t.workload.name == "mariadb-dspa")
    assert target.pod_labels == {"app": "mariadb-dspa", "component": "data-science-pipelines", "dspa": "dspa"}
    assert target.container == "mariadb" and target.tool == "mariadb-dump --single-transaction --add-drop-database"


def test_owned_pods_are_not_detected_twice() -> None:
    pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "db-1", "namespace": "n", "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "db", "controller": True}]},
        "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
    }
    assert detect_databases(pod) == []
    pod["metadata"].pop("ownerReferences")
    assert [t.engine for t in detect_databases(pod)] == ["postgres"]


@pytest.mark.parametrize("engine", ["mariadb", "mysql", "postgres", "redis"])
@pytest.mark.parametrize("databases", [[], ["model_registry", "it's"]])
def test_commands_are_valid_shell_without_secrets(engine: str, databases: list[str]) -> None:
    dump, load, _ = commands(engine, databases)  # type: ignore[arg-type]
    for argv in [dump] + ([load] if load else []):
        assert argv[:2] == ["sh", "-c"]
        subprocess.run(["sh", "-n", "-c", argv[2]], check=True)
    assert (load is None) == (engine == "redis")


def test_mariadb_dump_is_consistent_and_complete() -> None:
    dump, load, _ = commands("mariadb", ["model_registry"])
    assert "--single-transaction --add-drop-database --routines --triggers --events --databases model_registry" in dump[2]
    assert "MYSQL_PWD" in dump[2] and "--password" not in dump[2] and "-p" not in dump[2].split()
    assert load is not None and load[2].endswith('exec "$client" -u "$user"')
    assert "--databases $dbs" in commands("mariadb", [])[0][2]


def test_postgres_dump_per_database_or_all() -> None:
    every = commands("postgres", [])[0][2]
    assert "pg_dumpall -U \"$user\" -l template1 --roles-only" in every and "--clean" not in every
    assert "FROM pg_database WHERE datallowconn AND NOT datistemplate" in every
    named = commands("postgres", ["a", "it's"])[0][2]
    assert "printf '%s\\n' a 'it'\"'\"'s'" in named and "pg_dump -U \"$user\" --create -d \"$db\"" in named


def test_declared_database_with_secret_password_reads_it_from_stdin(seed_objects: list[dict[str, Any]]) -> None:
    workload = next(o for o in seed_objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "model-registry-db")
    declared = DeclaredDatabase.model_validate(
        {
            "namespace": "rhoai-model-registries", "workload": {"name": "model-registry-db"}, "engine": "mariadb",
            "databases": ["model_registry"],
            "credentials": {"user": {"value": "root"}, "password": {"secretKeyRef": {"name": "model-registry-db", "key": "database-root-password"}}},
        }
    )
    target = declared_target(declared, workload)
    assert target.declared and target.container == "mariadb" and target.claim == "model-registry-db"
    assert target.password_stdin is not None and target.password_stdin.namespace == "rhoai-model-registries"
    assert "IFS= read -r MYSQL_PWD" in target.dump_command[2] and "user=root" in target.dump_command[2]
    subprocess.run(["sh", "-n", "-c", target.dump_command[2]], check=True)


def test_declared_database_with_env_password_and_no_manifest() -> None:
    declared = DeclaredDatabase.model_validate(
        {
            "namespace": "n", "podSelector": {"matchLabels": {"app": "pg"}}, "container": "pg", "engine": "postgres",
            "credentials": {"user": {"env": "APP_USER"}, "password": {"env": "APP_PASSWORD"}},
        }
    )
    target = declared_target(declared)
    assert target.workload is None and target.pod_labels == {"app": "pg"} and target.password_stdin is None
    assert 'user="${APP_USER:-}"; export PGPASSWORD="${APP_PASSWORD:-}"' in target.dump_command[2]


def _redis_statefulset(image: str, mount: str, args: list[str] | None = None, security: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "cache", "namespace": "n"},
        "spec": {"selector": {"matchLabels": {"app": "cache"}}, "template": {"metadata": {"labels": {"app": "cache"}}, "spec": {
            "securityContext": security or {},
            "containers": [{"name": "redis", "image": image, "args": args or [], "volumeMounts": [{"name": "data", "mountPath": mount}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {}}]},
    }


@pytest.mark.parametrize(
    ("image", "mount", "args", "path", "aof"),
    [
        ("redis:7.2", "/data", [], "dump.rdb", None),
        ("redis:7.2", "/data", ["--dir", "/data/redis", "--dbfilename", "cache.rdb", "--appendonly", "yes"], "redis/cache.rdb",
         "redis/appendonly.aof"),
        ("docker.io/bitnami/redis:7.2", "/bitnami/redis/data", [], "dump.rdb", "appendonly.aof"),  # Bitnami: AOF on by default
        ("docker.io/bitnami/redis:7.2", "/bitnami/redis", [], "data/dump.rdb", "data/appendonly.aof"),
    ],
)
def test_redis_data_file_is_found_in_its_claim(image: str, mount: str, args: list[str], path: str, aof: str | None) -> None:
    workload = _redis_statefulset(image, mount, args, {"runAsUser": 1001, "fsGroup": 1001})
    target = detect_databases(workload)[0]
    assert target.engine == "redis" and target.claim == "data-cache-0"
    found = redis_data_file(workload, "redis")
    assert found is not None
    assert (found.claim, found.path, found.aof_path, found.uid, found.gid) == ("data-cache-0", path, aof, 1001, 1001)


def test_redis_without_a_volume_at_its_data_directory_has_no_data_file() -> None:
    assert redis_data_file(_redis_statefulset("redis:7.2", "/var/cache"), "redis") is None
