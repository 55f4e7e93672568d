"""The local clusters are real: built release, kwok pods, volumes, exec and port-forward via the API."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pymysql
import pytest
from kubernetes import client
from kubernetes.client import ApiClient
from kubernetes.stream import portforward

from mlark.dev.cluster import Cluster
from mlark.dev.scenario.pods import exec_checked, pod_exec, wait_running
from mlark.dev.toolchain.build import KUBERNETES_VERSION

pytestmark = pytest.mark.cluster


def _wait(what: str, check, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


def _deployment(name: str, image: str, **container) -> client.V1Deployment:
    labels = {"app": name}
    spec = client.V1PodSpec(containers=[client.V1Container(name="main", image=image, **container)])
    return client.V1Deployment(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels=labels),
            template=client.V1PodTemplateSpec(metadata=client.V1ObjectMeta(labels=labels), spec=spec),
        ),
    )


def test_api_server_reports_the_built_release(kube_primary: ApiClient) -> None:
    info = client.VersionApi(kube_primary).get_code()
    assert info.git_version == KUBERNETES_VERSION
    assert info.major == "1" and info.minor == KUBERNETES_VERSION.split(".")[1]


def test_deployment_pod_runs_on_a_kwok_node(kube_primary: ApiClient, fresh_namespace: str) -> None:
    client.AppsV1Api(kube_primary).create_namespaced_deployment(fresh_namespace, _deployment("web", "nginx:1.27"))
    pod = wait_running(kube_primary, fresh_namespace, "app=web", timeout=60)
    node = client.CoreV1Api(kube_primary).read_namespaced_pod(pod, fresh_namespace).spec.node_name
    annotations = client.CoreV1Api(kube_primary).read_node(node).metadata.annotations
    assert annotations.get("kwok.x-k8s.io/node") == "fake"


def test_job_pod_completes(kube_primary: ApiClient, fresh_namespace: str) -> None:
    job = client.V1Job(
        metadata=client.V1ObjectMeta(name="once"),
        spec=client.V1JobSpec(
            template=client.V1PodTemplateSpec(
                spec=client.V1PodSpec(restart_policy="Never", containers=[client.V1Container(name="main", image="busybox")])
            )
        ),
    )
    batch = client.BatchV1Api(kube_primary)
    batch.create_namespaced_job(fresh_namespace, job)
    _wait("job succeeded", lambda: (batch.read_namespaced_job_status("once", fresh_namespace).status.succeeded or 0) >= 1, 90)


def test_exec_runs_locally_with_the_container_environment(kube_primary: ApiClient, fresh_namespace: str) -> None:
    deployment = _deployment("shell", "ubi9/ubi-minimal", env=[client.V1EnvVar(name="GREETING", value="hello from the pod")])
    client.AppsV1Api(kube_primary).create_namespaced_deployment(fresh_namespace, deployment)
    pod = wait_running(kube_primary, fresh_namespace, "app=shell")
    output = _wait("exec config", lambda: _try_exec(kube_primary, fresh_namespace, pod, ["sh", "-c", "echo $GREETING"]))
    assert output.strip() == "hello from the pod"


def _try_exec(api: ApiClient, namespace: str, pod: str, command: list[str]) -> str | None:
    result = pod_exec(api, namespace, pod, "main", command)
    return result.stdout if result.returncode == 0 else None


def _claim(name: str, storage_class: str | None = None) -> client.V1PersistentVolumeClaim:
    return client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"], storage_class_name=storage_class,
            resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"}),
        ),
    )


def test_volume_is_provisioned_written_through_exec_and_reclaimed(kube_primary: ApiClient, fresh_namespace: str) -> None:
    core = client.CoreV1Api(kube_primary)
    core.create_namespaced_persistent_volume_claim(fresh_namespace, _claim("work"))
    claim = _wait("PVC bound", lambda: (c := core.read_namespaced_persistent_volume_claim("work", fresh_namespace)).status.phase == "Bound" and c)
    assert claim.spec.storage_class_name == "ocs-storagecluster-ceph-rbd"  # the default class
    volume_dir = Path(core.read_persistent_volume(claim.spec.volume_name).spec.host_path.path)
    deployment = _deployment(
        "writer", "ubi9/ubi-minimal", working_dir="/data",
        volume_mounts=[client.V1VolumeMount(name="work", mount_path="/data")],
    )
    deployment.spec.template.spec.volumes = [
        client.V1Volume(name="work", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name="work"))
    ]
    client.AppsV1Api(kube_primary).create_namespaced_deployment(fresh_namespace, deployment)
    pod = wait_running(kube_primary, fresh_namespace, "app=writer")
    _wait("exec config", lambda: _try_exec(kube_primary, fresh_namespace, pod, ["sh", "-c", "echo notes > notes.txt"]) is not None)
    assert (volume_dir / "notes.txt").read_text() == "notes\n"
    client.AppsV1Api(kube_primary).delete_namespaced_deployment("writer", fresh_namespace)
    core.delete_namespaced_persistent_volume_claim("work", fresh_namespace)
    _wait("volume reclaimed", lambda: not volume_dir.exists(), 60)


def _database_pod(api: ApiClient, namespace: str) -> str:
    core = client.CoreV1Api(api)
    core.create_namespaced_persistent_volume_claim(namespace, _claim("db"))
    deployment = _deployment(
        "db", "registry.redhat.io/rhel9/mariadb-1011:latest",
        env=[client.V1EnvVar(name="MYSQL_ROOT_PASSWORD", value="root-secret"),
             client.V1EnvVar(name="MYSQL_DATABASE", value="registry")],
        ports=[client.V1ContainerPort(container_port=3306)],
        volume_mounts=[client.V1VolumeMount(name="data", mount_path="/var/lib/mysql")],
    )
    deployment.spec.template.spec.volumes = [
        client.V1Volume(name="data", persistent_volume_claim=client.V1PersistentVolumeClaimVolumeSource(claim_name="db"))
    ]
    client.AppsV1Api(api).create_namespaced_deployment(namespace, deployment)
    return wait_running(api, namespace, "app=db")


def test_database_pod_dumps_through_exec_and_answers_a_port_forward(kube_primary: ApiClient, fresh_namespace: str) -> None:
    pod = _database_pod(kube_primary, fresh_namespace)
    sql = ["mariadb", "registry", "-e", "CREATE TABLE model (name TEXT); INSERT INTO model VALUES ('iris-classifier')"]
    _wait("database up", lambda: _try_exec(kube_primary, fresh_namespace, pod, sql) is not None, 120)
    dump = exec_checked(kube_primary, fresh_namespace, pod, "main", ["mariadb-dump", "--single-transaction", "registry"])
    assert "INSERT INTO `model` VALUES" in dump and "iris-classifier" in dump

    forward = portforward(client.CoreV1Api(kube_primary).connect_get_namespaced_pod_portforward, pod, fresh_namespace, ports="3306")
    try:
        sock = forward.socket(3306)
        connection = pymysql.connect(user="root", password="root-secret", database="registry", defer_connect=True)
        connection.connect(sock=sock)
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM model")
            assert cursor.fetchall() == (("iris-classifier",),)
        connection.close()
    finally:
        forward.close()


def test_recovery_cluster_is_independent(kube_primary: ApiClient, kube_recovery: ApiClient, fresh_namespace: str) -> None:
    assert Cluster("primary").server != Cluster("recovery").server
    recovery = client.CoreV1Api(kube_recovery)
    names = {item.metadata.name for item in recovery.list_namespace().items}
    assert fresh_namespace not in names
    classes = {item.metadata.name for item in client.StorageV1Api(kube_recovery).list_storage_class().items}
    assert "standard" in classes and "ocs-storagecluster-ceph-rbd" not in classes
    assert client.VersionApi(kube_recovery).get_code().git_version == KUBERNETES_VERSION


def test_env_status_json_tells_how_to_reach_everything(kube_primary: ApiClient, s3_service) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mlark", "dev", "env", "status", "-o", "json"], capture_output=True, text=True, check=True
    )
    status = json.loads(result.stdout)
    primary = next(c for c in status["clusters"] if c["name"] == "primary")
    assert primary["running"] and Path(primary["kubeconfig"]).exists()
    services = {s["name"]: s for s in status["services"]}
    assert services["s3"]["details"]["access_key"] == s3_service.access_key
    assert services["s3"]["endpoint"] == s3_service.endpoint


def test_cluster_start_names_a_taken_port(tmp_path: Path) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    taken = blocker.getsockname()[1]
    # A port base whose etcd client port (base + 100) is the taken one.
    environment = {**os.environ, "MLARK_DEV_HOME": str(tmp_path), "MLARK_DEV_PORT_BASE": str(taken - 100)}
    result = subprocess.run(
        [sys.executable, "-c", "from mlark.dev.cluster import Cluster; Cluster('primary').up()"],
        capture_output=True, text=True, env=environment, timeout=300,
    )
    blocker.close()
    assert result.returncode != 0
    assert f"port {taken}" in result.stderr and "taken" in result.stderr
