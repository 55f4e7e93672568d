"""Preflight against the facts of a bare cluster and of a prepared one."""

from __future__ import annotations

from mlark.restore.facts import ClusterFacts, NamespaceFact, ServedKind, StorageClassFact
from mlark.restore.planner import build_plan
from mlark.restore.preflight import Severity, blocking, preflight
from tests.restore.seed import captured_objects, restore_point, seed_options

BARE = ClusterFacts(kubernetes_version="1.31.0", storage_classes=[StorageClassFact(name="standard", default=True)],
                    namespaces=[NamespaceFact(name="default")])


def _codes(findings: list, severity: Severity | None = None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for finding in findings:
        if severity is None or finding.severity == severity:
            out.setdefault(finding.code, set()).add(finding.subject)
    return out


def test_bare_cluster_reports_missing_crds_storage_classes_and_registries_namespace() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options(scope={"kinds": [
        "InferenceService.serving.kserve.io", "ServingRuntime.serving.kserve.io", "ModelRegistry.modelregistry.opendatahub.io",
        "PersistentVolumeClaim", "ObjectBucketClaim.objectbucket.io"]}))
    findings = preflight(plan, BARE)
    codes = _codes(findings, Severity.blocking)
    assert codes["missing-crd"] == {"InferenceService.serving.kserve.io/v1beta1", "ServingRuntime.serving.kserve.io/v1alpha1",
                                    "ModelRegistry.modelregistry.opendatahub.io/v1beta1", "ObjectBucketClaim.objectbucket.io/v1alpha1"}
    assert codes["missing-storage-class"] == {"ocs-storagecluster-cephfs", "ocs-storagecluster-ceph-rbd", "openshift-storage.noobaa.io"}
    suggestion = next(f.suggestion for f in findings if f.subject == "ocs-storagecluster-cephfs")
    assert suggestion == "map it: storage_class_mapping {ocs-storagecluster-cephfs: standard}"
    assert _codes(findings, Severity.warning)["registries-namespace"] == {"ModelRegistry.modelregistry.opendatahub.io rhoai-model-registries/rhoai-registry"}


def test_crds_restored_by_the_plan_are_warnings_not_blockers() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    findings = preflight(plan, BARE)
    assert "missing-crd" not in _codes(findings)
    assert "InferenceService.serving.kserve.io/v1beta1" in _codes(findings, Severity.warning)["crd-restored"]
    # The DataScienceCluster restored by the plan names the registries namespace: no finding.
    assert "registries-namespace" not in _codes(findings)


def test_model_registry_outside_the_registries_namespace_blocks_naming_both() -> None:
    options = seed_options(namespace_mapping={"rhoai-model-registries": "registries-drill"})
    plan = build_plan(restore_point(), captured_objects(), options)
    facts = BARE.model_copy(update={"registries_namespace": "rhoai-model-registries"})
    finding = next(f for f in blocking(preflight(plan, facts)) if f.code == "registries-namespace")
    assert "registries-drill" in finding.message and "rhoai-model-registries" in finding.message


def test_mapped_storage_classes_and_served_kinds_pass() -> None:
    mapping = {"ocs-storagecluster-cephfs": "standard", "ocs-storagecluster-ceph-rbd": "standard", "openshift-storage.noobaa.io": "standard"}
    plan = build_plan(restore_point(), captured_objects(), seed_options(storage_class_mapping=mapping))
    served = [ServedKind(group=step.ref.group, version=step.ref.version, kind=step.ref.kind) for step in plan.creates()]
    facts = BARE.model_copy(update={"served": served, "registries_namespace": "rhoai-model-registries"})
    assert blocking(preflight(plan, facts)) == []


def test_version_not_served_suggests_a_transform() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options(scope={"kinds": ["InferenceService.serving.kserve.io"]}))
    facts = BARE.model_copy(update={"served": [ServedKind(group="serving.kserve.io", version="v1", kind="InferenceService")]})
    finding = next(f for f in preflight(plan, facts) if f.code == "version-not-served")
    assert finding.severity == Severity.blocking and "serving.kserve.io/v1" in (finding.suggestion or "")


def test_existing_objects_are_reported_per_policy() -> None:
    existing = [step.ref for step in build_plan(restore_point(), captured_objects(), seed_options()).creates() if step.ref.kind == "Secret"]
    facts = BARE.model_copy(update={"existing": existing, "namespaces": [NamespaceFact(name="rhoai-demo")]})
    skip = preflight(build_plan(restore_point(), captured_objects(), seed_options()), facts)
    assert {f.severity for f in skip if f.code == "existing-object"} == {Severity.info}
    assert any("will be skipped" in f.message for f in skip)
    fail = preflight(build_plan(restore_point(), captured_objects(), seed_options(existing="fail")), facts)
    assert len([f for f in blocking(fail) if f.code == "existing-object"]) == len(existing) + 1  # + the namespace


def test_terminating_namespace_blocks() -> None:
    facts = BARE.model_copy(update={"namespaces": [NamespaceFact(name="rhoai-demo", phase="Terminating")]})
    findings = preflight(build_plan(restore_point(), captured_objects(), seed_options()), facts)
    assert "namespace-terminating" in _codes(blocking(findings))


def test_older_target_kubernetes_is_a_warning() -> None:
    findings = preflight(build_plan(restore_point(), captured_objects(), seed_options()), BARE, source_version="v1.33.1")
    assert "kubernetes-version" in _codes(findings, Severity.warning)
