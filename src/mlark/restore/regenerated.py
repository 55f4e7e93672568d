"""Which captured objects a restore leaves to someone else: an operator that renders them from a
restored custom resource, a platform controller that injects them, or the cluster itself.

`RegeneratedPolicy` is the narrow seam for the application plugins (`mlark.apps.policy`): a
callable told the object and whether a source reference is restored, returning a reason when the
object should be left to its operator. `owned_by_restored_controller` is the default.
"""

from __future__ import annotations

from typing import Any, Callable

from mlark.restorepoint.models import ObjectRef

Obj = dict[str, Any]
IsRestored = Callable[[ObjectRef], bool]
RegeneratedPolicy = Callable[[Obj, IsRestored], "str | None"]

# Kinds an operator may render that still hold state nobody can render again: a volume's data, a
# generated database password or bucket key that the restored data was written with.
DATA_KINDS = frozenset({("", "PersistentVolumeClaim"), ("", "Secret")})

# Never created by a restore, whatever the scope: derived, cluster-assigned or infrastructure.
_NOT_RESTORABLE: dict[tuple[str, str], str] = {
    ("", "Event"): "events are history, not state",
    ("events.k8s.io", "Event"): "events are history, not state",
    ("", "Endpoints"): "derived from its Service",
    ("discovery.k8s.io", "EndpointSlice"): "derived from its Service",
    ("", "PersistentVolume"): "provisioned anew for its claim by the target's storage class",
    ("storage.k8s.io", "StorageClass"): "target infrastructure: checked by preflight, not created",
    ("storage.k8s.io", "VolumeAttachment"): "cluster-assigned",
    ("", "Node"): "cluster infrastructure",
    ("coordination.k8s.io", "Lease"): "leader-election state of running processes",
    ("apps", "ControllerRevision"): "history kept by its StatefulSet/DaemonSet controller",
    ("metrics.k8s.io", "PodMetrics"): "derived",
}

# Kinds whose controller-owned instances are always re-created by that controller.
_CONTROLLED_KINDS = frozenset({("", "Pod"), ("apps", "ReplicaSet"), ("batch", "Job")})

_INJECTED_CONFIGMAPS = frozenset({"kube-root-ca.crt", "openshift-service-ca.crt"})


def owner_refs(obj: Obj) -> list[tuple[ObjectRef, dict[str, Any]]]:
    """Each ownerReference as a source ObjectRef (owners share the object's namespace, or are
    cluster-scoped: the planner tries both), with the raw reference."""
    namespace = obj["metadata"].get("namespace")
    refs = []
    for ref in obj["metadata"].get("ownerReferences") or []:
        group, _, version = ref["apiVersion"].rpartition("/")
        refs.append((ObjectRef(group=group, version=version, kind=ref["kind"], namespace=namespace, name=ref["name"]), ref))
    return refs


def controller_of(obj: Obj) -> ObjectRef | None:
    return next((ref for ref, raw in owner_refs(obj) if raw.get("controller")), None)


def not_restorable(ref: ObjectRef, obj: Obj) -> str | None:
    reason = _NOT_RESTORABLE.get((ref.group, ref.kind))
    if reason:
        return reason
    controller = controller_of(obj)
    if controller is not None and (ref.group, ref.kind) in _CONTROLLED_KINDS:
        return f"re-created by its controller {controller.kind} {controller.name}"
    return None


def platform_generated(ref: ObjectRef, obj: Obj) -> str | None:
    """Objects Kubernetes or OpenShift put into every namespace or derive from another object."""
    metadata = obj["metadata"]
    annotations = metadata.get("annotations") or {}
    if ref.kind == "Secret" and ref.group == "":
        kind = obj.get("type", "")
        if kind == "kubernetes.io/service-account-token":
            return "ServiceAccount token: the token controller issues a new one"
        if kind == "kubernetes.io/dockercfg" and "kubernetes.io/service-account.name" in annotations:
            return "image pull Secret of a ServiceAccount: OpenShift issues a new one"
        if "service.beta.openshift.io/originating-service-name" in annotations:
            return "serving certificate: OpenShift's service CA issues a new one for its Service"
    if ref.kind == "ConfigMap" and ref.group == "" and ref.name in _INJECTED_CONFIGMAPS:
        return "injected into every namespace by the cluster"
    return None


def owned_by_restored_controller(obj: Obj, is_restored: IsRestored) -> str | None:
    """Default policy: an object whose controller owner is restored is left to that controller's
    operator, except kinds that hold data (DATA_KINDS)."""
    ref = ObjectRef.of(obj)
    if (ref.group, ref.kind) in DATA_KINDS:
        return None
    controller = controller_of(obj)
    if controller is None:
        return None
    if is_restored(controller) or is_restored(controller.model_copy(update={"namespace": None})):
        return f"rendered by {controller.kind} {controller.name}: its operator regenerates it"
    return None
