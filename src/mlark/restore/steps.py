"""The restore plan: ordered phases of steps the executor runs, and what was left out and why.

Every step is a tagged pydantic model (`type`), so a plan serialises to JSON for `--dry-run`,
logs and the audit record, and the executor dispatches on the tag. Object references in steps
are TARGET references (namespaces already mapped); `source` keeps the captured identity.
"""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field

from mlark.restore.options import ExistingPolicy
from mlark.restorepoint.models import ArtifactCapture, DatabaseCapture, ObjectRef, VolumeCapture


class PhaseName(str, enum.Enum):
    """The fixed phase order; see docs/restore.md for why each comes where it does."""

    crds = "crds"
    namespaces = "namespaces"
    cluster = "cluster"  # cluster RBAC, then other cluster-scoped objects (DataScienceCluster)
    identity = "identity"  # ServiceAccounts, Roles, RoleBindings
    config = "config"  # Secrets, ConfigMaps
    buckets = "buckets"  # ObjectBucketClaims: they produce Secrets/ConfigMaps and hold artifacts
    volumes = "volumes"  # PVCs and their data
    databases = "databases"  # database workloads, running, then their dumps loaded
    workloads = "workloads"
    network = "network"  # Services, NetworkPolicies, Ingresses, Routes
    artifacts = "artifacts"  # model artifacts back into their buckets, before serving starts
    custom_resources = "custom-resources"
    operator_data = "operator-data"  # dumps into databases the operators render (DSPA's MariaDB)
    relink = "relink"  # ownerReferences to owners created later in the plan


PHASE_ORDER: tuple[PhaseName, ...] = tuple(PhaseName)


class OwnerLink(BaseModel):
    """An ownerReference to re-create: the owner's uid is only known once the owner exists."""

    owner: ObjectRef  # target reference of the owner
    controller: bool = False
    block_owner_deletion: bool = False


class Condition(str, enum.Enum):
    established = "Established"  # CRD accepted by the API server
    bound = "Bound"  # PVC bound to a volume
    running = "Running"  # a workload's pods running and ready
    range_assigned = "RangeAssigned"  # OpenShift gave a namespace its sa.scc.* annotations


class CreateObject(BaseModel):
    type: Literal["create"] = "create"
    ref: ObjectRef
    source: ObjectRef
    object: dict[str, Any]  # the body to create, every transform applied, no ownerReferences
    policy: ExistingPolicy
    owners: list[OwnerLink] = []  # owners created earlier in the plan: set at creation
    rewrites: list[str] = []  # what mlark changed, for the dry-run and the audit record


class WaitFor(BaseModel):
    type: Literal["wait"] = "wait"
    condition: Condition
    ref: ObjectRef
    selector: dict[str, str] = {}  # pod labels, for Running
    timeout_seconds: int = 300


class RestoreVolume(BaseModel):
    """Stream a captured volume archive into a claim (a mover pod mounts it, which also binds
    claims of WaitForFirstConsumer classes). `only_if_created`: skip when the claim already
    existed (its live data is not overwritten unless the policy is update)."""

    type: Literal["volume"] = "volume"
    capture: VolumeCapture
    namespace: str
    claim: str
    only_if_created: bool = True


class ReownVolume(BaseModel):
    """Shift file owners of restored data from the captured namespace's ranges to the target's.
    A `to_*` of None means: read it from the target namespace once OpenShift has assigned it."""

    type: Literal["reown"] = "reown"
    namespace: str
    claim: str
    from_uid_range: str | None  # OpenShift form "start/size"
    to_uid_range: str | None
    from_groups: str | None = None  # sa.scc.supplemental-groups
    to_groups: str | None = None


class LoadDatabase(BaseModel):
    """Load a dump into the database running in the target namespace, found by pod labels."""

    type: Literal["database"] = "database"
    capture: DatabaseCapture
    namespace: str
    workload: ObjectRef | None  # target reference; None when the database has no known workload
    selector: dict[str, str]
    container: str
    # Load only if this restore created `guard` (the database's claim, else its workload): an
    # existing database holds live data that a dump must not overwrite. None: always load.
    guard: ObjectRef | None = None
    # Redis: the RDB is written to this path inside the claim `guard` names, before the server
    # starts (Redis reads it only at start); owned by data_owner (uid, gid) so it can rewrite it.
    data_file: str | None = None
    aof_file: str | None = None  # also written there when the server runs with appendonly yes
    data_owner: tuple[int, int] = (0, 0)


class RestoreArtifact(BaseModel):
    type: Literal["artifact"] = "artifact"
    capture: ArtifactCapture
    bucket: str
    key: str
    only_if_missing: bool = True  # skip when the bucket already holds the same ETag


class LinkOwners(BaseModel):
    type: Literal["link-owners"] = "link-owners"
    ref: ObjectRef
    owners: list[OwnerLink]


Step = Annotated[
    Union[CreateObject, WaitFor, RestoreVolume, ReownVolume, LoadDatabase, RestoreArtifact, LinkOwners],
    Field(discriminator="type"),
]


class PlanPhase(BaseModel):
    name: PhaseName
    steps: list[Step] = []


class SkipReason(str, enum.Enum):
    out_of_scope = "out-of-scope"
    excluded = "excluded"
    regenerated = "regenerated"  # an operator (or the platform) renders it again
    not_restorable = "not-restorable"  # cluster-assigned or derived: Events, Endpoints, PVs ...


class Skipped(BaseModel):
    ref: ObjectRef  # source reference
    reason: SkipReason
    detail: str


class PlanNote(BaseModel):
    """Something the planner noticed that does not stop it: a dependency cycle, an edge that
    points to a later phase, an owner that is not restored."""

    code: str
    message: str


class RestorePlan(BaseModel):
    restore_point: str
    namespace_mapping: dict[str, str] = {}
    phases: list[PlanPhase] = []
    skipped: list[Skipped] = []
    notes: list[PlanNote] = []

    def steps(self) -> list[Step]:
        return [step for phase in self.phases for step in phase.steps]

    def creates(self) -> list[CreateObject]:
        return [step for step in self.steps() if isinstance(step, CreateObject)]

    def phase(self, name: PhaseName) -> PlanPhase | None:
        return next((phase for phase in self.phases if phase.name == name), None)
