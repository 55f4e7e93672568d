"""Restore policy: what operators regenerate, and what holds data and is kept."""

from __future__ import annotations

from typing import Any

from mlark.apps.policy import regenerated
from mlark.restorepoint.models import ObjectRef

DEMO = "rhoai-demo"


def _find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def _refs(objects: list[dict[str, Any]]) -> list[ObjectRef]:
    return [ObjectRef.of(o) for o in objects]


def test_seed_rendered_objects_are_left_to_operators(seed_objects: list[dict[str, Any]]) -> None:
    captured = _refs(seed_objects)
    for kind, name, owner in [
        ("StatefulSet", "rodolfo-workbench", "Notebook"),
        ("Deployment", "iris-predictor", "InferenceService"),
        ("Deployment", "ds-pipeline-dspa", "DataSciencePipelinesApplication"),
        ("Deployment", "mariadb-dspa", "DataSciencePipelinesApplication"),
        ("ConfigMap", "ds-pipeline-server-config-dspa", "DataSciencePipelinesApplication"),
        ("Deployment", "rhoai-registry", "ModelRegistry"),
    ]:
        verdict = regenerated(_find(seed_objects, kind, name), captured)
        assert verdict and owner in verdict.reason, (kind, name, verdict)


def test_seed_data_holders_are_kept(seed_objects: list[dict[str, Any]]) -> None:
    captured = _refs(seed_objects)
    for kind, name in [("Secret", "rhoai-demo-bucket"), ("Secret", "ds-pipeline-db-dspa"), ("PersistentVolumeClaim", "mariadb-dspa")]:
        verdict = regenerated(_find(seed_objects, kind, name), captured)
        assert not verdict and "holds data" in verdict.reason
    for kind, name in [("InferenceService", "iris"), ("Deployment", "model-registry-db"), ("PersistentVolumeClaim", "rodolfo-workbench")]:
        assert not regenerated(_find(seed_objects, kind, name), captured)


def test_owner_not_restored_means_restore_it(seed_objects: list[dict[str, Any]]) -> None:
    statefulset = _find(seed_objects, "StatefulSet", "rodolfo-workbench")
    verdict = regenerated(statefulset, [])
    assert not verdict and verdict.reason == "owner Notebook rodolfo-workbench is not restored"


def _owned(kind: str, api_version: str, owner_kind: str, owner_api: str, owner: str) -> dict[str, Any]:
    ref = {"apiVersion": owner_api, "kind": owner_kind, "name": owner, "controller": True}
    return {"apiVersion": api_version, "kind": kind, "metadata": {"name": f"{owner}-x", "namespace": "ns", "ownerReferences": [ref]}}


def test_replicasets_and_pods_follow_their_controllers() -> None:
    deployment = ObjectRef(group="apps", kind="Deployment", namespace="ns", name="web")
    replicaset = _owned("ReplicaSet", "apps/v1", "Deployment", "apps/v1", "web")
    assert regenerated(replicaset, [deployment])
    pod = _owned("Pod", "v1", "ReplicaSet", "apps/v1", "web-x")
    assert regenerated(pod, [ObjectRef(group="apps", kind="ReplicaSet", namespace="ns", name="web-x")])
    # Owner versions differ between the reference and the captured object: same object.
    isvc = ObjectRef(group="serving.kserve.io", version="v1", kind="InferenceService", namespace="ns", name="m")
    assert regenerated(_owned("Deployment", "apps/v1", "InferenceService", "serving.kserve.io/v1beta1", "m"), [isvc])


def test_platform_generated_objects() -> None:
    def obj(api: str, kind: str, name: str, **extra: Any) -> dict[str, Any]:
        return {"apiVersion": api, "kind": kind, "metadata": {"name": name, "namespace": "ns", **extra.pop("metadata", {})}, **extra}

    assert regenerated(obj("v1", "Endpoints", "web"), [])
    assert regenerated(obj("discovery.k8s.io/v1", "EndpointSlice", "web-abc"), [])
    assert regenerated(obj("apps/v1", "ControllerRevision", "db-123"), [])
    assert regenerated(obj("v1", "ConfigMap", "kube-root-ca.crt"), [])
    assert regenerated(obj("v1", "Secret", "builder-dockercfg-x", type="kubernetes.io/dockercfg"), [])
    cert = obj("v1", "Secret", "tls", metadata={"annotations": {"service.beta.openshift.io/originating-service-name": "web"}})
    assert regenerated(cert, [])
    assert not regenerated(obj("v1", "ConfigMap", "app-config"), [])
