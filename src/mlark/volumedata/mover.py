"""The mover pod (pure): a pod that mounts one PVC and runs nothing but a sleep."""

from __future__ import annotations

import hashlib
from typing import Any

MOUNT_PATH = "/mlark-data"
DEFAULT_IMAGE = "registry.access.redhat.com/ubi9/ubi:latest"  # ships tar, sh and head
MOVER_LABEL = "mlark.io/mover"
CONTAINER = "mover"


def mover_name(claim: str, purpose: str) -> str:
    """A DNS-safe pod name, unique per claim and purpose (capture or restore)."""
    digest = hashlib.sha256(f"{purpose}/{claim}".encode()).hexdigest()[:8]
    return f"mlark-{purpose}-{claim[:40]}-{digest}".rstrip("-").lower()


def mover_pod(
    namespace: str,
    claim: str,
    purpose: str,
    *,
    image: str = DEFAULT_IMAGE,
    node_name: str | None = None,
    read_only: bool = False,
    change_owners: bool = False,
) -> dict[str, Any]:
    """The mover pod for `claim`. node_name pins it beside the pod already using a
    ReadWriteOnce volume, which a second node could not attach. change_owners runs it as root
    with the capabilities chown needs (on OpenShift: an SCC such as anyuid for mlark's account)."""
    security: dict[str, Any] = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    if change_owners:
        security = {"allowPrivilegeEscalation": False, "runAsUser": 0, "runAsNonRoot": False,
                    "capabilities": {"drop": ["ALL"], "add": ["CHOWN", "DAC_OVERRIDE", "FOWNER"]}}
    spec: dict[str, Any] = {
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "automountServiceAccountToken": False,
        "containers": [
            {
                "name": CONTAINER,
                "image": image,
                "command": ["sleep", "86400"],
                "workingDir": MOUNT_PATH,
                "volumeMounts": [{"name": "data", "mountPath": MOUNT_PATH, "readOnly": read_only}],
                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}},
                "securityContext": security,
            }
        ],
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim, "readOnly": read_only}}],
    }
    if node_name:
        spec["nodeName"] = node_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": mover_name(claim, purpose),
            "namespace": namespace,
            "labels": {MOVER_LABEL: purpose, "app.kubernetes.io/managed-by": "mlark"},
        },
        "spec": spec,
    }


# tar runs relative to the working directory (the mount), so archives hold `./...` paths.
CAPTURE_COMMAND = ["tar", "-c", "-f", "-", "--numeric-owner", "--sparse", "."]
RESTORE_COMMAND = ["tar", "-x", "-f", "-", "--numeric-owner", "-p"]
