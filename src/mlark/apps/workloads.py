"""Core workloads: what a pod template needs (Secrets, ConfigMaps, PVCs, ServiceAccount),
owner references, and the container images to record for air-gapped restores."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from mlark.apps.base import Obj, ObjectIndex, core, dig, edge, namespace_of, ref_from_api_version
from mlark.restorepoint.models import Edge, ImageReference, ObjectRef

WORKLOAD_KINDS = {("", "Pod"), ("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet"), ("batch", "Job"), ("batch", "CronJob")}


def pod_spec_of(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod spec inside any workload kind (a CronJob's is two templates deep)."""
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("spec")
    if kind == "CronJob":
        return dig(obj, "spec", "jobTemplate", "spec", "template", "spec")
    return dig(obj, "spec", "template", "spec")


def _containers(pod_spec: Mapping[str, Any]) -> Iterator[tuple[Mapping[str, Any], bool]]:
    for field, init in (("initContainers", True), ("containers", False), ("ephemeralContainers", False)):
        for container in pod_spec.get(field) or []:
            yield container, init


def _container_refs(container: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    """(kind, name, optional) for every Secret/ConfigMap the container's environment reads."""
    for variable in container.get("env") or []:
        source = variable.get("valueFrom") or {}
        for field, kind in (("secretKeyRef", "Secret"), ("configMapKeyRef", "ConfigMap")):
            if ref := source.get(field):
                yield kind, ref.get("name", ""), bool(ref.get("optional"))
    for source in container.get("envFrom") or []:
        for field, kind in (("secretRef", "Secret"), ("configMapRef", "ConfigMap")):
            if ref := source.get(field):
                yield kind, ref.get("name", ""), bool(ref.get("optional"))


def _volume_refs(volume: Mapping[str, Any]) -> Iterator[tuple[str, str, bool]]:
    if secret := volume.get("secret"):
        yield "Secret", secret.get("secretName", ""), bool(secret.get("optional"))
    if config_map := volume.get("configMap"):
        yield "ConfigMap", config_map.get("name", ""), bool(config_map.get("optional"))
    if claim := volume.get("persistentVolumeClaim"):
        yield "PersistentVolumeClaim", claim.get("claimName", ""), False
    for source in dig(volume, "projected", "sources") or []:
        if secret := source.get("secret"):
            yield "Secret", secret.get("name", ""), bool(secret.get("optional"))
        if (config_map := source.get("configMap")) and config_map.get("name") not in CLUSTER_PUBLISHED_CONFIGMAPS:
            yield "ConfigMap", config_map.get("name", ""), bool(config_map.get("optional"))


# Published into every namespace by the cluster (the API access volume of every pod uses the
# first): a dependency nobody restores, so never an unresolved reference.
CLUSTER_PUBLISHED_CONFIGMAPS = {"kube-root-ca.crt", "openshift-service-ca.crt"}

_RELATION = {"Secret": "secret", "ConfigMap": "configmap", "PersistentVolumeClaim": "pvc", "ServiceAccount": "serviceaccount"}


def pod_spec_references(source: ObjectRef, pod_spec: Mapping[str, Any], index: ObjectIndex) -> list[Edge]:
    """Edges from `source` to what its pod spec reads. An optional reference that does not
    resolve is dropped: Kubernetes starts the pod without it, so it is no warning."""
    namespace = source.namespace
    found: list[tuple[str, str, bool]] = []
    for container, _ in _containers(pod_spec):
        found.extend(_container_refs(container))
    for volume in pod_spec.get("volumes") or []:
        found.extend(_volume_refs(volume))
    edges: list[Edge] = []
    seen: set[tuple[str, str]] = set()
    for kind, name, optional in found:
        if not name or (kind, name) in seen:
            continue
        seen.add((kind, name))
        item = edge(source, core(kind, namespace, name), _RELATION[kind], index)
        if item.resolved or not optional:
            edges.append(item)
    for pull in pod_spec.get("imagePullSecrets") or []:
        if (name := pull.get("name")) and ("Secret", name) not in seen:
            seen.add(("Secret", name))
            edges.append(edge(source, core("Secret", namespace, name), "image-pull-secret", index))
    if account := pod_spec.get("serviceAccountName") or pod_spec.get("serviceAccount"):
        edges.append(edge(source, core("ServiceAccount", namespace, account), "serviceaccount", index))
    return edges


def claim_template_names(statefulset: Mapping[str, Any]) -> list[str]:
    """The PVCs a StatefulSet creates: `<template>-<statefulset>-<ordinal>` per replica."""
    name = statefulset["metadata"]["name"]
    replicas = dig(statefulset, "spec", "replicas")
    count = 1 if replicas is None else int(replicas)
    start = int(dig(statefulset, "spec", "ordinals", "start") or 0)
    templates = dig(statefulset, "spec", "volumeClaimTemplates") or []
    return [f"{template['metadata']['name']}-{name}-{ordinal}" for template in templates for ordinal in range(start, start + count)]


def owner_references(obj: Obj, index: ObjectIndex) -> list[Edge]:
    """Every object depends on its owners (same namespace, or cluster-scoped owners)."""
    source = ObjectRef.of(obj)
    edges = []
    for owner in (obj.get("metadata") or {}).get("ownerReferences") or []:
        target = ref_from_api_version(owner["apiVersion"], owner["kind"], source.namespace, owner["name"])
        if not index.has(target) and source.namespace:
            cluster_owner = target.model_copy(update={"namespace": None})
            target = cluster_owner if index.has(cluster_owner) else target
        edges.append(edge(source, target, "owner", index))
    return edges


def handles(obj: Mapping[str, Any]) -> bool:
    return (str(obj.get("apiVersion", "")).rpartition("/")[0], obj.get("kind")) in WORKLOAD_KINDS


def references(obj: Obj, index: ObjectIndex) -> list[Edge]:
    source = ObjectRef.of(obj)
    pod_spec = pod_spec_of(obj)
    edges = pod_spec_references(source, pod_spec, index) if pod_spec else []
    if obj.get("kind") == "StatefulSet":
        edges.extend(edge(source, core("PersistentVolumeClaim", namespace_of(obj), name), "pvc", index) for name in claim_template_names(obj))
    return edges


def container_images(workload: ObjectRef, pod_spec: Mapping[str, Any]) -> list[ImageReference]:
    return [
        ImageReference(workload=workload, container=container.get("name", ""), image=container["image"], init=init)
        for container, init in _containers(pod_spec)
        if container.get("image")
    ]


def images(obj: Obj) -> list[ImageReference]:
    """Images of a workload's pod template; [] for other objects."""
    pod_spec = pod_spec_of(obj) if handles(obj) else None
    return container_images(ObjectRef.of(obj), pod_spec) if pod_spec else []
