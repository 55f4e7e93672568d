"""What the planner and preflight know about the target cluster. Gathered by the Kubernetes layer
(discovery, CRDs, StorageClasses, Namespaces, the DataScienceCluster); pure data here."""

from __future__ import annotations

from pydantic import BaseModel

from mlark.restorepoint.models import ObjectRef

SCC_UID_RANGE = "openshift.io/sa.scc.uid-range"
SCC_GROUPS = "openshift.io/sa.scc.supplemental-groups"
SCC_MCS = "openshift.io/sa.scc.mcs"
SCC_ANNOTATIONS = (SCC_UID_RANGE, SCC_GROUPS, SCC_MCS)


class ServedKind(BaseModel):
    group: str = ""
    version: str
    kind: str
    namespaced: bool = True


class StorageClassFact(BaseModel):
    name: str
    provisioner: str = ""
    binding_mode: str = "Immediate"  # or WaitForFirstConsumer
    default: bool = False


class NamespaceFact(BaseModel):
    name: str
    annotations: dict[str, str] = {}
    labels: dict[str, str] = {}
    phase: str = "Active"


class ClusterFacts(BaseModel):
    kubernetes_version: str = ""  # "1.31.2"
    served: list[ServedKind] = []
    crds: list[str] = []  # CRD names: "inferenceservices.serving.kserve.io"
    storage_classes: list[StorageClassFact] = []
    namespaces: list[NamespaceFact] = []
    registries_namespace: str | None = None  # DataScienceCluster modelregistry.registriesNamespace
    existing: list[ObjectRef] = []  # target objects the plan would create, when looked up
    # "Kind.group" of custom resources some operator reconciles on the target. None: unknown, so
    # assume every operator is there. A kind missing from a known list gets its rendered objects
    # restored as captured instead of being left to an operator that would never render them.
    reconciled: list[str] | None = None

    def reconciles(self, group: str, kind: str) -> bool:
        return self.reconciled is None or f"{kind}.{group}" in self.reconciled or (not group and kind in self.reconciled)

    def namespace(self, name: str) -> NamespaceFact | None:
        return next((ns for ns in self.namespaces if ns.name == name), None)

    def storage_class(self, name: str) -> StorageClassFact | None:
        return next((sc for sc in self.storage_classes if sc.name == name), None)

    def default_storage_class(self) -> StorageClassFact | None:
        return next((sc for sc in self.storage_classes if sc.default), None)

    def serves(self, group: str, version: str, kind: str) -> bool:
        return any(s.group == group and s.version == version and s.kind == kind for s in self.served)

    def serves_kind(self, group: str, kind: str) -> list[str]:
        """The versions served for group/kind (empty: the kind is unknown to the target)."""
        return [s.version for s in self.served if s.group == group and s.kind == kind]

    def uid_range_holder(self, uid_range: str, besides: str) -> str | None:
        """Another namespace already holding `uid_range`, if any."""
        return next((ns.name for ns in self.namespaces
                     if ns.name != besides and ns.annotations.get(SCC_UID_RANGE) == uid_range), None)
