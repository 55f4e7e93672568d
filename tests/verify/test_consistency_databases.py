"""`consistency databases` on a plan whose only database belongs to no registry or pipeline
server (issue 9, item 6): with nothing to check it is "not applicable", an independent
database is asked and counted, and one that does not answer fails the check by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from mlark.backup.run import create_backup
from mlark.kube.exec import exec_capture
from mlark.plan.loader import plan_from_dict
from mlark.repo import Repository
from mlark.repo.backend.local import LocalBackend
from mlark.repo.crypto import KdfParams
from mlark.restore.workloads import running_pods
from mlark.restorepoint.store import read_objects
from mlark.verify.consistency import check_consistency
from mlark.verify.models import CheckResult
from tests.e2e.story import wait_until

pytestmark = pytest.mark.cluster


class Backup:
    """A backup of one namespace: the databases check it recorded, and what to check again."""

    def __init__(self, api: ApiClient, namespace: str, repository: Path) -> None:
        plan = plan_from_dict({
            "apiVersion": "mlark.io/v1alpha1", "kind": "Plan", "metadata": {"name": "independent-db"},
            "spec": {"namespaces": {"names": [namespace]}, "databases": {"autoDetect": True},
                     "targets": [{"name": "local", "repository": str(repository), "passwordFrom": {"env": "UNUSED"}}]},
        })
        repo = Repository.init(LocalBackend(repository), "consistency", kdf=KdfParams(time_cost=1, memory_kib=1024, parallelism=1))
        result = create_backup(api, plan, repo)
        self.api, self.manifest = api, result.restore_point
        self.objects = list(read_objects(repo, result.snapshot_id, result.restore_point))
        recorded = [CheckResult.model_validate(c) for c in result.restore_point.fingerprints["consistency"]]
        self.recorded = next(c for c in recorded if c.name == "consistency databases")

    def check_now(self) -> CheckResult:
        return next(c for c in check_consistency(self.api, self.objects, self.manifest) if c.name == "consistency databases")


def _mariadb(namespace: str) -> client.V1Deployment:
    container = client.V1Container(
        name="mariadb", image="registry.redhat.io/rhel9/mariadb-1011:latest",
        env=[client.V1EnvVar(name="MYSQL_ROOT_PASSWORD", value="root-secret"), client.V1EnvVar(name="MYSQL_DATABASE", value="ledger")],
        ports=[client.V1ContainerPort(container_port=3306)])
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name="ledger-db", namespace=namespace),
        spec=client.V1DeploymentSpec(
            replicas=1, selector=client.V1LabelSelector(match_labels={"app": "ledger-db"}),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels={"app": "ledger-db"}),
                                              spec=client.V1PodSpec(containers=[container]))))


def _answers(api: ApiClient, namespace: str) -> Any:
    pods = running_pods(api, namespace, {"app": "ledger-db"})
    if not pods:
        return None
    result = exec_capture(api, namespace, pods[0]["metadata"]["name"], "mariadb",
                          ["sh", "-c", 'MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mariadb -u root -N -e "SELECT 1"'], timeout=30)
    return result.returncode == 0 and result.text.strip() == "1"


def test_independent_database_is_asked_not_applicable_without_one_and_fails_when_it_cannot_answer(
        kube_primary: ApiClient, fresh_namespace: str, tmp_path: Path) -> None:
    namespace = fresh_namespace
    empty = Backup(kube_primary, namespace, tmp_path / "empty")
    for check in (empty.recorded, empty.check_now()):
        assert check.passed is None and check.outcome == "not applicable", check
        assert check.message == "not applicable: the restore point has no database"

    client.AppsV1Api(kube_primary).create_namespaced_deployment(namespace, _mariadb(namespace))
    wait_until("the ledger database to answer", lambda: _answers(kube_primary, namespace), 180)
    with_database = Backup(kube_primary, namespace, tmp_path / "with-db")
    assert [d.workload.name for d in with_database.manifest.databases if d.workload] == ["ledger-db"]
    for check in (with_database.recorded, with_database.check_now()):
        assert check.passed is True and check.outcome == "pass", check
        assert check.message == "1 database answers"

    client.AppsV1Api(kube_primary).patch_namespaced_deployment_scale("ledger-db", namespace, {"spec": {"replicas": 0}})
    wait_until("the ledger database pod to go", lambda: not running_pods(kube_primary, namespace, {"app": "ledger-db"}), 120)
    silent = with_database.check_now()
    assert silent.passed is False and silent.outcome == "fail", silent
    assert silent.message.startswith(f"database {namespace}/ledger-db: database does not answer")
    assert "no running pod" in silent.message
