"""Volume data leaves and re-enters a cluster through mover pods and exec, byte for byte."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from mlark.kube.apply import get, wait_for
from mlark.volumedata import transfer

pytestmark = pytest.mark.cluster


def _claim(api: ApiClient, namespace: str, name: str) -> Path:
    core = client.CoreV1Api(api)
    core.create_namespaced_persistent_volume_claim(namespace, client.V1PersistentVolumeClaim(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PersistentVolumeClaimSpec(
            access_modes=["ReadWriteOnce"], resources=client.V1VolumeResourceRequirements(requests={"storage": "1Gi"})),
    ))
    bound = wait_for(api, "v1", "PersistentVolumeClaim", name, namespace, lambda o: (o or {}).get("status", {}).get("phase") == "Bound", timeout=60)
    volume = get(api, "v1", "PersistentVolume", bound["spec"]["volumeName"])
    return Path(volume["spec"]["hostPath"]["path"])


def _digest_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_capture_then_restore_into_another_claim(kube_primary: ApiClient, fresh_namespace: str) -> None:
    source = _claim(kube_primary, fresh_namespace, "source")
    (source / "notebooks").mkdir()
    (source / "notebooks" / "analysis.ipynb").write_text('{"cells": ["notes"]}')
    (source / "weights.bin").write_bytes(bytes(range(256)) * 4096)
    (source / "empty").write_bytes(b"")

    archive = b"".join(transfer.capture(kube_primary, fresh_namespace, "source"))
    names = tarfile.open(fileobj=io.BytesIO(archive)).getnames()
    assert "./notebooks/analysis.ipynb" in names and "./weights.bin" in names

    target = _claim(kube_primary, fresh_namespace, "target")
    chunks = [archive[i:i + 65536] for i in range(0, len(archive), 65536)]
    transfer.restore(kube_primary, fresh_namespace, "target", lambda: iter(chunks), len(archive))
    assert _digest_tree(target) == _digest_tree(source)
    # The movers are gone once the transfers are done.
    pods = client.CoreV1Api(kube_primary).list_namespaced_pod(fresh_namespace, label_selector="mlark.io/mover").items
    assert all(pod.metadata.deletion_timestamp for pod in pods)


def test_capture_of_a_missing_claim_names_it(kube_primary: ApiClient, fresh_namespace: str) -> None:
    with pytest.raises(Exception) as failure:
        list(transfer.capture(kube_primary, fresh_namespace, "nope"))
    assert "nope" in str(failure.value)
