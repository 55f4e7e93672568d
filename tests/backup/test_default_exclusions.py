"""kwok's own configuration objects (Exec, PortForward ... in group kwok.x-k8s.io) and their
CRDs are not captured by default: on the local environment they were noise in every restore
point. A plan that names the group in an include rule still gets them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client import ApiClient

from mlark.backup.collect import collect
from mlark.kube.apply import create
from mlark.plan.loader import load_plan
from mlark.restorepoint.models import ObjectRef

pytestmark = pytest.mark.cluster
KWOK = "kwok.x-k8s.io"


def plan_file(directory: Path, namespace: str, include: list[dict[str, Any]]) -> Path:
    path = directory / "plan.yaml"
    path.write_text(yaml.safe_dump({
        "apiVersion": "mlark.io/v1alpha1", "kind": "Plan", "metadata": {"name": "kwok-noise"},
        "spec": {"namespaces": {"names": [namespace]}, "resources": {"include": include},
                 "targets": [{"name": "local", "repository": str(directory / "repo"), "passwordFrom": {"env": "MLARK_PASSWORD"}}]},
    }))
    return path


def groups(objects: list[dict[str, Any]]) -> set[str]:
    """Groups of the captured objects, and the groups the captured CRDs define."""
    found = {ObjectRef.of(obj).group for obj in objects}
    return found | {obj["spec"]["group"] for obj in objects if obj["kind"] == "CustomResourceDefinition"}


def test_kwok_objects_and_crds_are_left_out_unless_a_plan_names_the_group(kube_primary: ApiClient, fresh_namespace: str,
                                                                          tmp_path: Path) -> None:
    client.CoreV1Api(kube_primary).create_namespaced_config_map(
        fresh_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"), data={"a": "1"}))
    # What the pod simulator writes for each pod it runs, here for a pod that does not exist.
    made = create(kube_primary, {"apiVersion": f"{KWOK}/v1alpha1", "kind": "Exec",
                                 "metadata": {"name": "no-such-pod", "namespace": fresh_namespace},
                                 "spec": {"execs": [{"local": {"workDir": "/tmp"}}]}}, "skip")
    assert made.ok, made.reason

    default = collect(kube_primary, load_plan(plan_file(tmp_path, fresh_namespace, [])))
    assert KWOK not in groups(default.objects)
    assert ("ConfigMap", "settings") in {(obj["kind"], obj["metadata"]["name"]) for obj in default.objects}

    named = collect(kube_primary, load_plan(plan_file(tmp_path, fresh_namespace, [{"group": KWOK}])))
    assert {(obj["kind"], obj["metadata"]["name"]) for obj in named.objects if ObjectRef.of(obj).group == KWOK} == {("Exec", "no-such-pod")}
    assert f"execs.{KWOK}" in {obj["metadata"]["name"] for obj in named.objects if obj["kind"] == "CustomResourceDefinition"}
