"""create with a conflict policy, get, delete and waits, on a real API server."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient

from mlark.kube.apply import KubeTimeout, create, delete, get, gone, pvc_bound, wait_for

pytestmark = pytest.mark.cluster


def _configmap(namespace: str, value: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": namespace},
            "data": {"mode": value}}


def test_conflict_policies(kube_primary: ApiClient, fresh_namespace: str) -> None:
    first = create(kube_primary, _configmap(fresh_namespace, "a"))
    assert first.action == "created" and first.object["metadata"]["uid"]
    skipped = create(kube_primary, _configmap(fresh_namespace, "b"), "skip")
    assert (skipped.action, skipped.reason) == ("skipped", "already exists")
    assert get(kube_primary, "v1", "ConfigMap", "settings", fresh_namespace)["data"] == {"mode": "a"}
    failed = create(kube_primary, _configmap(fresh_namespace, "b"), "fail")
    assert failed.action == "failed" and not failed.ok
    updated = create(kube_primary, _configmap(fresh_namespace, "c"), "update")
    assert updated.action == "updated"
    assert get(kube_primary, "v1", "ConfigMap", "settings", fresh_namespace)["data"] == {"mode": "c"}


def test_rejected_objects_fail_with_the_reason(kube_primary: ApiClient, fresh_namespace: str) -> None:
    bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "Not_A_Name", "namespace": fresh_namespace}}
    result = create(kube_primary, bad)
    assert result.action == "failed" and "invalid" in result.reason and "Not_A_Name" in result.reason
    unknown = create(kube_primary, {"apiVersion": "example.com/v1", "kind": "Nope", "metadata": {"name": "x"}})
    assert unknown.action == "failed" and "CustomResourceDefinition" in unknown.reason
    no_namespace = create(kube_primary, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "x"}})
    assert no_namespace.action == "failed" and "namespace" in no_namespace.reason


def test_pvc_bound_and_delete(kube_primary: ApiClient, fresh_namespace: str) -> None:
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": fresh_namespace},
             "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}
    assert create(kube_primary, claim).action == "created"
    bound = wait_for(kube_primary, "v1", "PersistentVolumeClaim", "data", fresh_namespace, pvc_bound, timeout=60)
    assert bound["spec"]["volumeName"]
    assert delete(kube_primary, "v1", "PersistentVolumeClaim", "data", fresh_namespace)
    wait_for(kube_primary, "v1", "PersistentVolumeClaim", "data", fresh_namespace, gone, timeout=60)
    assert delete(kube_primary, "v1", "PersistentVolumeClaim", "data", fresh_namespace) is False
    assert get(kube_primary, "v1", "PersistentVolumeClaim", "data", fresh_namespace) is None


def test_wait_for_times_out_with_a_clear_message(kube_primary: ApiClient, fresh_namespace: str) -> None:
    with pytest.raises(KubeTimeout, match=f"PersistentVolumeClaim missing in namespace {fresh_namespace}.*absent"):
        wait_for(kube_primary, "v1", "PersistentVolumeClaim", "missing", fresh_namespace, pvc_bound, timeout=1)
