"""One clear error per failure (RBAC, unreachable server) and port-forward to a database pod."""

from __future__ import annotations

import socket
import time

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from mlark.kube.apply import create
from mlark.kube.discovery import resource_for
from mlark.kube.errors import KubeForbidden, KubeUnreachable
from mlark.kube.exec import exec_capture
from mlark.kube.listing import list_objects
from mlark.kube.portforward import PortForwardError, http_request, port_forward
from mlark.kube.rest import request
from tests.kube.conftest import deploy

pytestmark = pytest.mark.cluster


def _client_with_token(api: ApiClient, token: str) -> ApiClient:
    configuration = client.Configuration()
    configuration.host = api.configuration.host
    configuration.ssl_ca_cert = api.configuration.ssl_ca_cert
    configuration.verify_ssl = api.configuration.verify_ssl
    configuration.api_key = {"authorization": token}
    configuration.api_key_prefix = {"authorization": "Bearer"}
    return client.ApiClient(configuration)


@pytest.fixture
def powerless(kube_primary: ApiClient, fresh_namespace: str) -> ApiClient:
    """An ApiClient authenticated as a ServiceAccount that has no rights at all."""
    create(kube_primary, {"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": {"name": "nobody", "namespace": fresh_namespace}}, "fail")
    token = request(kube_primary, "POST", f"/api/v1/namespaces/{fresh_namespace}/serviceaccounts/nobody/token",
                    body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                          "spec": {"expirationSeconds": 600}})["status"]["token"]
    return _client_with_token(kube_primary, token)


def test_forbidden_names_verb_resource_and_namespace(kube_primary: ApiClient, powerless: ApiClient,
                                                     fresh_namespace: str) -> None:
    secrets = resource_for(kube_primary, "v1", "Secret")
    with pytest.raises(KubeForbidden) as caught:
        list_objects(powerless, secrets, fresh_namespace)
    message = str(caught.value)
    assert message.startswith(f"forbidden: cannot list secrets in namespace {fresh_namespace}")
    assert "system:serviceaccount" in message and caught.value.status == 403
    result = create(powerless, {"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "x", "namespace": fresh_namespace}})
    assert result.action == "failed" and f"cannot create configmaps/x in namespace {fresh_namespace}" in result.reason
    with pytest.raises(KubeForbidden, match="cannot list customresourcedefinitions.apiextensions.k8s.io"):
        list_objects(powerless, resource_for(kube_primary, "apiextensions.k8s.io/v1", "CustomResourceDefinition"))


def test_forbidden_exec_is_named(kube_primary: ApiClient, powerless: ApiClient, fresh_namespace: str) -> None:
    with pytest.raises(KubeForbidden, match=f"cannot create pods/exec of some-pod in namespace {fresh_namespace}"):
        exec_capture(powerless, fresh_namespace, "some-pod", "main", ["true"])


def test_unreachable_api_server_is_one_clear_error(kube_primary: ApiClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]
    dead = _client_with_token(kube_primary, "x")
    dead.configuration.host = f"https://127.0.0.1:{free_port}"
    dead.rest_client.pool_manager.connection_pool_kw["retries"] = False
    with pytest.raises(KubeUnreachable, match="API server unreachable"):
        list_objects(dead, resource_for(kube_primary, "v1", "ConfigMap"), "default")


def test_port_forward_reaches_the_database(kube_primary: ApiClient, fresh_namespace: str) -> None:
    create(kube_primary, {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                          "metadata": {"name": "db", "namespace": fresh_namespace},
                          "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}})
    pod = deploy(kube_primary, fresh_namespace, "db", "registry.redhat.io/rhel9/mariadb-1011:latest",
                 env=[{"name": "MYSQL_ROOT_PASSWORD", "value": "root-secret"}, {"name": "MYSQL_DATABASE", "value": "r"}],
                 ports=[{"containerPort": 3306}], volumeMounts=[{"name": "data", "mountPath": "/var/lib/mysql"}],
                 volumes=[{"name": "data", "persistentVolumeClaim": {"claimName": "db"}}])
    # The MariaDB server speaks first: its handshake packet carries the server version.
    greeting = b""
    for _ in range(120):
        try:
            with port_forward(kube_primary, fresh_namespace, pod, 3306, timeout=10) as sock:
                greeting = sock.recv(4096)
        except OSError:
            greeting = b""
        if greeting:
            break
        time.sleep(0.5)
    assert b"MariaDB" in greeting
    with pytest.raises(PortForwardError, match=f"GET / to pod {fresh_namespace}/{pod} port 3306"):
        http_request(kube_primary, fresh_namespace, pod, 3306, "GET", "/", timeout=10)
