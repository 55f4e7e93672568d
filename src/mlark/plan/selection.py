"""What a plan selects, decided from plain data (no cluster access).

The backup orchestration lists namespaces and objects; these functions say which of them the
plan takes, and why, so `mlark plan show` can explain every choice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from mlark.plan.labels import selector_matches
from mlark.plan.models import Artifacts, Namespaces, ResourceRule, Resources, VolumeRule, Volumes


@dataclass(frozen=True)
class NamespaceSelection:
    selected: list[str]  # sorted
    reasons: dict[str, list[str]]  # namespace -> why ("name", "glob prod-*", "selector")
    missing: list[str]  # names the plan lists that the cluster does not have
    excluded: list[str] = field(default_factory=list)  # selected, then taken out by `exclude`
    unmatched_globs: list[str] = field(default_factory=list)  # globs that matched nothing


@dataclass(frozen=True)
class Decision:
    included: bool
    reason: str

    def __bool__(self) -> bool:
        return self.included


def _glob_match(pattern: str, value: str) -> bool:
    return fnmatchcase(value, pattern)


def select_namespaces(spec: Namespaces, cluster: Mapping[str, Mapping[str, str]]) -> NamespaceSelection:
    """Namespaces of the cluster (name -> labels) that the plan selects."""
    reasons: dict[str, list[str]] = {}
    for name in spec.names:
        if name in cluster:
            reasons.setdefault(name, []).append("name")
    unmatched = []
    for glob in spec.globs:
        hits = [name for name in cluster if _glob_match(glob, name)]
        for name in hits:
            reasons.setdefault(name, []).append(f"glob {glob}")
        if not hits:
            unmatched.append(glob)
    if spec.selector is not None:
        for name, labels in cluster.items():
            if selector_matches(spec.selector, labels):
                reasons.setdefault(name, []).append("selector")
    excluded = sorted(name for name in reasons if any(_glob_match(pattern, name) for pattern in spec.exclude))
    for name in excluded:
        del reasons[name]
    missing = [name for name in spec.names if name not in cluster]
    return NamespaceSelection(sorted(reasons), reasons, missing, excluded, unmatched)


def _group_of(obj: Mapping[str, Any]) -> str:
    api_version = str(obj.get("apiVersion", ""))
    return api_version.rpartition("/")[0]


def rule_matches(rule: ResourceRule, obj: Mapping[str, Any]) -> bool:
    """Every field the rule gives holds for the object (kinds compare case-insensitively)."""
    metadata = obj.get("metadata") or {}
    if rule.group is not None and rule.group != "*" and rule.group != _group_of(obj):
        return False
    if rule.kind is not None and rule.kind != "*" and rule.kind.lower() != str(obj.get("kind", "")).lower():
        return False
    name = str(metadata.get("name", ""))
    if rule.names and not any(_glob_match(pattern, name) for pattern in rule.names):
        return False
    if rule.label_selector is not None and not selector_matches(rule.label_selector, metadata.get("labels")):
        return False
    return True


def _describe(rule: ResourceRule) -> str:
    parts = [f"{key}={value}" for key, value in (("group", rule.group), ("kind", rule.kind)) if value is not None]
    if rule.names:
        parts.append("names=" + ",".join(rule.names))
    if rule.label_selector is not None:
        parts.append("labelSelector")
    return " ".join(parts) or "any object"


def select_object(spec: Resources, obj: Mapping[str, Any], *, needed: bool = False) -> Decision:
    """Include or exclude one object of a selected namespace, or a cluster-scoped object.

    `needed` says that captured namespaced objects depend on this cluster-scoped object (its
    CRD, the PV of a PVC, a bound ClusterRole); in `auto` mode only those are taken.
    """
    for rule in spec.exclude:
        if rule_matches(rule, obj):
            return Decision(False, f"excluded by rule ({_describe(rule)})")
    cluster_scoped = not (obj.get("metadata") or {}).get("namespace")
    if cluster_scoped:
        mode = spec.include_cluster_resources
        if mode is False:
            return Decision(False, "cluster resources are off (includeClusterResources: false)")
        if mode == "auto":
            return Decision(True, "needed by captured objects") if needed else Decision(False, "cluster-scoped, not needed")
        if needed:
            return Decision(True, "needed by captured objects")
    if not spec.include:
        return Decision(True, "all objects (no include rules)")
    for rule in spec.include:
        if rule_matches(rule, obj):
            return Decision(True, f"included by rule ({_describe(rule)})")
    return Decision(False, "matches no include rule")


def _volume_rule_matches(rule: VolumeRule, namespace: str, claim: str) -> bool:
    if rule.namespace is not None and not _glob_match(rule.namespace, namespace):
        return False
    return rule.name is None or _glob_match(rule.name, claim)


def select_volume(spec: Volumes, namespace: str, claim: str) -> Decision:
    """Whether the data of PVC `namespace/claim` is captured (its object always is)."""
    if not spec.capture:
        return Decision(False, "volume capture is off")
    if any(_volume_rule_matches(rule, namespace, claim) for rule in spec.exclude):
        return Decision(False, "excluded by a volumes rule")
    if spec.include and not any(_volume_rule_matches(rule, namespace, claim) for rule in spec.include):
        return Decision(False, "matches no volumes include rule")
    return Decision(True, "captured")


def _prefix_parts(prefix: str) -> tuple[str, str]:
    bucket, _, key_prefix = prefix.removeprefix("s3://").partition("/")
    return bucket, key_prefix


def select_artifact(spec: Artifacts, bucket: str, key: str) -> Decision:
    """Whether the S3 object `bucket/key` that a captured ML object points at is copied."""
    if not spec.capture:
        return Decision(False, "artifact capture is off")
    if any(_glob_match(pattern, bucket) for pattern in spec.exclude_buckets):
        return Decision(False, f"bucket {bucket} is excluded")
    for prefix in spec.exclude_prefixes:
        excluded_bucket, key_prefix = _prefix_parts(prefix)
        if excluded_bucket == bucket and key.startswith(key_prefix):
            return Decision(False, f"prefix {prefix} is excluded")
    return Decision(True, "captured")
