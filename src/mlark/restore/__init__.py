"""The pure restore planner: from a restore point's captured objects, options and (optionally)
facts about the target cluster to an ordered RestorePlan, a preflight report, and the result
models the executor fills. Nothing in this package talks to a cluster.

    build_plan(restore_point, objects, options, facts=None, regenerated=...) -> RestorePlan
"""

from mlark.restore.facts import ClusterFacts, NamespaceFact, ServedKind, StorageClassFact
from mlark.restore.options import (ArtifactPolicy, DatabaseData, ExistingPolicy, Exclusion, GroupKind, RestoreOptions,
                                   Scope, Transform, UidRangePolicy)
from mlark.restore.planner import PlanError, build_plan
from mlark.restore.regenerated import RegeneratedPolicy, owned_by_restored_controller
from mlark.restore.steps import (Condition, CreateObject, LinkOwners, LoadDatabase, OwnerLink, PhaseName, PlanNote,
                                 PlanPhase, RestoreArtifact, RestorePlan, RestoreVolume, ReownVolume, Skipped,
                                 SkipReason, Step, WaitFor)

__all__ = [
    "ArtifactPolicy", "ClusterFacts", "Condition", "CreateObject", "DatabaseData", "Exclusion", "ExistingPolicy",
    "GroupKind", "LinkOwners", "LoadDatabase", "NamespaceFact", "OwnerLink", "PhaseName", "PlanError", "PlanNote",
    "PlanPhase", "RegeneratedPolicy", "RestoreArtifact", "RestoreOptions", "RestorePlan", "RestoreVolume",
    "ReownVolume", "Scope", "ServedKind", "SkipReason", "Skipped", "StorageClassFact", "Step", "Transform",
    "UidRangePolicy", "WaitFor", "build_plan", "owned_by_restored_controller",
]
