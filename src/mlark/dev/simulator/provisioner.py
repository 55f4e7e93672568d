"""Dynamic provisioning of local PersistentVolumes, like a CSI driver would on a real cluster.

A PVC of a StorageClass whose provisioner is PROVISIONER gets a PV backed by a directory
under the cluster's state; a Released PV with reclaim policy Delete loses its directory.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from kubernetes import client
from kubernetes.client.exceptions import ApiException

PROVISIONER = "sim.mlark.dev/local"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
log = logging.getLogger("mlark.simulator.provisioner")


class Provisioner:
    def __init__(self, api: client.ApiClient, volumes_root: Path) -> None:
        self.core = client.CoreV1Api(api)
        self.storage = client.StorageV1Api(api)
        self.volumes_root = volumes_root
        volumes_root.mkdir(parents=True, exist_ok=True)

    def reconcile(self) -> None:
        classes = {item.metadata.name: item for item in self.storage.list_storage_class().items}
        default = next(
            (name for name, item in classes.items() if (item.metadata.annotations or {}).get(DEFAULT_CLASS) == "true"),
            None,
        )
        for claim in self.core.list_persistent_volume_claim_for_all_namespaces().items:
            class_name = claim.spec.storage_class_name or default
            storage_class = classes.get(class_name or "")
            if claim.spec.volume_name or storage_class is None or storage_class.provisioner != PROVISIONER:
                continue
            if claim.metadata.deletion_timestamp is None:
                self._provision(claim, storage_class)
        for volume in self.core.list_persistent_volume().items:
            self._reclaim(volume)

    def volume_dir(self, volume_name: str) -> Path:
        return self.volumes_root / volume_name

    def _provision(self, claim: client.V1PersistentVolumeClaim, storage_class: client.V1StorageClass) -> None:
        name = f"pvc-{claim.metadata.uid}"
        directory = self.volume_dir(name)
        directory.mkdir(parents=True, exist_ok=True)
        directory.chmod(0o777)  # any pod user may write, as with a fresh CSI volume and fsGroup
        requested = (claim.spec.resources.requests or {}).get("storage", "1Gi")
        volume = client.V1PersistentVolume(
            metadata=client.V1ObjectMeta(name=name, annotations={PROVISIONED_BY: PROVISIONER}),
            spec=client.V1PersistentVolumeSpec(
                capacity={"storage": requested},
                access_modes=claim.spec.access_modes or ["ReadWriteOnce"],
                storage_class_name=storage_class.metadata.name,
                persistent_volume_reclaim_policy=storage_class.reclaim_policy or "Delete",
                volume_mode=claim.spec.volume_mode or "Filesystem",
                host_path=client.V1HostPathVolumeSource(path=str(directory), type="DirectoryOrCreate"),
                claim_ref=client.V1ObjectReference(
                    api_version="v1", kind="PersistentVolumeClaim", namespace=claim.metadata.namespace,
                    name=claim.metadata.name, uid=claim.metadata.uid,
                ),
            ),
        )
        try:
            self.core.create_persistent_volume(volume)
            log.info("provisioned %s for %s/%s", name, claim.metadata.namespace, claim.metadata.name)
        except ApiException as error:
            if error.status != 409:
                raise

    def _reclaim(self, volume: client.V1PersistentVolume) -> None:
        annotations = volume.metadata.annotations or {}
        if annotations.get(PROVISIONED_BY) != PROVISIONER:
            return
        if volume.status.phase not in ("Released", "Failed") or volume.spec.persistent_volume_reclaim_policy != "Delete":
            return
        if volume.spec.host_path is not None:
            path = Path(volume.spec.host_path.path)
            if self.volumes_root in path.parents:
                shutil.rmtree(path, ignore_errors=True)
        try:
            self.core.delete_persistent_volume(volume.metadata.name)
            log.info("deleted released volume %s", volume.metadata.name)
        except ApiException as error:
            if error.status != 404:
                raise
