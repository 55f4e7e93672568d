"""Reaching the API server from inside a pod: the service account's token and CA, no kubeconfig."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from kubernetes import client
from kubernetes.client import ApiClient

from mlark.dev.cluster import kubeconfig_path
from mlark.kube.client import KubeAccessError, in_cluster_client
from mlark.kube.rest import request

pytestmark = pytest.mark.cluster


def test_a_service_account_token_is_used_as_a_pod_would(kube_primary: ApiClient, fresh_namespace: str, tmp_path: Path) -> None:
    core = client.CoreV1Api(kube_primary)
    core.create_namespaced_service_account(fresh_namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="drill")))
    token = core.create_namespaced_service_account_token("drill", fresh_namespace, client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600))).status.token
    kubeconfig = yaml.safe_load(kubeconfig_path("primary").read_text())
    cluster = kubeconfig["clusters"][0]["cluster"]
    (tmp_path / "token").write_text(token)
    (tmp_path / "ca.crt").write_text(Path(cluster["certificate-authority"]).read_text())
    server = urlsplit(cluster["server"])
    environ = {"KUBERNETES_SERVICE_HOST": server.hostname, "KUBERNETES_SERVICE_PORT": str(server.port)}

    api = in_cluster_client(tmp_path / "token", tmp_path / "ca.crt", environ)
    review = request(api, "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                     body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"})
    assert review["status"]["userInfo"]["username"] == f"system:serviceaccount:{fresh_namespace}:drill"


def test_outside_a_pod_the_missing_token_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KubeAccessError, match="service account"):
        in_cluster_client(tmp_path / "token", tmp_path / "ca.crt", {"KUBERNETES_SERVICE_HOST": "127.0.0.1",
                                                                    "KUBERNETES_SERVICE_PORT": "6443"})
