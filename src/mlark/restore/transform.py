"""Turn one captured object into the body to create on the target. Pure; never mutates input.

Order: strip what the source cluster assigned -> kind-specific clean-up -> namespace mapping ->
storage-class mapping -> the user's JSON patches (last, so a user can override anything mlark did).
ownerReferences are removed here and handed to the planner, which re-links them by uid once the
owners exist on the target (uids always change).
"""

from __future__ import annotations

import copy
import re
from typing import Any

import jsonpatch

from mlark.restore.namespaces import map_namespaces
from mlark.restore.options import RestoreOptions, Transform
from mlark.restore.select import any_glob
from mlark.restorepoint.models import ObjectRef

Obj = dict[str, Any]

_SERVER_METADATA = ("uid", "resourceVersion", "creationTimestamp", "generation", "managedFields", "selfLink",
                    "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers")
# Binding state of a claim on the source cluster: left in place, the PV controller would treat
# the new claim as already bound to a volume that does not exist here.
_PVC_ANNOTATIONS = ("pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
                    "volume.beta.kubernetes.io/storage-provisioner", "volume.kubernetes.io/storage-provisioner",
                    "volume.kubernetes.io/selected-node")
_JOB_LABELS = ("controller-uid", "batch.kubernetes.io/controller-uid", "job-name", "batch.kubernetes.io/job-name")
_GENERATED_SA_SECRET = re.compile(r"-(token|dockercfg)-[a-z0-9]{5}$")


class TransformError(ValueError):
    """A user patch that does not apply to an object: names the object and the patch."""


def strip_metadata(obj: Obj) -> Obj:
    metadata = {key: value for key, value in obj["metadata"].items() if key not in _SERVER_METADATA}
    return {**obj, "metadata": metadata}


def _without(mapping: dict[str, Any] | None, keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: value for key, value in (mapping or {}).items() if key not in keys}


def _clean_claim(obj: Obj) -> Obj:
    # volumeName binds to a PV of the source cluster; a dataSource snapshot does not exist here:
    # the data comes back through RestoreVolume instead.
    spec = _without(obj.get("spec"), ("volumeName", "dataSource", "dataSourceRef"))
    metadata = {**obj["metadata"], "annotations": _without(obj["metadata"].get("annotations"), _PVC_ANNOTATIONS)}
    if not metadata["annotations"]:
        del metadata["annotations"]
    return {**obj, "metadata": metadata, "spec": spec}


def _clean_service(obj: Obj) -> Obj:
    spec = dict(obj.get("spec") or {})
    # A headless Service (clusterIP None, KServe's RawDeployment) must stay headless.
    if spec.get("clusterIP") != "None":
        spec.pop("clusterIP", None)
        spec.pop("clusterIPs", None)
    spec.pop("healthCheckNodePort", None)
    spec["ports"] = [_without(port, ("nodePort",)) for port in spec.get("ports") or []]
    return {**obj, "spec": spec}


def _clean_job(obj: Obj) -> Obj:
    # The selector carries the source Job's uid; the API server generates a new one.
    spec = _without(obj.get("spec"), ("selector", "manualSelector"))
    template = copy.deepcopy(spec.get("template") or {})
    labels = template.get("metadata", {}).get("labels")
    if labels:
        template["metadata"]["labels"] = _without(labels, _JOB_LABELS)
    return {**obj, "spec": {**spec, "template": template}}


def _clean_service_account(obj: Obj) -> Obj:
    def keep(refs: list[dict[str, str]] | None) -> list[dict[str, str]]:
        return [ref for ref in refs or [] if not _GENERATED_SA_SECRET.search(ref.get("name", ""))]

    result = dict(obj)
    for field in ("secrets", "imagePullSecrets"):
        if field in result:
            kept = keep(result.pop(field))
            if kept:
                result[field] = kept
    return result


def _clean_pod(obj: Obj) -> Obj:
    return {**obj, "spec": _without(obj.get("spec"), ("nodeName",))}


def _clean_namespace(obj: Obj) -> Obj:
    return {key: value for key, value in obj.items() if key != "spec"}  # spec.finalizers only


_KIND_CLEANERS = {
    ("", "PersistentVolumeClaim"): _clean_claim,
    ("", "Service"): _clean_service,
    ("batch", "Job"): _clean_job,
    ("", "ServiceAccount"): _clean_service_account,
    ("", "Pod"): _clean_pod,
    ("", "Namespace"): _clean_namespace,
}


def clean(obj: Obj, keep_status: bool) -> Obj:
    """Remove what the source cluster assigned. `keep_status`: the kind's status is data (a custom
    resource without a status subresource, such as an Argo Workflow holding its run history)."""
    ref = ObjectRef.of(obj)
    result = strip_metadata(obj)
    if not keep_status:
        result.pop("status", None)
    cleaner = _KIND_CLEANERS.get((ref.group, ref.kind))
    return cleaner(result) if cleaner else result


def map_storage_classes(obj: Obj, mapping: dict[str, str]) -> tuple[Obj, list[str]]:
    """Every `storageClassName` field (PVCs, StatefulSet volumeClaimTemplates, operator specs such
    as a DSPA's database) and the legacy beta annotation."""
    rewrites: list[str] = []

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                sub = f"{path}.{key}" if path else key
                is_class = key in ("storageClassName", "volume.beta.kubernetes.io/storage-class")
                if is_class and isinstance(value, str) and value in mapping:
                    rewrites.append(f"{sub}: {value} -> {mapping[value]}")
                    out[key] = mapping[value]
                else:
                    out[key] = walk(value, sub)
            return out
        if isinstance(node, list):
            return [walk(item, f"{path}[{index}]") for index, item in enumerate(node)]
        return node

    return (walk(obj, ""), rewrites) if mapping else (obj, [])


def matching_transforms(ref: ObjectRef, transforms: list[Transform]) -> list[Transform]:
    return [
        rule for rule in transforms
        if rule.group == ref.group and rule.kind == ref.kind and any_glob(ref.name, rule.names)
        and (not rule.namespaces or any_glob(ref.namespace, rule.namespaces))
    ]


def apply_patches(obj: Obj, ref: ObjectRef, transforms: list[Transform]) -> tuple[Obj, list[str]]:
    rewrites = []
    for rule in matching_transforms(ref, transforms):
        try:
            obj = jsonpatch.apply_patch(obj, rule.patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, KeyError) as error:
            raise TransformError(f"transform {rule.kind} {rule.names or '*'} does not apply to {ref}: {error}") from error
        rewrites.append(f"JSON patch: {len(rule.patch)} operation(s)")
    return obj, rewrites


def transform(obj: Obj, options: RestoreOptions, keep_status: bool = False) -> tuple[Obj, list[str]]:
    """The body to create for captured `obj`, and a human-readable list of what was changed."""
    ref = ObjectRef.of(obj)
    body = clean(copy.deepcopy(obj), keep_status)
    body, ns_rewrites = map_namespaces(body, options.namespace_mapping)
    body, sc_rewrites = map_storage_classes(body, options.storage_class_mapping)
    body, patch_rewrites = apply_patches(body, ref, options.transforms)
    return body, [*ns_rewrites, *sc_rewrites, *patch_rewrites]
