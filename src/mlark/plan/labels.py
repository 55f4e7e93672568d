"""Kubernetes label selector semantics, pure (also used by the application plugins)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlark.plan.models import LabelSelector, LabelSelectorRequirement


def _requirement_matches(requirement: LabelSelectorRequirement, labels: Mapping[str, str]) -> bool:
    present = requirement.key in labels
    if requirement.operator == "In":
        return present and labels[requirement.key] in requirement.values
    if requirement.operator == "NotIn":
        # As in Kubernetes: a missing key satisfies NotIn.
        return not present or labels[requirement.key] not in requirement.values
    if requirement.operator == "Exists":
        return present
    return not present


def selector_matches(selector: LabelSelector, labels: Mapping[str, str] | None) -> bool:
    """All matchLabels and all matchExpressions hold; an empty selector matches everything."""
    labels = labels or {}
    if any(labels.get(key) != value for key, value in selector.match_labels.items()):
        return False
    return all(_requirement_matches(requirement, labels) for requirement in selector.match_expressions)


def selector_from_manifest(raw: Mapping[str, Any] | None) -> LabelSelector | None:
    """A selector as found in a manifest (Deployment.spec.selector, ...), or None when absent."""
    if raw is None:
        return None
    return LabelSelector.model_validate(dict(raw))
