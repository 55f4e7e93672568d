"""What the API server serves: every resource type, its preferred version, scope, verbs, kind↔plural.

    discover(api) -> Discovery                    one fresh read of the discovery endpoints
    cached_discovery(api, refresh=False) -> Discovery   per-ApiClient cache
    resource_for(api, api_version, kind) -> ResourceType
        cached, refreshed once on a miss (a CRD created a moment ago is found)

    Discovery.types                    every (group, version, resource), all served versions
    Discovery.preferred()              one ResourceType per group and resource, in the preferred version
    Discovery.listable(namespaced=None) preferred types that support list (optionally by scope)
    Discovery.lookup(api_version, kind) / .find_kind(group, kind) / .find_plural(group, plural)
    Discovery.unavailable              groups whose discovery failed (e.g. a broken aggregated API)

    ResourceType.path(namespace=None, name=None, subresource=None) -> "/apis/apps/v1/namespaces/x/deployments/y"

Aggregated discovery (one request for /api and one for /apis) is used when the server offers
it; otherwise the classic per-group-version endpoints are read concurrently.
"""

from __future__ import annotations

import threading
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from mlark.kube.errors import KubeApiError, KubeError, KubeNotFound
from mlark.kube.rest import Target, request

AGGREGATED_ACCEPT = (
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,"
    "application/json"
)


@dataclass(frozen=True)
class ResourceType:
    """One resource of one group version, e.g. deployments in apps/v1."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: frozenset[str] = frozenset()
    singular: str = ""
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    preferred: bool = False

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> str:
        """'deployments.apps', 'configmaps' — how RBAC and kubectl name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def listable(self) -> bool:
        return "list" in self.verbs

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The REST path; the namespace is ignored for cluster-scoped types, omitted = all namespaces."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
            if subresource:
                base += f"/{subresource}"
        return base

    def __str__(self) -> str:
        return f"{self.group_resource}/{self.version}"


@dataclass
class Discovery:
    """A snapshot of what the API server serves."""

    types: tuple[ResourceType, ...]
    unavailable: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_kind: dict[tuple[str, str, str], ResourceType] = {}
        self._by_plural: dict[tuple[str, str, str], ResourceType] = {}
        for rtype in self.types:
            self._by_kind.setdefault((rtype.group, rtype.version, rtype.kind), rtype)
            self._by_plural[(rtype.group, rtype.version, rtype.plural)] = rtype

    def preferred(self) -> list[ResourceType]:
        """One type per (group, kind): its preferred version's, else the first version serving it.

        A kind served only by a non-preferred version still counts (KServe's ServingRuntime
        is v1alpha1 while its group prefers v1beta1 for InferenceService)."""
        chosen: dict[tuple[str, str], ResourceType] = {}
        for rtype in self.types:
            current = chosen.get((rtype.group, rtype.kind))
            if current is None or (rtype.preferred and not current.preferred):
                chosen[(rtype.group, rtype.kind)] = rtype
        return list(chosen.values())

    def listable(self, namespaced: bool | None = None) -> list[ResourceType]:
        return [t for t in self.preferred() if t.listable and (namespaced is None or t.namespaced == namespaced)]

    def lookup(self, api_version: str, kind: str) -> ResourceType:
        """The type serving `kind` in `api_version`; KubeNotFound when it is not served."""
        group, _, version = api_version.rpartition("/")
        found = self._by_kind.get((group, version, kind))
        if found is None:
            raise KubeNotFound(f"not found: the API server does not serve kind {kind} in {api_version}", status=404)
        return found

    def get(self, api_version: str, kind: str) -> ResourceType | None:
        group, _, version = api_version.rpartition("/")
        return self._by_kind.get((group, version, kind))

    def find_kind(self, group: str, kind: str) -> ResourceType | None:
        """The preferred version's type for kind in group (any version), or None."""
        matches = [t for t in self.types if t.group == group and t.kind == kind]
        return next((t for t in matches if t.preferred), matches[0] if matches else None)

    def find_plural(self, group: str, plural: str) -> ResourceType | None:
        matches = [t for t in self.types if t.group == group and t.plural == plural]
        return next((t for t in matches if t.preferred), matches[0] if matches else None)


def _from_aggregated(document: dict[str, Any]) -> list[ResourceType]:
    types: list[ResourceType] = []
    for group in document.get("items") or []:
        group_name = (group.get("metadata") or {}).get("name", "") or ""
        for index, version in enumerate(group.get("versions") or []):
            for resource in version.get("resources") or []:
                kind = (resource.get("responseKind") or {}).get("kind") or ""
                if not kind:
                    continue
                types.append(ResourceType(
                    group=group_name, version=version["version"], kind=kind, plural=resource["resource"],
                    namespaced=resource.get("scope") == "Namespaced", verbs=frozenset(resource.get("verbs") or ()),
                    singular=resource.get("singularResource", ""), short_names=tuple(resource.get("shortNames") or ()),
                    categories=tuple(resource.get("categories") or ()), preferred=index == 0,
                ))
    return types


def _from_resource_list(document: dict[str, Any], preferred: bool) -> list[ResourceType]:
    group, _, version = str(document.get("groupVersion", "")).rpartition("/")
    return [
        ResourceType(
            group=group, version=version, kind=resource["kind"], plural=resource["name"],
            namespaced=bool(resource.get("namespaced")), verbs=frozenset(resource.get("verbs") or ()),
            singular=resource.get("singularName", ""), short_names=tuple(resource.get("shortNames") or ()),
            categories=tuple(resource.get("categories") or ()), preferred=preferred,
        )
        for resource in document.get("resources") or []
        if "/" not in resource["name"]  # subresources (pods/log, deployments/scale)
    ]


def _discover_aggregated(api: ApiClient) -> Discovery | None:
    documents = []
    for path in ("/api", "/apis"):
        document = request(api, "GET", path, accept=AGGREGATED_ACCEPT, target=Target("discover", path))
        if document.get("kind") != "APIGroupDiscoveryList":
            return None
        documents.append(document)
    return Discovery(tuple(t for document in documents for t in _from_aggregated(document)))


def _discover_classic(api: ApiClient) -> Discovery:
    core = request(api, "GET", "/api", target=Target("discover", "/api"))
    groups = request(api, "GET", "/apis", target=Target("discover", "/apis"))
    wanted: list[tuple[str, bool]] = [(f"/api/{v}", i == 0) for i, v in enumerate(core.get("versions") or [])]
    for group in groups.get("groups") or []:
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        for version in group.get("versions") or []:
            wanted.append((f"/apis/{version['groupVersion']}", version["groupVersion"] == preferred))
    unavailable: dict[str, str] = {}

    def read(item: tuple[str, bool]) -> list[ResourceType]:
        path, preferred = item
        try:
            return _from_resource_list(request(api, "GET", path, target=Target("discover", path)), preferred)
        except KubeApiError as error:  # e.g. an aggregated API whose backend is down (503)
            unavailable[path] = str(error)
            return []

    with ThreadPoolExecutor(max_workers=8) as pool:
        found = [t for chunk in pool.map(read, wanted) for t in chunk]
    return Discovery(tuple(found), unavailable)


def discover(api: ApiClient) -> Discovery:
    """Read the discovery endpoints now (aggregated when offered, else per group version)."""
    try:
        aggregated = _discover_aggregated(api)
    except KubeApiError:
        aggregated = None
    return aggregated if aggregated is not None else _discover_classic(api)


_CACHE: weakref.WeakKeyDictionary[ApiClient, Discovery] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def cached_discovery(api: ApiClient, refresh: bool = False) -> Discovery:
    """The last discovery of this ApiClient (read now when there is none or refresh is asked)."""
    with _LOCK:
        current = None if refresh else _CACHE.get(api)
    if current is None:
        current = discover(api)
        with _LOCK:
            _CACHE[api] = current
    return current


def resource_for(api: ApiClient, api_version: str, kind: str) -> ResourceType:
    """The resource type of apiVersion/kind; discovery is re-read once if it is not known yet."""
    found = cached_discovery(api).get(api_version, kind)
    if found is None:
        found = cached_discovery(api, refresh=True).get(api_version, kind)
    if found is None:
        raise KubeNotFound(f"not found: the API server does not serve kind {kind} in {api_version} "
                           "(is its CustomResourceDefinition installed?)", status=404)
    return found


__all__ = ["Discovery", "KubeError", "ResourceType", "cached_discovery", "discover", "resource_for"]
