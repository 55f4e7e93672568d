"""Discovery of served types (a CRD created a moment ago included) and paginated raw listing."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from kubernetes.client import ApiClient

from mlark.kube.apply import create, crd_established, delete, wait_for
from mlark.kube.discovery import ResourceType, _discover_classic, cached_discovery, discover, resource_for
from mlark.kube.errors import KubeNotFound
from mlark.kube.listing import list_many, list_objects, list_pages

pytestmark = pytest.mark.cluster


def test_discovery_knows_core_apps_and_scope(kube_primary: ApiClient) -> None:
    found = discover(kube_primary)
    configmaps = found.lookup("v1", "ConfigMap")
    assert (configmaps.plural, configmaps.namespaced, configmaps.preferred) == ("configmaps", True, True)
    assert {"list", "create", "get"} <= configmaps.verbs
    assert found.lookup("apps/v1", "Deployment").path("ns", "web") == "/apis/apps/v1/namespaces/ns/deployments/web"
    namespaces = found.lookup("v1", "Namespace")
    assert not namespaces.namespaced and namespaces.path("ignored") == "/api/v1/namespaces"
    assert found.find_plural("rbac.authorization.k8s.io", "clusterroles").kind == "ClusterRole"
    listable = found.listable(namespaced=True)
    assert all(t.listable and t.namespaced for t in listable)
    # One type per kind: the preferred version's where it serves the kind (a kind served only by an
    # older version is kept, see test_discovery_preferred.py).
    assert len({(t.group, t.kind) for t in found.preferred()}) == len(found.preferred())
    assert found.find_kind("apps", "Deployment") in listable
    assert not any("/" in t.plural for t in found.types)  # no subresources
    with pytest.raises(KubeNotFound, match="Frobnicator"):
        found.lookup("example.com/v1", "Frobnicator")


def test_aggregated_and_classic_discovery_agree(kube_primary: ApiClient) -> None:
    assert set(discover(kube_primary).types) == set(_discover_classic(kube_primary).types)


def _crd(group: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"gadgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "shortNames": ["gdg"]},
                 "versions": [
                     {"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}},
                     {"name": "v1beta1", "served": True, "storage": False,
                      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]},
    }


def test_a_crd_created_just_now_is_found_and_its_objects_created(kube_primary: ApiClient, fresh_namespace: str) -> None:
    group = f"t{uuid.uuid4().hex[:8]}.mlark.dev"
    cached_discovery(kube_primary)  # a cache from before the CRD exists
    assert create(kube_primary, _crd(group)).action == "created"
    try:
        wait_for(kube_primary, "apiextensions.k8s.io/v1", "CustomResourceDefinition", f"gadgets.{group}", None,
                 crd_established, timeout=30)
        rtype = resource_for(kube_primary, f"{group}/v1", "Gadget")  # refreshes the stale cache once
        assert (rtype.plural, rtype.namespaced, rtype.short_names) == ("gadgets", True, ("gdg",))
        assert cached_discovery(kube_primary).find_kind(group, "Gadget").version == "v1"  # preferred
        assert resource_for(kube_primary, f"{group}/v1beta1", "Gadget").preferred is False
        gadget = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g1", "namespace": fresh_namespace},
                  "spec": {"size": 3}}
        assert create(kube_primary, gadget).action == "created"
        [listed] = list_objects(kube_primary, rtype, fresh_namespace)
        assert (listed["apiVersion"], listed["kind"], listed["spec"]) == (f"{group}/v1", "Gadget", {"size": 3})
    finally:
        delete(kube_primary, "apiextensions.k8s.io/v1", "CustomResourceDefinition", f"gadgets.{group}")


def _configmaps(api: ApiClient, namespace: str, count: int) -> None:
    def one(index: int) -> str:
        return create(api, {"apiVersion": "v1", "kind": "ConfigMap",
                            "metadata": {"name": f"cm-{index:05d}", "namespace": namespace,
                                         "labels": {"parity": "even" if index % 2 == 0 else "odd"}},
                            "data": {"index": str(index)}}).action

    with ThreadPoolExecutor(8) as pool:
        assert set(pool.map(one, range(count))) == {"created"}


def test_pages_cover_every_object_once(kube_primary: ApiClient, fresh_namespace: str) -> None:
    _configmaps(kube_primary, fresh_namespace, 250)
    rtype = resource_for(kube_primary, "v1", "ConfigMap")
    pages = list(list_pages(kube_primary, rtype, fresh_namespace, page_size=40))
    names = [o["metadata"]["name"] for page in pages for o in page if o["metadata"]["name"].startswith("cm-")]
    assert len(pages) >= 7 and all(len(page) <= 40 for page in pages)
    assert sorted(names) == [f"cm-{i:05d}" for i in range(250)]
    assert all(o["apiVersion"] == "v1" and o["kind"] == "ConfigMap" for page in pages for o in page)
    even = list_objects(kube_primary, rtype, fresh_namespace, label_selector="parity=even", page_size=30)
    assert len(even) == 125
    everywhere = list_objects(kube_primary, rtype, None)
    assert sum(o["metadata"]["namespace"] == fresh_namespace for o in everywhere) >= 250


def test_list_many_runs_lists_concurrently_and_reports_errors_per_list(kube_primary: ApiClient, fresh_namespace: str) -> None:
    _configmaps(kube_primary, fresh_namespace, 30)
    found = discover(kube_primary)
    builtin = [t for t in found.listable() if not t.group.endswith(".mlark.dev")]  # other tests' CRDs come and go
    bogus = ResourceType("example.com", "v1", "Nope", "nopes", namespaced=True, verbs=frozenset({"list"}))
    requests = [(t, fresh_namespace if t.namespaced else None) for t in builtin] + [(bogus, fresh_namespace)]
    results = list(list_many(kube_primary, requests, workers=4))
    assert len(results) == len(requests)
    by_type = {(r.rtype.kind, r.namespace): r for r in results}
    assert len(by_type[("ConfigMap", fresh_namespace)].objects) >= 30
    assert any(o["metadata"]["name"] == fresh_namespace for o in by_type[("Namespace", None)].objects)
    assert isinstance(by_type[("Nope", fresh_namespace)].error, KubeNotFound)
    assert "list nopes.example.com" in str(by_type[("Nope", fresh_namespace)].error)
    assert all(r.error is None for r in results if r.rtype is not bogus)
