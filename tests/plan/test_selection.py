"""What a plan selects: namespaces by name, glob and label; objects, volumes and artifacts."""

from __future__ import annotations

from typing import Any

import pytest

from mlark.plan.labels import selector_from_manifest, selector_matches
from mlark.plan.models import Artifacts, LabelSelector, Namespaces, Resources, Volumes
from mlark.plan.selection import select_artifact, select_namespaces, select_object, select_volume

CLUSTER = {
    "prod-a": {"team": "risk", "tier": "prod"},
    "prod-b": {"team": "fraud", "tier": "prod"},
    "prod-sandbox": {"tier": "sandbox"},
    "dev-a": {"team": "risk"},
    "kube-system": {},
}


def _selector(**raw: Any) -> LabelSelector:
    return LabelSelector.model_validate(raw)


def _obj(kind: str, name: str, api_version: str = "v1", namespace: str | None = "ns", labels: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": labels or {}}
    if namespace:
        metadata["namespace"] = namespace
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata}


# --- label selectors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "labels", "expected"),
    [
        ({}, {}, True),
        ({"matchLabels": {"team": "risk"}}, {"team": "risk", "x": "y"}, True),
        ({"matchLabels": {"team": "risk"}}, {"team": "fraud"}, False),
        ({"matchExpressions": [{"key": "team", "operator": "In", "values": ["risk", "fraud"]}]}, {"team": "fraud"}, True),
        ({"matchExpressions": [{"key": "team", "operator": "In", "values": ["risk"]}]}, {}, False),
        ({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["risk"]}]}, {"team": "fraud"}, True),
        ({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["risk"]}]}, {}, True),
        ({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["risk"]}]}, {"team": "risk"}, False),
        ({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, {"team": ""}, True),
        ({"matchExpressions": [{"key": "team", "operator": "Exists"}]}, {}, False),
        ({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, {}, True),
        ({"matchExpressions": [{"key": "team", "operator": "DoesNotExist"}]}, {"team": "x"}, False),
        (
            {"matchLabels": {"tier": "prod"}, "matchExpressions": [{"key": "team", "operator": "In", "values": ["risk"]}]},
            {"tier": "prod", "team": "fraud"},
            False,
        ),
    ],
)
def test_label_selector_semantics(raw: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert selector_matches(_selector(**raw), labels) is expected


def test_selector_from_manifest() -> None:
    assert selector_from_manifest(None) is None
    selector = selector_from_manifest({"matchLabels": {"app": "x"}})
    assert selector is not None and selector_matches(selector, {"app": "x"})


# --- namespaces ------------------------------------------------------------------------------


def test_names_that_do_not_exist_are_reported() -> None:
    selection = select_namespaces(Namespaces(names=["prod-a", "gone"]), CLUSTER)
    assert selection.selected == ["prod-a"]
    assert selection.missing == ["gone"]


def test_globs_select_new_namespaces_too() -> None:
    selection = select_namespaces(Namespaces(globs=["prod-*", "staging-*"]), CLUSTER)
    assert selection.selected == ["prod-a", "prod-b", "prod-sandbox"]
    assert selection.reasons["prod-a"] == ["glob prod-*"]
    assert selection.unmatched_globs == ["staging-*"]


def test_label_selector_and_exclusions() -> None:
    spec = Namespaces(
        selector=_selector(matchExpressions=[{"key": "team", "operator": "Exists"}]),
        globs=["prod-*"],
        exclude=["prod-sandbox", "dev-*"],
    )
    selection = select_namespaces(spec, CLUSTER)
    assert selection.selected == ["prod-a", "prod-b"]
    assert selection.reasons["prod-a"] == ["glob prod-*", "selector"]
    assert selection.excluded == ["dev-a", "prod-sandbox"]


def test_not_in_selector_over_namespaces() -> None:
    spec = Namespaces(selector=_selector(matchExpressions=[{"key": "tier", "operator": "NotIn", "values": ["prod"]}]))
    assert select_namespaces(spec, CLUSTER).selected == ["dev-a", "kube-system", "prod-sandbox"]


def test_does_not_exist_selector_over_namespaces() -> None:
    spec = Namespaces(selector=_selector(matchExpressions=[{"key": "team", "operator": "DoesNotExist"}]))
    assert select_namespaces(spec, CLUSTER).selected == ["kube-system", "prod-sandbox"]


# --- objects ---------------------------------------------------------------------------------


def test_everything_is_included_without_rules() -> None:
    decision = select_object(Resources(), _obj("Secret", "s"))
    assert decision and decision.reason == "all objects (no include rules)"


def test_exclusion_by_group_kind_and_names() -> None:
    spec = Resources.model_validate(
        {"exclude": [{"group": "", "kind": "ConfigMap", "names": ["kube-root-ca.crt", "*-service-ca.crt"]}, {"kind": "event"}]}
    )
    assert not select_object(spec, _obj("ConfigMap", "kube-root-ca.crt"))
    assert not select_object(spec, _obj("ConfigMap", "openshift-service-ca.crt"))
    assert select_object(spec, _obj("ConfigMap", "app-config"))
    assert not select_object(spec, _obj("Event", "e1", api_version="events.k8s.io/v1"))
    # group "" is the core group only: an apps ConfigMap-like kind elsewhere is not matched.
    assert select_object(spec, _obj("ConfigMap", "kube-root-ca.crt", api_version="example.io/v1"))


def test_exclude_wins_over_include() -> None:
    spec = Resources.model_validate(
        {
            "include": [{"group": "serving.kserve.io"}, {"kind": "Secret", "labelSelector": {"matchLabels": {"opendatahub.io/dashboard": "true"}}}],
            "exclude": [{"group": "serving.kserve.io", "kind": "InferenceService", "names": ["scratch-*"]}],
        }
    )
    assert select_object(spec, _obj("InferenceService", "iris", "serving.kserve.io/v1beta1"))
    assert not select_object(spec, _obj("InferenceService", "scratch-1", "serving.kserve.io/v1beta1"))
    assert select_object(spec, _obj("Secret", "conn", labels={"opendatahub.io/dashboard": "true"}))
    decision = select_object(spec, _obj("Secret", "other"))
    assert not decision and decision.reason == "matches no include rule"


def test_cluster_scoped_objects_by_mode() -> None:
    crd = _obj("CustomResourceDefinition", "x.example.io", "apiextensions.k8s.io/v1", namespace=None)
    auto = Resources()
    assert not select_object(auto, crd)
    assert select_object(auto, crd, needed=True)
    off = Resources(include_cluster_resources=False)
    assert not select_object(off, crd, needed=True)
    on = Resources.model_validate({"includeClusterResources": True, "include": [{"kind": "StorageClass"}]})
    assert select_object(on, crd, needed=True)
    assert not select_object(on, crd)
    assert select_object(on, _obj("StorageClass", "fast", "storage.k8s.io/v1", namespace=None))


# --- volumes and artifacts -------------------------------------------------------------------


def test_volumes_all_by_default_with_exclusions() -> None:
    assert select_volume(Volumes(), "a", "data")
    spec = Volumes.model_validate({"exclude": [{"namespace": "rhoai-model-registries", "name": "model-catalog-*"}]})
    assert not select_volume(spec, "rhoai-model-registries", "model-catalog-postgres")
    assert select_volume(spec, "rhoai-model-registries", "model-registry-db")
    assert not select_volume(Volumes(capture=False), "a", "data")
    only = Volumes.model_validate({"include": [{"name": "rodolfo-*"}]})
    assert select_volume(only, "rhoai-demo", "rodolfo-workbench")
    assert not select_volume(only, "rhoai-demo", "mariadb-dspa")


def test_artifacts_exclusions() -> None:
    spec = Artifacts(exclude_buckets=["archive-*"], exclude_prefixes=["s3://models/tmp/", "models/scratch"])
    assert select_artifact(spec, "models", "iris/model.joblib")
    assert not select_artifact(spec, "archive-2024", "x")
    assert not select_artifact(spec, "models", "tmp/a")
    assert not select_artifact(spec, "models", "scratch/b")
    assert not select_artifact(Artifacts(capture=False), "models", "iris/model.joblib")
