"""A private MLOps stack's databases through `mlark backup` and `mlark restore`: PostgreSQL from the
official `postgres` image holding two databases, and a Redis StatefulSet with its data on a PVC.

Restored into a fresh namespace on the recovery cluster, over the existing namespace with stale
data (`--existing update`), and after the namespace was deleted; each time the data must be
exactly what was dumped, and the restore point's fingerprints must pass (and fail when a value
differs).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

from mlark.dev.cluster import kubeconfig_path
from mlark.kube.apply import create, delete, get
from mlark.kube.exec import exec_capture
from mlark.restore.workloads import running_pods
from mlark.restorepoint.models import RestorePoint
from mlark.verify import take_fingerprints, verify
from mlark.verify.models import Fingerprint
from tests.e2e.story import PASSWORD_VARIABLE, Story, wait_until

pytestmark = pytest.mark.cluster
SUPERUSER, PASSWORD, REDIS_PASSWORD = "mlops", "pg-secret-1", "redis-secret-1"
SOURCE_CLASS = "ocs-storagecluster-ceph-rbd"
PG_LABELS, REDIS_LABELS = {"app": "mlflow-db"}, {"app": "redis"}
# A session store and a feature cache in two logical databases, of every common type.
REDIS_DATA = [
    ["SET", "session:alice", "token-a"], ["SET", "session:bob", "token-b"],
    ["HSET", "user:1", "name", "alice", "plan", "pro"], ["RPUSH", "queue:train", "job-1", "job-2", "job-3"],
    ["SADD", "tags", "fraud", "iris", "llm"], ["ZADD", "leaderboard", "0.97", "iris-v2", "0.91", "iris-v1"],
]
REDIS_DB1 = [["SET", "feature:petal", "1.4"], ["SET", "feature:sepal", "3.5"]]


def stack(namespace: str) -> list[dict[str, Any]]:
    meta = lambda name: {"name": name, "namespace": namespace}  # noqa: E731
    secret_env = lambda name, key: {"name": name, "valueFrom": {"secretKeyRef": {"name": "db-credentials", "key": key}}}  # noqa: E731
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {"mlark.dev/test": "true"}}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": meta("db-credentials"), "type": "Opaque",
         "stringData": {"postgres-password": PASSWORD, "redis-password": REDIS_PASSWORD}},
        {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta("mlflow-db"),
         "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta("mlflow-db"), "spec": {
            "replicas": 1, "selector": {"matchLabels": PG_LABELS}, "strategy": {"type": "Recreate"},
            "template": {"metadata": {"labels": PG_LABELS}, "spec": {
                "containers": [{"name": "postgres", "image": "docker.io/library/postgres:16",
                                "env": [{"name": "POSTGRES_USER", "value": SUPERUSER}, {"name": "POSTGRES_DB", "value": "mlflow"},
                                        secret_env("POSTGRES_PASSWORD", "postgres-password")],
                                "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql/data"}]}],
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "mlflow-db"}}]}}}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta("redis"), "spec": {
            "replicas": 1, "serviceName": "redis", "selector": {"matchLabels": REDIS_LABELS},
            "template": {"metadata": {"labels": REDIS_LABELS}, "spec": {
                "containers": [{"name": "redis", "image": "docker.io/library/redis:7.2",
                                "args": ["--requirepass", "$(REDIS_PASSWORD)"],
                                "env": [secret_env("REDIS_PASSWORD", "redis-password")],
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}},
    ]


# -- talking to the databases in their pods ----------------------------------------------------


def _pod(api: ApiClient, namespace: str, labels: dict[str, str]) -> str:
    return wait_until(f"a running pod {labels} in {namespace}",
                      lambda: (running_pods(api, namespace, labels) or [{}])[0].get("metadata", {}).get("name"), 180)


NOT_YET = ("could not connect", "connection refused", "starting up", "no such file", "shutting down", "terminating connection")


def psql(api: ApiClient, namespace: str, database: str, sql: str, timeout: float = 120) -> str:
    """Rows of `sql` (tab-separated), once the server answers; an SQL error fails at once."""
    command = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-A", "-t", "-F", "\t", "-U", SUPERUSER, "-d", database, "-c", sql]

    def answer() -> tuple[str] | None:
        result = exec_capture(api, namespace, _pod(api, namespace, PG_LABELS), "postgres", command)
        error = result.stderr.decode(errors="replace")
        if result.returncode == 0:
            return (result.text,)
        assert any(text in error.lower() for text in NOT_YET) or result.returncode == -1, (sql, error, result.message)
        return None

    return wait_until(f"psql in {namespace}: {sql[:60]}", answer, timeout)[0]


def redis(api: ApiClient, namespace: str, *args: str, db: int = 0) -> str:
    command = ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli -n "$0" "$@"', str(db), *args]
    result = exec_capture(api, namespace, _pod(api, namespace, REDIS_LABELS), "redis", command)
    assert result.returncode == 0 and not result.text.startswith(("ERR", "NOAUTH")), (result.text, result.stderr)
    return result.text


def pg_state(api: ApiClient, namespace: str) -> dict[str, Any]:
    databases = psql(api, namespace, "postgres", "SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                                                 "WHERE NOT datistemplate ORDER BY 1")
    roles = psql(api, namespace, "postgres", "SELECT rolname, rolcanlogin FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1")
    return {
        "databases": databases, "roles": roles,
        "runs": psql(api, namespace, "mlflow", "SELECT * FROM runs ORDER BY id"),
        "experiments": psql(api, namespace, "mlflow", "SELECT * FROM experiments ORDER BY id"),
        "features": psql(api, namespace, "features", "SELECT * FROM feature_values ORDER BY name"),
        "tables": psql(api, namespace, "features", "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"),
    }


def redis_state(api: ApiClient, namespace: str) -> dict[str, Any]:
    return {
        "keyspace": sorted(line.split(",")[0] for line in redis(api, namespace, "INFO", "keyspace").splitlines() if line.startswith("db")),
        "session:alice": redis(api, namespace, "GET", "session:alice"),
        "user:1": sorted(redis(api, namespace, "HGETALL", "user:1").split()),
        "queue:train": redis(api, namespace, "LRANGE", "queue:train", "0", "-1"),
        "tags": sorted(redis(api, namespace, "SMEMBERS", "tags").split()),
        "leaderboard": redis(api, namespace, "ZRANGE", "leaderboard", "0", "-1", "WITHSCORES"),
        "feature:petal": redis(api, namespace, "GET", "feature:petal", db=1),
    }


def deploy_and_fill(api: ApiClient, namespace: str) -> None:
    for obj in stack(namespace):
        made = create(api, obj, "fail")
        assert made.ok, made.reason
    psql(api, namespace, "mlflow", "SELECT 1", timeout=240)
    psql(api, namespace, "postgres", "CREATE ROLE feature_writer LOGIN PASSWORD 'fw-secret'")
    psql(api, namespace, "postgres", "CREATE DATABASE features OWNER feature_writer")
    psql(api, namespace, "mlflow", "CREATE TABLE experiments (id int PRIMARY KEY, name text); "
                                   "INSERT INTO experiments VALUES (1, 'fraud-detection'), (2, 'iris')")
    psql(api, namespace, "mlflow", "CREATE TABLE runs (id int PRIMARY KEY, experiment int REFERENCES experiments, "
                                   "accuracy float8); INSERT INTO runs SELECT g, 1 + g % 2, 0.9 + g / 10000.0 "
                                   "FROM generate_series(1, 300) g")
    psql(api, namespace, "features", "SET ROLE feature_writer; CREATE TABLE feature_values (name text PRIMARY KEY, "
                                     "value float8); INSERT INTO feature_values VALUES ('petal', 1.4), ('sepal', 3.5)")
    wait_until("redis to answer", lambda: exec_capture(api, namespace, _pod(api, namespace, REDIS_LABELS), "redis",
                                                       ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli PING']).text.strip() == "PONG", 120)
    for command in REDIS_DATA:
        redis(api, namespace, *command)
    for command in REDIS_DB1:
        redis(api, namespace, *command, db=1)


# -- the story ---------------------------------------------------------------------------------


class Backed:
    def __init__(self, story: Story, snapshot: str, point: RestorePoint, namespace: str, pg: dict[str, Any],
                 redis_data: dict[str, Any]) -> None:
        self.story, self.snapshot, self.point, self.namespace = story, snapshot, point, namespace
        self.pg, self.redis = pg, redis_data

    @property
    def fingerprints(self) -> list[Fingerprint]:
        taken = (self.point.fingerprints or {}).get("taken") or []
        return [Fingerprint.model_validate(item) for item in taken if item["kind"] == "database"]


@pytest.fixture(scope="module")
def backed(kube_primary: ApiClient, s3_service: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backed]:
    namespace = f"mlops-{uuid.uuid4().hex[:6]}"
    directory = tmp_path_factory.mktemp("databases")
    story = Story(repository=directory / "repository", plan=directory / "plan.yaml", kubeconfig=kubeconfig_path("primary"))
    story.plan.write_text(yaml.safe_dump({
        "apiVersion": "mlark.io/v1alpha1", "kind": "Plan", "metadata": {"name": "mlops-databases"},
        "spec": {"namespaces": {"names": [namespace]}, "volumes": {}, "databases": {"autoDetect": True},
                 "artifacts": {"capture": False}, "verification": {"kinds": ["database"]},
                 "targets": [{"name": "local", "repository": str(story.repository), "passwordFrom": {"env": PASSWORD_VARIABLE}}]},
    }))
    try:
        deploy_and_fill(kube_primary, namespace)
        pg, redis_data = pg_state(kube_primary, namespace), redis_state(kube_primary, namespace)
        story.mlark("repo", "init", "--repo", str(story.repository))
        created = story.json("backup", "create", "--plan", str(story.plan))
        point = RestorePoint.model_validate(created["restore_point"])
        assert point.phase.value == "Completed", point.results
        assert sorted(db.engine for db in point.databases) == ["postgres", "redis"]
        assert {db.engine: db.claim for db in point.databases} == {"postgres": "mlflow-db", "redis": "data-redis-0"}
        backed = Backed(story, created["snapshot_id"], point, namespace, pg, redis_data)
        sample = next(f.subject["sample"] for f in backed.fingerprints if f.subject["engine"] == "redis")
        assert {db: len(keys) for db, keys in sample.items()} == {"db0": len(REDIS_DATA), "db1": len(REDIS_DB1)}
        yield backed
    finally:
        delete(kube_primary, "v1", "Namespace", namespace)


def _restore(backed: Backed, *extra: str, kubeconfig: Path | None = None) -> dict[str, Any]:
    result = backed.story.mlark("restore", "create", "--from-backup", backed.snapshot, "--plan", str(backed.story.plan),
                                *extra, "-o", "json", kubeconfig=kubeconfig, check=False)
    assert result.stdout.strip().startswith("{"), (result.returncode, result.stderr[-3000:])
    restored = json.loads(result.stdout)
    failed = [f for f in restored["objects"] + restored["data"] if f["outcome"] == "failed"]
    assert result.returncode == 0 and restored["phase"] == "Completed" and not failed, failed
    return restored


def _loaded(restored: dict[str, Any]) -> dict[str, str]:
    return {d["subject"].rsplit("(", 1)[-1].rstrip(")"): d["outcome"] for d in restored["data"] if d["type"] == "database"}


def _check(api: ApiClient, backed: Backed, namespace_map: dict[str, str] | None = None) -> list[Any]:
    actual = take_fingerprints(api, [], backed.point, None, namespace_map, targets=backed.fingerprints)
    return verify(backed.fingerprints, actual)


def _gone(api: ApiClient, namespace: str) -> None:
    delete(api, "v1", "Namespace", namespace)
    wait_until(f"namespace {namespace} to go", lambda: get(api, "v1", "Namespace", namespace) is None, 180)


def test_restore_into_a_fresh_namespace_on_the_recovery_cluster(backed: Backed, kube_recovery: ApiClient) -> None:
    namespace = backed.namespace
    try:
        restored = _restore(backed, "--storage-class-mapping", f"{SOURCE_CLASS}=standard",
                            kubeconfig=kubeconfig_path("recovery"))
        assert _loaded(restored) == {"postgres": "created", "redis": "created"}
        assert pg_state(kube_recovery, namespace) == backed.pg
        assert "features\tfeature_writer" in backed.pg["databases"] and len(backed.pg["runs"].splitlines()) == 300
        assert redis_state(kube_recovery, namespace) == backed.redis
        checks = _check(kube_recovery, backed)
        assert len(checks) == 2 and all(check.passed for check in checks), [(c.name, c.message, c.diff) for c in checks]

        # The check is not blind: one changed value and one changed row fail it, naming them.
        redis(kube_recovery, namespace, "HSET", "user:1", "plan", "free")
        psql(kube_recovery, namespace, "features", "UPDATE feature_values SET value = 9 WHERE name = 'petal'")
        failed = {check.name: check for check in _check(kube_recovery, backed) if not check.passed}
        assert set(failed) == {f"database {namespace}/mlflow-db", f"database {namespace}/redis"}, failed
        assert any("db0/user:1" in line for line in failed[f"database {namespace}/redis"].diff)
        assert any("features.public.feature_values" in line for line in failed[f"database {namespace}/mlflow-db"].diff)
    finally:
        _gone(kube_recovery, namespace)


def test_restore_over_the_existing_namespace_replaces_stale_data(backed: Backed, kube_primary: ApiClient) -> None:
    namespace = backed.namespace
    # After the backup: rows changed, deleted and added, tables added, a role changed.
    psql(kube_primary, namespace, "mlflow", "UPDATE runs SET accuracy = 0 WHERE id <= 10; INSERT INTO experiments "
                                            "VALUES (3, 'added later'); CREATE TABLE scratch (x int)")
    psql(kube_primary, namespace, "features", "DELETE FROM feature_values WHERE name = 'sepal'; INSERT INTO feature_values "
                                              "VALUES ('stale', 0); CREATE TABLE other (y int)")
    psql(kube_primary, namespace, "postgres", "ALTER ROLE feature_writer NOLOGIN")
    assert pg_state(kube_primary, namespace) != backed.pg

    restored = _restore(backed, "--existing", "update")
    assert _loaded(restored)["postgres"] == "created"
    assert pg_state(kube_primary, namespace) == backed.pg
    assert psql(kube_primary, namespace, "mlflow", "SELECT count(*) FROM pg_tables WHERE tablename = 'scratch'").strip() == "0"


def test_redis_comes_back_after_its_namespace_is_deleted(backed: Backed, kube_primary: ApiClient) -> None:
    _gone(kube_primary, backed.namespace)
    restored = _restore(backed)
    assert _loaded(restored) == {"postgres": "created", "redis": "created"}
    assert redis_state(kube_primary, backed.namespace) == backed.redis
    assert pg_state(kube_primary, backed.namespace) == backed.pg
    checks = _check(kube_primary, backed)
    assert checks and all(check.passed for check in checks), [(c.name, c.message, c.diff) for c in checks]
