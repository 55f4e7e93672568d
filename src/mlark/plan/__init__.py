"""Plans as code: the Plan model, its loader with positioned errors, and what a plan selects."""

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

__all__ = [
    "API_VERSION", "KIND", "Artifacts", "DatabaseCredentials", "Databases", "DeclaredDatabase", "Hook", "Hooks",
    "LabelSelector", "LabelSelectorRequirement", "Namespaces", "Objectives", "PasswordFrom", "Plan", "PlanError",
    "PlanIssue", "PlanSpec", "ResourceRule", "Resources", "Retention", "SecretKeyRef", "SecretSource", "Target",
    "ValueSource", "VolumeRule", "Volumes", "WorkloadRef", "load_plan", "parse_plan", "plan_from_dict",
]
