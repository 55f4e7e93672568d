"""Sanitising captured manifests: what the cluster assigned goes, what the user wrote stays."""

from __future__ import annotations

import copy

from mlark.kube.sanitize import LAST_APPLIED, cluster_generated, for_restore, sanitize

META = {
    "uid": "5f0c2f1e-8e7a-4b43-9d8e-0f3a2b1c4d5e",
    "resourceVersion": "48213",
    "generation": 3,
    "creationTimestamp": "2026-11-20T09:12:44Z",
    "selfLink": "/old/style/link",
    "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1"}],
}

SERVICE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "model-registry", "namespace": "rhoai-model-registries", **META,
                 "labels": {"app": "model-registry"},
                 "annotations": {LAST_APPLIED: '{"apiVersion":"v1"}', "owner": "platform"}},
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.41.7", "clusterIPs": ["10.96.41.7"], "ipFamilies": ["IPv4"],
             "ports": [{"name": "http", "port": 8080, "targetPort": 8080, "protocol": "TCP"}],
             "selector": {"app": "model-registry"}},
    "status": {"loadBalancer": {}},
}

PVC = {
    "apiVersion": "v1", "kind": "PersistentVolumeClaim",
    "metadata": {"name": "iris-workbench", "namespace": "rhoai-demo", **META, "finalizers": ["kubernetes.io/pvc-protection"],
                 "annotations": {"pv.kubernetes.io/bind-completed": "yes",
                                 "pv.kubernetes.io/bound-by-controller": "yes",
                                 "volume.beta.kubernetes.io/storage-provisioner": "openshift-storage.rbd.csi.ceph.com",
                                 "volume.kubernetes.io/storage-provisioner": "openshift-storage.rbd.csi.ceph.com",
                                 "volume.kubernetes.io/selected-node": "worker-1"}},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "20Gi"}},
             "storageClassName": "ocs-storagecluster-ceph-rbd", "volumeMode": "Filesystem",
             "volumeName": "pvc-5f0c2f1e-8e7a-4b43-9d8e-0f3a2b1c4d5e"},
    "status": {"phase": "Bound", "capacity": {"storage": "20Gi"}},
}


def test_metadata_and_status_assigned_by_the_cluster_are_removed() -> None:
    out = sanitize(SERVICE)
    assert set(out["metadata"]) == {"name", "namespace", "labels", "annotations"}
    assert "status" not in out


def test_input_is_not_modified() -> None:
    before = copy.deepcopy(PVC)
    sanitize(PVC)
    assert PVC == before


def test_service_cluster_ips_go_but_headless_stays_headless() -> None:
    spec = sanitize(SERVICE)["spec"]
    assert "clusterIP" not in spec and "clusterIPs" not in spec and spec["ports"] == SERVICE["spec"]["ports"]
    headless = copy.deepcopy(SERVICE)
    headless["spec"].update(clusterIP="None", clusterIPs=["None"])
    assert sanitize(headless)["spec"]["clusterIP"] == "None"


def test_pvc_binding_is_removed_but_class_and_size_stay() -> None:
    out = sanitize(PVC)
    assert "volumeName" not in out["spec"] and "annotations" not in out["metadata"]
    assert out["spec"]["storageClassName"] == "ocs-storagecluster-ceph-rbd"
    assert out["spec"]["resources"] == {"requests": {"storage": "20Gi"}}
    assert out["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]


def test_last_applied_configuration_is_optional() -> None:
    assert LAST_APPLIED in sanitize(SERVICE)["metadata"]["annotations"]
    annotations = sanitize(SERVICE, keep_last_applied=False)["metadata"]["annotations"]
    assert annotations == {"owner": "platform"}


def test_pod_node_name_goes() -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "n", **META},
           "spec": {"nodeName": "worker-1", "containers": [{"name": "main", "image": "x"}]}}
    assert "nodeName" not in sanitize(pod)["spec"]


def test_job_controller_uid_selector_goes() -> None:
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "once", "namespace": "n", **META},
           "spec": {"selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
                    "template": {"metadata": {"labels": {"batch.kubernetes.io/controller-uid": "abc",
                                                         "controller-uid": "abc", "job-name": "once"}},
                                 "spec": {"containers": [], "restartPolicy": "Never"}}}}
    spec = sanitize(job)["spec"]
    assert "selector" not in spec and spec["template"]["metadata"]["labels"] == {"job-name": "once"}


def test_workflow_keeps_its_status_by_default_and_others_on_request() -> None:
    workflow = {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow",
                "metadata": {"name": "iris-pipeline-x7k2p", "namespace": "rhoai-demo", **META},
                "spec": {"entrypoint": "train"}, "status": {"phase": "Succeeded", "finishedAt": "2026-11-20T10:00:00Z"}}
    assert sanitize(workflow)["status"]["phase"] == "Succeeded"
    assert "status" not in sanitize(workflow, keep_status=False)
    assert sanitize(PVC, keep_status=True)["status"]["phase"] == "Bound"


def test_owner_references_are_kept_in_the_capture() -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "iris-predictor", "namespace": "rhoai-demo", **META,
                               "ownerReferences": [{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
                                                    "name": "iris", "uid": "old-uid", "controller": True}]}}
    assert sanitize(deployment)["metadata"]["ownerReferences"][0]["uid"] == "old-uid"


def test_for_restore_relinks_known_owners_and_drops_unknown_ones() -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
              "metadata": {"name": "aws-connection-iris", "namespace": "rhoai-demo", **META,
                           "ownerReferences": [
                               {"apiVersion": "objectbucket.io/v1alpha1", "kind": "ObjectBucketClaim", "name": "iris",
                                "uid": "old-1", "controller": True, "blockOwnerDeletion": True},
                               {"apiVersion": "v1", "kind": "ConfigMap", "name": "gone", "uid": "old-2"}]}}
    out = for_restore(secret, {("objectbucket.io/v1alpha1", "ObjectBucketClaim", "iris"): "new-1"})
    assert out["metadata"]["ownerReferences"] == [
        {"apiVersion": "objectbucket.io/v1alpha1", "kind": "ObjectBucketClaim", "name": "iris", "uid": "new-1",
         "controller": True, "blockOwnerDeletion": True}]
    assert "ownerReferences" not in for_restore(secret)["metadata"] and "uid" not in out["metadata"]


def test_cluster_generated_objects_are_named() -> None:
    token = {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
             "metadata": {"name": "builder-token-x1", "annotations": {"kubernetes.io/service-account.name": "builder"}}}
    assert "token" in (cluster_generated(token) or "")
    assert cluster_generated({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "kube-root-ca.crt"}})
    assert cluster_generated({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e"}})
    slice_ = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
              "metadata": {"name": "s", "labels": {"endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}}}
    assert cluster_generated(slice_)
    assert cluster_generated(SERVICE) is None and cluster_generated(PVC) is None
    assert cluster_generated({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "s"}}) is None


def test_persistent_volume_claim_ref_loses_stale_uid() -> None:
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pvc-1", **META},
          "spec": {"claimRef": {"kind": "PersistentVolumeClaim", "namespace": "rhoai-demo", "name": "iris-workbench",
                                "uid": "u", "resourceVersion": "1"}, "capacity": {"storage": "20Gi"}}}
    assert sanitize(pv)["spec"]["claimRef"] == {"kind": "PersistentVolumeClaim", "namespace": "rhoai-demo",
                                                "name": "iris-workbench"}
