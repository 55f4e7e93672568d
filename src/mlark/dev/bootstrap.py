"""What a fresh local cluster needs before workloads: kwok's CRDs, fake nodes, storage classes.

The storage classes mirror the platform each cluster stands for: the primary cluster has
OpenShift Data Foundation's class names, the recovery cluster has other names, so a restore
across them needs a storage-class mapping, as it would in real life.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import ApiClient

from mlark.kube.apply import create, crd_established, wait_for
from mlark.dev.simulator.provisioner import DEFAULT_CLASS, PROVISIONER

NODE_COUNT = 2
STORAGE_CLASSES = {
    "primary": {"ocs-storagecluster-ceph-rbd": True, "ocs-storagecluster-cephfs": False},
    "recovery": {"standard": True, "standard-rwx": False},
}
# NooBaa's bucket class: ObjectBucketClaims name it; it provisions buckets, never volumes.
BUCKET_CLASSES = {"primary": {"openshift-storage.noobaa.io": "openshift-storage.noobaa.io/obc"}, "recovery": {}}


def node(name: str) -> dict[str, Any]:
    capacity = {"cpu": "64", "memory": "512Gi", "pods": "250", "ephemeral-storage": "1Ti"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "node-role.kubernetes.io/worker": "", "type": "kwok",
            },
        },
        "status": {"allocatable": capacity, "capacity": capacity},
    }


def storage_class(name: str, default: bool, provisioner: str = PROVISIONER) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": {DEFAULT_CLASS: "true" if default else "false"}},
        "provisioner": provisioner,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
        "allowVolumeExpansion": True,
    }


def bootstrap_objects(cluster: str) -> list[dict[str, Any]]:
    objects = [node(f"kwok-node-{index}") for index in range(NODE_COUNT)]
    objects += [storage_class(name, default) for name, default in STORAGE_CLASSES[cluster].items()]
    objects += [storage_class(name, False, provisioner) for name, provisioner in BUCKET_CLASSES[cluster].items()]
    return objects


def bootstrap(api: ApiClient, cluster: str, kwok_crds: Path) -> None:
    """Apply kwok's CRDs, the nodes and the storage classes (idempotent)."""
    crds = [document for document in yaml.safe_load_all(kwok_crds.read_text()) if document]
    for crd in crds:
        _apply(api, crd)
    for crd in crds:
        name = crd["metadata"]["name"]
        wait_for(api, "apiextensions.k8s.io/v1", "CustomResourceDefinition", name, None, crd_established, timeout=30,
                 interval=0.2, what=f"CRD {name} Established")
    for item in bootstrap_objects(cluster):
        _apply(api, item)


def _apply(api: ApiClient, obj: dict[str, Any]) -> None:
    result = create(api, obj, "update")
    if not result.ok:
        raise RuntimeError(f"cannot apply {obj['kind']} {obj['metadata']['name']}: {result.reason}")
