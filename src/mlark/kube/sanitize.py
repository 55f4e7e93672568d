"""Pure functions over manifests (dicts): strip what the cluster assigns, prepare for restore.

    sanitize(obj, *, keep_status=False, keep_last_applied=True) -> dict
        a copy without status, uid, resourceVersion, managedFields, creationTimestamp, generation,
        selfLink, deletionTimestamp/GracePeriod, Service cluster IPs, PVC binding (volumeName and
        the bind annotations), Pod nodeName, Job controller-uid selectors, PV claimRef uid ...
        ownerReferences are KEPT (with their uids) for the application graph.
    cluster_generated(obj) -> str | None
        why the object should not be captured at all (a ServiceAccount token Secret, the
        kube-root-ca.crt ConfigMap, an Event, a controller-managed EndpointSlice), or None
    for_restore(obj, owner_uids=None) -> dict
        a copy ready to create: ownerReferences re-linked to the uids of restored owners
        (owner_uids maps (apiVersion, kind, name) -> new uid) and dropped when the owner is unknown.

None of these touches the cluster.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

Obj = dict[str, Any]

METADATA_ASSIGNED = (
    "uid", "resourceVersion", "managedFields", "creationTimestamp", "generation", "selfLink",
    "deletionTimestamp", "deletionGracePeriodSeconds",
)
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
PVC_BIND_ANNOTATIONS = (
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
)
PV_ASSIGNED_ANNOTATIONS = ("pv.kubernetes.io/bound-by-controller",)
JOB_GENERATED_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid")
# Kinds whose status is their content (a finished pipeline run): keep status unless told otherwise.
STATUS_IS_DATA = frozenset({("argoproj.io", "Workflow")})


def _group(obj: Obj) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.rpartition("/")[0]


def _pop_keys(mapping: dict[str, Any] | None, keys: tuple[str, ...]) -> None:
    if mapping:
        for key in keys:
            mapping.pop(key, None)


def _drop_empty(meta: Obj, key: str) -> None:
    if key in meta and not meta[key]:
        del meta[key]


def status_is_data(obj: Obj) -> bool:
    """True for kinds whose status is the record itself (e.g. an Argo Workflow's run history)."""
    return (_group(obj), obj.get("kind")) in STATUS_IS_DATA


def sanitize(obj: Obj, *, keep_status: bool | None = None, keep_last_applied: bool = True) -> Obj:
    """A copy of obj without the fields the cluster assigned. keep_status=None keeps it only for
    kinds where status is the data (status_is_data)."""
    drop_status = not (status_is_data(obj) if keep_status is None else keep_status)
    # What is dropped is never copied (managedFields is often the largest part of an object).
    out: Obj = {}
    for key, value in obj.items():
        if key == "metadata" and isinstance(value, dict):
            out[key] = {name: _copy(item) for name, item in value.items() if name not in METADATA_ASSIGNED}
        elif not (key == "status" and drop_status):
            out[key] = _copy(value)
    meta = out.setdefault("metadata", {})
    annotations = meta.get("annotations")
    if annotations and not keep_last_applied:
        annotations.pop(LAST_APPLIED, None)
    kind, group = out.get("kind"), _group(out)
    spec = out.get("spec")
    if group == "" and isinstance(spec, dict):
        if kind == "Service":
            _sanitize_service(spec)
        elif kind == "PersistentVolumeClaim":
            spec.pop("volumeName", None)
            _pop_keys(annotations, PVC_BIND_ANNOTATIONS)
        elif kind == "PersistentVolume":
            _pop_keys(spec.get("claimRef"), ("uid", "resourceVersion"))
            _pop_keys(annotations, PV_ASSIGNED_ANNOTATIONS)
        elif kind == "Pod":
            spec.pop("nodeName", None)
    elif group == "batch" and kind == "Job" and isinstance(spec, dict):
        _sanitize_job(spec)
    if annotations is not None:
        _drop_empty(meta, "annotations")
    return out


def _copy(value: Any) -> Any:
    """A deep copy of a JSON document (dicts, lists and immutable scalars): 2x as fast as
    copy.deepcopy, which keeps a memo for shared and cyclic references JSON cannot have."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _sanitize_service(spec: Obj) -> None:
    if spec.get("clusterIP") not in ("None",):  # headless Services keep "None": it is their meaning
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    spec.pop("healthCheckNodePort", None)


def _sanitize_job(spec: Obj) -> None:
    """The Job controller writes a controller-uid selector and template labels; restored as-is they
    point at the old Job's uid and the API server rejects the new Job."""
    if spec.get("manualSelector"):
        return
    selector = spec.get("selector") or {}
    _pop_keys(selector.get("matchLabels"), JOB_GENERATED_LABELS)
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        spec.pop("selector", None)
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels")
    _pop_keys(labels, JOB_GENERATED_LABELS)


def cluster_generated(obj: Obj) -> str | None:
    """Why obj is made by the cluster itself and must not be captured (None: capture it)."""
    kind, group = obj.get("kind"), _group(obj)
    meta = obj.get("metadata") or {}
    if group == "" and kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        return "ServiceAccount token Secret (the token controller issues a new one)"
    if group == "" and kind == "ConfigMap" and meta.get("name") in ("kube-root-ca.crt", "openshift-service-ca.crt"):
        return "CA bundle ConfigMap published into every namespace by the cluster"
    if kind == "Event" and group in ("", "events.k8s.io"):
        return "Event"
    if group == "discovery.k8s.io" and kind == "EndpointSlice" and (meta.get("labels") or {}).get(
            "endpointslice.kubernetes.io/managed-by") == "endpointslice-controller.k8s.io":
        return "EndpointSlice managed by the endpointslice controller"
    return None


def for_restore(obj: Obj, owner_uids: Mapping[tuple[str, str, str], str] | None = None) -> Obj:
    """A sanitized copy ready to create: each ownerReference gets the uid of its restored owner
    (owner_uids[(apiVersion, kind, name)]); references to owners not restored are dropped."""
    out = sanitize(obj, keep_status=False)
    meta = out["metadata"]
    references = meta.get("ownerReferences") or []
    kept = []
    for reference in references:
        uid = (owner_uids or {}).get((reference.get("apiVersion", ""), reference.get("kind", ""), reference.get("name", "")))
        if uid:
            kept.append({**reference, "uid": uid})
    if kept:
        meta["ownerReferences"] = kept
    else:
        meta.pop("ownerReferences", None)
    return out
