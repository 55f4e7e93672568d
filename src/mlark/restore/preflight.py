"""Preflight: what the target cluster lacks for this plan, before anything is touched. Pure.

Blocking findings stop the executor unless it is told to continue; warnings are reported.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from typing import Any

from pydantic import BaseModel

from mlark.restore.facts import SCC_UID_RANGE, ClusterFacts
from mlark.restore.options import ExistingPolicy
from mlark.restore.order import key
from mlark.restore.steps import CreateObject, RestorePlan, ReownVolume

Obj = dict[str, Any]
# Groups every conformant API server serves: their kinds need no CRD.
BUILTIN_GROUPS = frozenset({"", "apps", "batch", "rbac.authorization.k8s.io", "networking.k8s.io", "policy",
                            "storage.k8s.io", "apiextensions.k8s.io", "coordination.k8s.io", "autoscaling",
                            "discovery.k8s.io", "scheduling.k8s.io", "events.k8s.io", "node.k8s.io"})
REGISTRY_GROUP = "modelregistry.opendatahub.io"


class Severity(str, enum.Enum):
    blocking = "blocking"
    warning = "warning"
    info = "info"


class Finding(BaseModel):
    severity: Severity
    code: str  # missing-crd, missing-storage-class, registries-namespace, existing-object, uid-range ...
    subject: str
    message: str
    suggestion: str | None = None


def blocking(findings: list[Finding]) -> list[Finding]:
    return [finding for finding in findings if finding.severity == Severity.blocking]


def preflight(plan: RestorePlan, facts: ClusterFacts, source_version: str | None = None) -> list[Finding]:
    """Every finding for running `plan` against the cluster described by `facts`."""
    creates = plan.creates()
    return [
        *check_kinds(creates, facts),
        *check_storage_classes(creates, facts),
        *check_registries_namespace(creates, facts),
        *check_existing(creates, facts),
        *check_uid_ranges(plan, facts),
        *check_version(source_version, facts.kubernetes_version),
    ]


def _crds_in_plan(creates: list[CreateObject]) -> dict[tuple[str, str], str]:
    """(group, kind) -> CRD name, for the CRDs the plan creates itself."""
    crds = {}
    for step in creates:
        if step.ref.kind == "CustomResourceDefinition":
            spec = step.object.get("spec") or {}
            crds[(spec.get("group", ""), (spec.get("names") or {}).get("kind", ""))] = step.ref.name
    return crds


def check_kinds(creates: list[CreateObject], facts: ClusterFacts) -> list[Finding]:
    restored_crds = _crds_in_plan(creates)
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    for step in creates:
        if step.ref.group not in BUILTIN_GROUPS and not facts.serves(step.ref.group, step.ref.version, step.ref.kind):
            counts[(step.ref.group, step.ref.version, step.ref.kind)] += 1
    return [_kind_finding(group, version, kind, count, restored_crds, facts) for (group, version, kind), count in sorted(counts.items())]


def _kind_finding(group: str, version: str, kind: str, count: int, restored_crds: dict[tuple[str, str], str],
                  facts: ClusterFacts) -> Finding:
    subject = f"{kind}.{group}/{version}"
    served = facts.serves_kind(group, kind)
    if served:
        return Finding(severity=Severity.blocking, code="version-not-served", subject=subject,
                       message=f"{count} {kind} object(s) use {group}/{version}; the target serves {', '.join(served)}",
                       suggestion=f"add a transform replacing /apiVersion with {group}/{served[0]}")
    if (group, kind) in restored_crds:
        return Finding(severity=Severity.warning, code="crd-restored", subject=subject,
                       message=f"the plan creates CRD {restored_crds[(group, kind)]} itself; nothing shows that an "
                               f"operator on the target reconciles its {count} {kind} object(s)",
                       suggestion="install the operator that owns it before relying on the restored objects")
    return Finding(severity=Severity.blocking, code="missing-crd", subject=subject,
                   message=f"the target serves no {kind} in group {group} and the plan does not restore its CRD "
                           f"({count} object(s) need it)",
                   suggestion="install the operator providing it, or exclude the kind from the restore")


def _storage_classes_of(step: CreateObject) -> list[str | None]:
    """Storage classes an object asks for (None: the default class)."""
    spec = step.object.get("spec") or {}
    kind = (step.ref.group, step.ref.kind)
    if kind == ("", "PersistentVolumeClaim"):
        return [spec.get("storageClassName")]
    if kind == ("apps", "StatefulSet"):
        return [(t.get("spec") or {}).get("storageClassName") for t in spec.get("volumeClaimTemplates") or []]
    if kind == ("objectbucket.io", "ObjectBucketClaim"):
        return [spec["storageClassName"]] if spec.get("storageClassName") else []
    return []


def check_storage_classes(creates: list[CreateObject], facts: ClusterFacts) -> list[Finding]:
    wanted: dict[str | None, list[str]] = defaultdict(list)
    for step in creates:
        for name in _storage_classes_of(step):
            wanted[name].append(str(step.ref))
    default = facts.default_storage_class()
    findings = []
    for name, users in sorted(wanted.items(), key=lambda item: item[0] or ""):
        if name is None and default is None:
            findings.append(Finding(severity=Severity.blocking, code="no-default-storage-class", subject="(default)",
                                    message=f"{len(users)} claim(s) name no storage class and the target has no default",
                                    suggestion="mark a storage class as default, or add a transform naming one"))
        elif name is not None and facts.storage_class(name) is None:
            findings.append(_missing_class(name, users, facts))
    return findings


def _missing_class(name: str, users: list[str], facts: ClusterFacts) -> Finding:
    default = facts.default_storage_class()
    candidate = default.name if default else (facts.storage_classes[0].name if facts.storage_classes else None)
    suggestion = (f"map it: storage_class_mapping {{{name}: {candidate}}}" if candidate
                  else "the target has no storage class at all: install a provisioner")
    return Finding(severity=Severity.blocking, code="missing-storage-class", subject=name,
                   message=f"storage class {name} does not exist on the target (used by {', '.join(users[:3])}"
                           f"{' ...' if len(users) > 3 else ''})", suggestion=suggestion)


def _dsc_registries_namespace(creates: list[CreateObject]) -> str | None:
    for step in creates:
        if step.ref.kind == "DataScienceCluster":
            components = (step.object.get("spec") or {}).get("components") or {}
            return (components.get("modelregistry") or {}).get("registriesNamespace")
    return None


def check_registries_namespace(creates: list[CreateObject], facts: ClusterFacts) -> list[Finding]:
    """RHOAI's webhook admits a ModelRegistry only in the DataScienceCluster's registriesNamespace."""
    findings = []
    required = facts.registries_namespace or _dsc_registries_namespace(creates)
    for step in creates:
        if step.ref.group != REGISTRY_GROUP or step.ref.kind != "ModelRegistry":
            continue
        namespace = step.ref.namespace
        if required is None:
            findings.append(Finding(severity=Severity.warning, code="registries-namespace", subject=str(step.ref),
                                    message=f"no DataScienceCluster on the target names a registriesNamespace; "
                                            f"ModelRegistry {step.ref.name} needs it to be {namespace}"))
        elif required != namespace:
            findings.append(Finding(
                severity=Severity.blocking, code="registries-namespace", subject=str(step.ref),
                message=f"ModelRegistry {step.ref.name} would be restored into {namespace}, but the target's "
                        f"DataScienceCluster binds model registries to {required}: its webhook rejects it",
                suggestion=f"patch the DataScienceCluster's registriesNamespace to {namespace} before restoring, "
                           f"or map the registry's namespace to {required}"))
    return findings


def check_existing(creates: list[CreateObject], facts: ClusterFacts) -> list[Finding]:
    existing = {key(ref) for ref in facts.existing}
    findings = []
    for step in creates:
        if key(step.ref) in existing or (step.ref.kind == "Namespace" and facts.namespace(step.ref.name)):
            findings.append(_existing_finding(step, facts))
    return findings


def _existing_finding(step: CreateObject, facts: ClusterFacts) -> Finding:
    if step.ref.kind == "Namespace":
        fact = facts.namespace(step.ref.name)
        if fact is not None and fact.phase == "Terminating":
            return Finding(severity=Severity.blocking, code="namespace-terminating", subject=str(step.ref),
                           message=f"namespace {step.ref.name} is being deleted on the target",
                           suggestion="wait until it is gone, or map the restore to another namespace")
    outcome = {ExistingPolicy.skip: "skipped", ExistingPolicy.update: "updated", ExistingPolicy.fail: "a failure"}[step.policy]
    severity = Severity.blocking if step.policy == ExistingPolicy.fail else Severity.info
    return Finding(severity=severity, code="existing-object", subject=str(step.ref),
                   message=f"{step.ref} exists on the target: it will be {outcome}")


def check_uid_ranges(plan: RestorePlan, facts: ClusterFacts) -> list[Finding]:
    findings = [
        Finding(severity=Severity.warning, code="uid-range", subject=f"{step.namespace}/{step.claim}",
                message=f"volume data re-owned from UID range {step.from_uid_range} to "
                        f"{step.to_uid_range or 'the range OpenShift assigns to ' + step.namespace}")
        for step in plan.steps() if isinstance(step, ReownVolume)
    ]
    for step in plan.creates():
        kept = ((step.object.get("metadata") or {}).get("annotations") or {}).get(SCC_UID_RANGE)
        holder = facts.uid_range_holder(kept, besides=step.ref.name) if kept and step.ref.kind == "Namespace" else None
        if holder:
            findings.append(Finding(severity=Severity.warning, code="uid-range-shared", subject=str(step.ref),
                                    message=f"namespace {step.ref.name} keeps UID range {kept}, already held by {holder}",
                                    suggestion="uid_range=reassign gives it its own range (data is re-owned)"))
    return findings


def _minor(version: str) -> tuple[int, int] | None:
    parts = version.lstrip("v").split(".")
    try:
        return int(parts[0]), int(parts[1])
    except (IndexError, ValueError):
        return None


def check_version(source: str | None, target: str) -> list[Finding]:
    before, after = _minor(source or ""), _minor(target)
    if before and after and before > after:
        return [Finding(severity=Severity.warning, code="kubernetes-version", subject=target,
                        message=f"restoring from Kubernetes {source} to the older {target}: newer API fields may be dropped")]
    return []
