"""Core workload references: pod templates of every kind, claim templates, optional refs."""

from __future__ import annotations

from typing import Any

from mlark.apps import references
from mlark.apps.base import ObjectIndex, service_host
from mlark.apps.kserve import isvc_references
from mlark.apps.workloads import claim_template_names


def _pod_spec() -> dict[str, Any]:
    return {
        "serviceAccountName": "runner",
        "imagePullSecrets": [{"name": "pull"}],
        "containers": [
            {
                "name": "c", "image": "x",
                "env": [
                    {"name": "A", "valueFrom": {"secretKeyRef": {"name": "s1", "key": "k"}}},
                    {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "cm1", "key": "k", "optional": True}}},
                ],
                "envFrom": [{"secretRef": {"name": "s2"}}],
            }
        ],
        "volumes": [
            {"name": "v1", "persistentVolumeClaim": {"claimName": "data"}},
            {"name": "v2", "projected": {"sources": [{"configMap": {"name": "cm2"}}, {"secret": {"name": "s1"}}]}},
        ],
    }


def test_cronjob_pod_template_references() -> None:
    cronjob = {
        "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "j", "namespace": "n"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": _pod_spec()}}}},
    }
    index = ObjectIndex([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s1", "namespace": "n"}}])
    edges = {(e.relation, e.target.name, e.resolved) for e in references(cronjob, index)}  # type: ignore[union-attr]
    assert edges == {
        ("secret", "s1", True), ("secret", "s2", False), ("pvc", "data", False), ("configmap", "cm2", False),
        ("image-pull-secret", "pull", False), ("serviceaccount", "runner", False),
    }  # the optional, missing cm1 is not a warning


def test_statefulset_claim_templates() -> None:
    sts = {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "n"},
        "spec": {"replicas": 2, "volumeClaimTemplates": [{"metadata": {"name": "data"}}], "template": {"spec": {"containers": []}}},
    }
    assert claim_template_names(sts) == ["data-db-0", "data-db-1"]
    assert {e.target.name for e in references(sts, ObjectIndex()) if e.relation == "pvc"} == {"data-db-0", "data-db-1"}  # type: ignore[union-attr]


def test_isvc_storage_uri_forms() -> None:
    def isvc(uri: str) -> dict[str, Any]:
        return {
            "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "m", "namespace": "n"},
            "spec": {"predictor": {"sklearn": {"storageUri": uri}, "serviceAccountName": "sa"}},
        }

    targets = {str(e.target) for e in isvc_references(isvc("s3://b/models/m"), ObjectIndex())}
    assert targets == {"bucket-prefix s3://b/models/m", "ServiceAccount n/sa"}
    assert {str(e.target) for e in isvc_references(isvc("pvc://claim/path"), ObjectIndex()) if e.relation == "model"} == {"PersistentVolumeClaim n/claim"}
    assert {str(e.target) for e in isvc_references(isvc("hf://org/model"), ObjectIndex()) if e.relation == "model"} == {"url hf://org/model"}


def test_cluster_serving_runtime_is_found() -> None:
    isvc = {
        "apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "m", "namespace": "n"},
        "spec": {"predictor": {"model": {"runtime": "shared"}}},
    }
    index = ObjectIndex([{"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ClusterServingRuntime", "metadata": {"name": "shared"}}])
    [runtime] = isvc_references(isvc, index)
    assert runtime.resolved and runtime.target.kind == "ClusterServingRuntime"  # type: ignore[union-attr]


def test_service_hosts() -> None:
    assert service_host("db", "ns") == ("db", "ns")
    assert service_host("db.other.svc.cluster.local", "ns") == ("db", "other")
    assert service_host("db.example.com", "ns") is None
