"""Collect the objects a plan selects: its namespaces, and the cluster-scoped objects they need."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from mlark.kube.discovery import Discovery, ResourceType, cached_discovery
from mlark.kube.listing import list_many, list_objects
from mlark.kube.sanitize import cluster_generated, sanitize
from mlark.plan.models import Plan
from mlark.plan.selection import NamespaceSelection, select_namespaces, select_object
from mlark.restorepoint.models import ItemResult, ObjectRef

Obj = dict[str, Any]
Progress = Callable[[str], None]

# Kinds that are never worth a restore point: derived from other objects or pure runtime state.
SKIPPED_KINDS = {
    ("", "Event"), ("events.k8s.io", "Event"), ("", "Endpoints"), ("", "Binding"),
    ("coordination.k8s.io", "Lease"), ("metrics.k8s.io", "PodMetrics"),
    ("authorization.k8s.io", "LocalSubjectAccessReview"),
}
# API groups left out unless an include rule names the group: they configure a simulated
# kubelet (kwok, which the local environment runs), not the application, and their objects
# would come back as noise in every restore.
EXCLUDED_GROUPS = {"kwok.x-k8s.io": "kwok simulator configuration, not the application's"}
# From this many selected namespaces on (and a third of the cluster's), list each type once
# across all namespaces instead of once per namespace.
WIDE_LIST_MIN_NAMESPACES = 10


@dataclass
class Collection:
    namespaces: NamespaceSelection
    objects: list[Obj] = field(default_factory=list)
    results: list[ItemResult] = field(default_factory=list)


def namespace_labels(api: ApiClient, discovery: Discovery) -> dict[str, dict[str, str]]:
    namespaces = list_objects(api, discovery.lookup("v1", "Namespace"))
    return {item["metadata"]["name"]: (item["metadata"].get("labels") or {}) for item in namespaces}


def collect(api: ApiClient, plan: Plan, progress: Progress = lambda message: None) -> Collection:
    discovery = cached_discovery(api, refresh=True)
    labels = namespace_labels(api, discovery)
    selection = select_namespaces(plan.spec.namespaces, labels)
    collection = Collection(namespaces=selection)
    for missing in selection.missing:
        collection.results.append(ItemResult(item=f"Namespace {missing}", status="warning", message="listed in the plan but not on the cluster"))
    excluded = excluded_groups(plan)
    types = [rtype for rtype in discovery.listable(namespaced=True)
             if (rtype.group, rtype.kind) not in SKIPPED_KINDS and rtype.group not in excluded]
    progress(f"listing {len(types)} resource types in {len(selection.selected)} namespaces")
    wide = len(selection.selected) >= WIDE_LIST_MIN_NAMESPACES and 3 * len(selection.selected) >= len(labels)
    raw = _list_namespaced(api, types, selection.selected, collection, wide=wide)
    raw.extend(_namespace_objects(api, discovery, selection.selected))
    raw.extend(cluster_dependencies(api, discovery, raw, plan))
    for obj in raw:
        _keep(collection, plan, obj, excluded)
    progress(f"collected {len(collection.objects)} objects")
    return collection


def _list_namespaced(api: ApiClient, types: list[ResourceType], namespaces: list[str], collection: Collection, *,
                     wide: bool) -> list[Obj]:
    """Every object of `types` in `namespaces`. One list per type and namespace costs a request
    each (31 types in 50 namespaces: 1,550 requests); when the plan selects many namespaces and
    a good part of the cluster's, one list per type across all namespaces takes a third of the
    time on the local cluster, even though it reads the other namespaces' objects too. A type
    that may not be listed cluster-wide (403) is listed namespace by namespace."""
    selected = set(namespaces)
    requests = [(rtype, None) for rtype in types] if wide else [(rtype, ns) for ns in namespaces for rtype in types]
    raw: list[Obj] = []
    narrow: list[ResourceType] = []
    for listed in list_many(api, requests):
        if listed.error is not None and listed.namespace is None and listed.error.status == 403:
            narrow.append(listed.rtype)
        elif listed.error is not None:
            where = listed.namespace or "all namespaces"
            collection.results.append(ItemResult(item=f"{listed.rtype} in {where}", status="warning", message=str(listed.error)))
        else:
            raw.extend(obj for obj in listed.objects if not wide or obj["metadata"].get("namespace") in selected)
    if narrow:
        raw.extend(_list_namespaced(api, narrow, namespaces, collection, wide=False))
    return raw


def excluded_groups(plan: Plan) -> set[str]:
    """The EXCLUDED_GROUPS this plan does not ask for by name in an include rule."""
    named = {rule.group for rule in plan.spec.resources.include}
    return set(EXCLUDED_GROUPS) - named


def _keep(collection: Collection, plan: Plan, obj: Obj, excluded: set[str]) -> None:
    if cluster_generated(obj) is not None or _owned_by_pod(obj):
        return
    group = _defined_group(obj) or ObjectRef.of(obj).group
    if group in excluded:
        collection.results.append(ItemResult(item=str(ObjectRef.of(obj)), status="skipped",
                                             message=f"{EXCLUDED_GROUPS[group]} (an include rule naming group {group} captures it)"))
        return
    cluster_scoped = not (obj.get("metadata") or {}).get("namespace")
    decision = select_object(plan.spec.resources, obj, needed=cluster_scoped)
    if not decision:
        collection.results.append(ItemResult(item=str(ObjectRef.of(obj)), status="skipped", message=decision.reason))
        return
    collection.objects.append(sanitize(obj))


def _defined_group(obj: Obj) -> str | None:
    """The group a CustomResourceDefinition defines (None for any other object)."""
    if obj.get("kind") == "CustomResourceDefinition" and str(obj.get("apiVersion", "")).startswith("apiextensions.k8s.io/"):
        return str((obj.get("spec") or {}).get("group", ""))
    return None


def _owned_by_pod(obj: Obj) -> bool:
    """Runtime state of one pod (it dies with the pod, and the pod is never restored itself)."""
    owners = (obj.get("metadata") or {}).get("ownerReferences") or []
    return any(owner.get("kind") == "Pod" and owner.get("apiVersion") == "v1" for owner in owners)


def _namespace_objects(api: ApiClient, discovery: Discovery, names: list[str]) -> list[Obj]:
    wanted = set(names)
    return [item for item in list_objects(api, discovery.lookup("v1", "Namespace")) if item["metadata"]["name"] in wanted]


def cluster_dependencies(api: ApiClient, discovery: Discovery, objects: list[Obj], plan: Plan) -> list[Obj]:
    """The cluster-scoped objects the namespaced ones need (when the plan asks for them)."""
    if plan.spec.resources.include_cluster_resources is False:
        return []
    found: list[Obj] = _all_of_kind(api, discovery, "datasciencecluster.opendatahub.io", "DataScienceCluster")
    found += _crds_of(api, discovery, objects + found)
    claims = [obj for obj in objects if obj.get("kind") == "PersistentVolumeClaim" and obj["apiVersion"] == "v1"]
    volume_names = {(claim.get("spec") or {}).get("volumeName") for claim in claims} - {None}
    class_names = {(claim.get("spec") or {}).get("storageClassName") for claim in claims} - {None}
    found += [pv for pv in _all_of_kind(api, discovery, "", "PersistentVolume") if pv["metadata"]["name"] in volume_names]
    found += [sc for sc in _all_of_kind(api, discovery, "storage.k8s.io", "StorageClass") if sc["metadata"]["name"] in class_names]
    found += _cluster_rbac(api, discovery, objects)
    return found


def _all_of_kind(api: ApiClient, discovery: Discovery, group: str, kind: str) -> list[Obj]:
    rtype = discovery.find_kind(group, kind)
    return list_objects(api, rtype) if rtype is not None else []


def _crds_of(api: ApiClient, discovery: Discovery, objects: list[Obj]) -> list[Obj]:
    groups_kinds = {(ObjectRef.of(obj).group, obj["kind"]) for obj in objects}
    crds = _all_of_kind(api, discovery, "apiextensions.k8s.io", "CustomResourceDefinition")
    return [crd for crd in crds if (crd["spec"]["group"], crd["spec"]["names"]["kind"]) in groups_kinds]


def _cluster_rbac(api: ApiClient, discovery: Discovery, objects: list[Obj]) -> list[Obj]:
    """ClusterRoles that captured RoleBindings use, and ClusterRoleBindings of captured ServiceAccounts."""
    namespaces = {obj["metadata"].get("namespace") for obj in objects} - {None}
    role_names = {
        obj["roleRef"]["name"] for obj in objects
        if obj.get("kind") == "RoleBinding" and (obj.get("roleRef") or {}).get("kind") == "ClusterRole"
    }
    bindings = [
        binding for binding in _all_of_kind(api, discovery, "rbac.authorization.k8s.io", "ClusterRoleBinding")
        if any(subject.get("kind") == "ServiceAccount" and subject.get("namespace") in namespaces for subject in binding.get("subjects") or [])
    ]
    role_names |= {binding["roleRef"]["name"] for binding in bindings}
    roles = [role for role in _all_of_kind(api, discovery, "rbac.authorization.k8s.io", "ClusterRole") if role["metadata"]["name"] in role_names]
    # The built-in roles (admin, edit, view, system:*) exist on every cluster: not ours to restore.
    return bindings + [role for role in roles if not _built_in(role)]


def _built_in(role: Obj) -> bool:
    labels = role["metadata"].get("labels") or {}
    return labels.get("kubernetes.io/bootstrapping") == "rbac-defaults" or role["metadata"]["name"].startswith("system:")

