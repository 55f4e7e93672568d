"""Restore policy: which captured objects to leave to the operators that regenerate them.

An object rendered by a controller (a ReplicaSet from a Deployment, the StatefulSet from a
Notebook, the Deployment from an InferenceService or a DSPA) is recreated by that controller
once its owner is restored; restoring it too races the controller and pins stale settings.
Objects that hold data are restored anyway: PVCs (their contents), and Secrets (passwords
and keys that restored data was written with, like a DSPA's database password or an
ObjectBucketClaim's access keys, cannot be made up again).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from mlark.apps.base import Key, dig, key_of, ref_from_api_version
from mlark.restorepoint.models import ObjectRef

# Always recreated by Kubernetes itself, whoever owns them.
_ALWAYS = {
    ("", "Endpoints"): "maintained by the endpoints controller",
    ("discovery.k8s.io", "EndpointSlice"): "maintained by the endpoint slice controller",
    ("apps", "ControllerRevision"): "history kept by the workload controller",
    ("", "Event"): "events are not state",
    ("events.k8s.io", "Event"): "events are not state",
}
# Per-namespace ConfigMaps that Kubernetes and OpenShift publish into every namespace.
_PUBLISHED_CONFIGMAPS = {"kube-root-ca.crt", "openshift-service-ca.crt"}
_REGENERATED_SECRET_TYPES = {"kubernetes.io/service-account-token", "kubernetes.io/dockercfg"}
# Kinds that keep data: restored even when their owner will render them again.
_DATA = {("", "PersistentVolumeClaim"), ("", "Secret")}


@dataclass(frozen=True)
class Verdict:
    regenerated: bool
    reason: str

    def __bool__(self) -> bool:
        return self.regenerated


def _group_kind(obj: Mapping[str, Any]) -> tuple[str, str]:
    return str(obj.get("apiVersion", "")).rpartition("/")[0], str(obj.get("kind", ""))


def _platform_generated(obj: Mapping[str, Any]) -> str | None:
    """Reason when the platform itself recreates this object in any namespace."""
    group_kind = _group_kind(obj)
    if group_kind in _ALWAYS:
        return _ALWAYS[group_kind]
    name = dig(obj, "metadata", "name")
    if group_kind == ("", "ConfigMap") and name in _PUBLISHED_CONFIGMAPS:
        return "published into every namespace by the cluster"
    if group_kind == ("", "Secret") and obj.get("type") in _REGENERATED_SECRET_TYPES:
        return f"{obj.get('type')} Secrets are issued by the cluster"
    if group_kind == ("", "Secret") and dig(obj, "metadata", "annotations", "service.beta.openshift.io/originating-service-name"):
        return "serving certificate issued by the service CA"
    return None


def _controller(obj: Mapping[str, Any]) -> ObjectRef | None:
    namespace = dig(obj, "metadata", "namespace")
    for owner in dig(obj, "metadata", "ownerReferences") or []:
        if owner.get("controller"):
            return ref_from_api_version(owner["apiVersion"], owner["kind"], namespace, owner["name"])
    return None


def regenerated(obj: Mapping[str, Any], captured_owner_refs: Collection[ObjectRef]) -> Verdict:
    """Whether restoring `obj` should be left to a controller, with the reason either way.

    `captured_owner_refs` are the objects this restore brings back (any version); an object
    whose controlling owner is among them is rendered again by that owner's operator.
    """
    if reason := _platform_generated(obj):
        return Verdict(True, reason)
    controller = _controller(obj)
    if controller is None:
        return Verdict(False, "no controlling owner")
    restored: set[Key] = {key_of(ref) for ref in captured_owner_refs}
    cluster_key = key_of(controller.model_copy(update={"namespace": None}))
    if key_of(controller) not in restored and cluster_key not in restored:
        return Verdict(False, f"owner {controller.kind} {controller.name} is not restored")
    if _group_kind(obj) in _DATA:
        return Verdict(False, f"holds data; kept although {controller.kind} {controller.name} renders it")
    return Verdict(True, f"rendered by {controller.kind} {controller.name}")
