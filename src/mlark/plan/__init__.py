"""Plans as code: the Plan model, its loader with positioned errors, and what a plan selects."""

from mlark.plan.labels import selector_from_manifest, selector_matches
from mlark.plan.loader import PlanError, PlanIssue, load_plan, parse_plan, plan_from_dict
from mlark.plan.models import (
    API_VERSION,
    KIND,
    Artifacts,
    DatabaseCredentials,
    Databases,
    DeclaredDatabase,
    Hook,
    Hooks,
    LabelSelector,
    LabelSelectorRequirement,
    Namespaces,
    Objectives,
    PasswordFrom,
    Plan,
    PlanSpec,
    ResourceRule,
    Resources,
    Retention,
    SecretKeyRef,
    SecretSource,
    Target,
    ValueSource,
    VolumeRule,
    Volumes,
    WorkloadRef,
)
from mlark.plan.selection import Decision, NamespaceSelection, select_artifact, select_namespaces, select_object, select_volume

__all__ = [
    "API_VERSION", "KIND", "Artifacts", "DatabaseCredentials", "Databases", "DeclaredDatabase", "Hook", "Hooks",
    "LabelSelector", "LabelSelectorRequirement", "Namespaces", "Objectives", "PasswordFrom", "Plan", "PlanError",
    "PlanIssue", "PlanSpec", "ResourceRule", "Resources", "Retention", "SecretKeyRef", "SecretSource", "Target",
    "ValueSource", "VolumeRule", "Volumes", "WorkloadRef", "load_plan", "parse_plan", "plan_from_dict",
    "Decision", "NamespaceSelection", "select_artifact", "select_namespaces", "select_object", "select_volume",
    "selector_from_manifest", "selector_matches",
]
