"""Facts about a target cluster, gathered for the planner and the preflight (cluster code)."""

from __future__ import annotations

from kubernetes.client import ApiClient

from mlark.kube.discovery import cached_discovery
from mlark.kube.listing import list_objects
from mlark.kube.rest import request
from mlark.restore.facts import ClusterFacts, NamespaceFact, ServedKind, StorageClassFact

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"


def gather_facts(api: ApiClient, reconciled: list[str] | None = None) -> ClusterFacts:
    """What the target serves and holds. `reconciled`: kinds its operators render (None: unknown)."""
    discovery = cached_discovery(api, refresh=True)
    served = [ServedKind(group=t.group, version=t.version, kind=t.kind, namespaced=t.namespaced) for t in discovery.types]
    crds = [item["metadata"]["name"] for item in _list(api, discovery, "apiextensions.k8s.io", "CustomResourceDefinition")]
    classes = [
        StorageClassFact(
            name=item["metadata"]["name"], provisioner=item.get("provisioner", ""),
            binding_mode=item.get("volumeBindingMode", "Immediate"),
            default=(item["metadata"].get("annotations") or {}).get(DEFAULT_CLASS) == "true",
        )
        for item in _list(api, discovery, "storage.k8s.io", "StorageClass")
    ]
    namespaces = [
        NamespaceFact(
            name=item["metadata"]["name"], annotations=item["metadata"].get("annotations") or {},
            labels=item["metadata"].get("labels") or {}, phase=(item.get("status") or {}).get("phase", "Active"),
        )
        for item in _list(api, discovery, "", "Namespace")
    ]
    clusters = _list(api, discovery, "datasciencecluster.opendatahub.io", "DataScienceCluster")
    registries = next(
        (((c.get("spec") or {}).get("components") or {}).get("modelregistry", {}).get("registriesNamespace") for c in clusters),
        None,
    )
    version = str(request(api, "GET", "/version").get("gitVersion", "")).lstrip("v")
    return ClusterFacts(
        kubernetes_version=version, served=served, crds=crds, storage_classes=classes, namespaces=namespaces,
        registries_namespace=registries, reconciled=reconciled,
    )


def _list(api: ApiClient, discovery, group: str, kind: str) -> list[dict]:  # type: ignore[no-untyped-def]
    rtype = discovery.find_kind(group, kind)
    return list_objects(api, rtype) if rtype is not None else []
