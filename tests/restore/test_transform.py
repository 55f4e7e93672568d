"""Object transforms: mapping namespaces and storage classes, JSON patches, stripped fields."""

from __future__ import annotations

import base64

import pytest

from mlark.restore.options import RestoreOptions
from mlark.restore.planner import PlanError, build_plan
from mlark.restore.transform import transform
from tests.restore.helpers import create
from tests.restore.seed import captured_objects, restore_point, seed_options

DRILL = {"rhoai-demo": "rhoai-demo-drill"}


def _drill_plan(**changes: object):  # type: ignore[no-untyped-def]
    return build_plan(restore_point(), captured_objects(), seed_options(namespace_mapping=DRILL, **changes))


def test_namespace_mapping_moves_objects_and_the_namespace_itself() -> None:
    plan = _drill_plan()
    namespaces = {step.ref.name for step in plan.creates() if step.ref.kind == "Namespace"}
    assert namespaces == {"rhoai-demo-drill", "rhoai-model-registries"}
    assert all(step.ref.namespace != "rhoai-demo" for step in plan.creates())
    isvc = create(plan, "InferenceService", "iris")
    assert isvc.object["metadata"]["namespace"] == "rhoai-demo-drill" and isvc.source.namespace == "rhoai-demo"


def test_namespace_mapping_rewrites_in_object_references() -> None:
    plan = _drill_plan(include_regenerated=True)
    binding = create(plan, "RoleBinding", "pipeline-runner-dspa").object
    assert binding["subjects"][0]["namespace"] == "rhoai-demo-drill"
    api = create(plan, "Deployment", "ds-pipeline-dspa").object["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in api[0]["env"]}
    assert env["DBCONFIG_HOST"] == "mariadb-dspa.rhoai-demo-drill.svc.cluster.local"
    assert "--upstream=https://ds-pipeline-dspa.rhoai-demo-drill.svc.cluster.local:8888" in api[1]["args"]
    notebook = create(plan, "Notebook", "rodolfo-workbench").object
    probe = notebook["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["path"]
    assert probe == "/notebook/rhoai-demo-drill/rodolfo-workbench/api"
    workflow_cm = create(plan, "ConfigMap", "ds-pipeline-workflow-controller-dspa").object
    assert workflow_cm["data"]["namespace"] == "rhoai-demo-drill"
    assert "subjects[0].namespace: rhoai-demo -> rhoai-demo-drill" in create(plan, "RoleBinding", "pipeline-runner-dspa").rewrites


def test_namespace_mapping_leaves_other_namespaces_alone() -> None:
    plan = _drill_plan()
    registry = create(plan, "ModelRegistry", "rhoai-registry")
    assert registry.ref.namespace == "rhoai-model-registries"
    policy = create(plan, "NetworkPolicy", "allow-from-openshift-monitoring-ns").object
    selector = policy["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]
    assert selector == {"kubernetes.io/metadata.name": "openshift-user-workload-monitoring"}


def test_namespace_mapping_rewrites_secret_values_and_selectors() -> None:
    endpoint = base64.b64encode(b"http://minio.rhoai-demo.svc:9000").decode()
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "rhoai-demo"},
              "data": {"AWS_S3_ENDPOINT": endpoint, "blob": base64.b64encode(b"\xff\xfe").decode()}}
    body, _ = transform(secret, RestoreOptions(restore_point="r", namespace_mapping=DRILL))
    assert base64.b64decode(body["data"]["AWS_S3_ENDPOINT"]) == b"http://minio.rhoai-demo-drill.svc:9000"
    assert body["data"]["blob"] == secret["data"]["blob"]
    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "p", "namespace": "x"},
              "spec": {"ingress": [{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "rhoai-demo"}}}]}]}}
    body, _ = transform(policy, RestoreOptions(restore_point="r", namespace_mapping=DRILL))
    assert body["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == "rhoai-demo-drill"


def test_storage_class_mapping_on_claims_and_templates() -> None:
    mapping = {"ocs-storagecluster-cephfs": "standard", "ocs-storagecluster-ceph-rbd": "fast"}
    plan = build_plan(restore_point(), captured_objects(), seed_options(storage_class_mapping=mapping))
    assert create(plan, "PersistentVolumeClaim", "rodolfo-workbench").object["spec"]["storageClassName"] == "standard"
    assert create(plan, "PersistentVolumeClaim", "model-registry-db").object["spec"]["storageClassName"] == "fast"
    dspa = create(plan, "DataSciencePipelinesApplication", "dspa").object
    assert dspa["spec"]["database"]["mariaDB"]["storageClassName"] == "fast"
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": "n"},
           "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {"storageClassName": "ocs-storagecluster-ceph-rbd"}}]}}
    body, rewrites = transform(sts, RestoreOptions(restore_point="r", storage_class_mapping=mapping))
    assert body["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "fast"
    assert rewrites == ["spec.volumeClaimTemplates[0].spec.storageClassName: ocs-storagecluster-ceph-rbd -> fast"]


def test_json_patch_transform_applies_to_matching_objects_only() -> None:
    patch = [{"op": "replace", "path": "/spec/predictor/minReplicas", "value": 0}]
    options = seed_options(transforms=[{"group": "serving.kserve.io", "kind": "InferenceService", "names": ["iri*"], "patch": patch}])
    plan = build_plan(restore_point(), captured_objects(), options)
    assert create(plan, "InferenceService", "iris").object["spec"]["predictor"]["minReplicas"] == 0
    assert create(plan, "InferenceService", "opt125m").object["spec"]["predictor"]["minReplicas"] == 1
    assert "JSON patch: 1 operation(s)" in create(plan, "InferenceService", "iris").rewrites


def test_patch_that_does_not_apply_is_one_clear_error() -> None:
    patch = [{"op": "replace", "path": "/spec/nothing/here", "value": 0}]
    options = seed_options(transforms=[{"group": "serving.kserve.io", "kind": "InferenceService", "patch": patch}])
    with pytest.raises(PlanError, match="InferenceService.serving.kserve.io rhoai-demo/iris"):
        build_plan(restore_point(), captured_objects(), options)


def test_cluster_assigned_fields_are_stripped() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options(include_regenerated=True))
    claim = create(plan, "PersistentVolumeClaim", "mariadb-dspa").object
    assert not {"uid", "resourceVersion", "ownerReferences"} & set(claim["metadata"])
    headless = create(plan, "Service", "iris-predictor").object
    assert headless["spec"]["clusterIP"] == "None"  # stays headless
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": "c", "namespace": "n", "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
             "spec": {"volumeName": "pvc-123", "storageClassName": "x"}, "status": {"phase": "Bound"}}
    body, _ = transform(claim, RestoreOptions(restore_point="r"))
    assert body == {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c", "namespace": "n"},
                    "spec": {"storageClassName": "x"}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"},
               "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ports": [{"port": 80, "nodePort": 30001}]}}
    assert transform(service, RestoreOptions(restore_point="r"))[0]["spec"] == {"ports": [{"port": 80}]}


def test_status_is_kept_only_where_it_is_data() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    workflow = next(step for step in plan.creates() if step.ref.kind == "Workflow")
    assert workflow.object["status"]["phase"] == "Succeeded"  # Argo keeps run history in status
    assert "status" not in create(plan, "InferenceService", "iris").object
