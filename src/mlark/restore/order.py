"""Dependency order: which phase each object belongs to, and its place inside the phase.

The phase order is fixed (PhaseName); inside a phase objects are sorted by a kind rank (so a
ServingRuntime precedes the InferenceServices using it even without a recorded edge), then by
namespace and name, and then refined by the restore point's edges with a stable topological sort.
Edges that point to a later phase cannot be honoured by reordering; they become notes.
"""

from __future__ import annotations

from mlark.restore.graph import topological
from mlark.restore.steps import PhaseName
from mlark.restorepoint.models import Edge, ObjectRef

Key = tuple[str, str, str, str]  # group, kind, namespace ("" cluster-scoped), name: no version

_WORKLOADS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet"),
              ("batch", "Job"), ("batch", "CronJob"), ("", "Pod"), ("", "ReplicationController"),
              ("autoscaling", "HorizontalPodAutoscaler"), ("policy", "PodDisruptionBudget")}
_NETWORK = {("", "Service"), ("networking.k8s.io", "NetworkPolicy"), ("networking.k8s.io", "Ingress"),
            ("route.openshift.io", "Route")}
_BY_KIND: dict[tuple[str, str], PhaseName] = {
    ("apiextensions.k8s.io", "CustomResourceDefinition"): PhaseName.crds,
    ("", "Namespace"): PhaseName.namespaces,
    # Quotas and limits constrain every pod that follows, so they come with the identities.
    ("", "ResourceQuota"): PhaseName.identity,
    ("", "LimitRange"): PhaseName.identity,
    ("", "ServiceAccount"): PhaseName.identity,
    ("rbac.authorization.k8s.io", "Role"): PhaseName.identity,
    ("rbac.authorization.k8s.io", "RoleBinding"): PhaseName.identity,
    ("", "Secret"): PhaseName.config,
    ("", "ConfigMap"): PhaseName.config,
    ("objectbucket.io", "ObjectBucketClaim"): PhaseName.buckets,
    ("", "PersistentVolumeClaim"): PhaseName.volumes,
    **{kind: PhaseName.workloads for kind in _WORKLOADS},
    **{kind: PhaseName.network for kind in _NETWORK},
}
# Rank inside a phase when no edge says otherwise (lower first; unknown kinds rank 5).
_RANK: dict[tuple[str, str], int] = {
    ("rbac.authorization.k8s.io", "ClusterRole"): 0,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): 1,
    ("", "ResourceQuota"): 0, ("", "LimitRange"): 0,
    ("", "ServiceAccount"): 1,
    ("rbac.authorization.k8s.io", "Role"): 2,
    ("rbac.authorization.k8s.io", "RoleBinding"): 3,
    ("", "Secret"): 0, ("", "ConfigMap"): 1,
    ("", "Service"): 0,
    ("serving.kserve.io", "ServingRuntime"): 0,
    ("serving.kserve.io", "ClusterServingRuntime"): 0,
    ("modelregistry.opendatahub.io", "ModelRegistry"): 1,
    ("datasciencepipelinesapplications.opendatahub.io", "DataSciencePipelinesApplication"): 1,
    ("kubeflow.org", "Notebook"): 2,
    ("serving.kserve.io", "InferenceService"): 3,
    ("serving.kserve.io", "LLMInferenceService"): 3,
    ("argoproj.io", "Workflow"): 8,  # after the pipeline server whose persistence agent reads it
}


def key(ref: ObjectRef) -> Key:
    return (ref.group, ref.kind, ref.namespace or "", ref.name)


def phase_of(ref: ObjectRef, database_workload: bool = False) -> PhaseName:
    if database_workload:
        return PhaseName.databases
    phase = _BY_KIND.get((ref.group, ref.kind))
    if phase is not None:
        return phase
    if ref.namespace is None:
        return PhaseName.cluster  # ClusterRoles, bindings, cluster-scoped custom resources (DSC)
    return PhaseName.custom_resources


def rank(ref: ObjectRef) -> int:
    if ref.namespace is None and ref.group not in ("", "rbac.authorization.k8s.io"):
        return 4  # cluster-scoped custom resources after cluster RBAC
    return _RANK.get((ref.group, ref.kind), 5)


def dependencies(edges: list[Edge], extra: dict[Key, set[Key]] | None = None) -> dict[Key, set[Key]]:
    """source -> the objects it depends on, by versionless key (external targets ignored)."""
    graph: dict[Key, set[Key]] = {k: set(v) for k, v in (extra or {}).items()}
    for edge in edges:
        if isinstance(edge.target, ObjectRef):
            graph.setdefault(key(edge.source), set()).add(key(edge.target))
    return graph


def order_phase(refs: list[ObjectRef], graph: dict[Key, set[Key]]) -> tuple[list[ObjectRef], list[list[Key]]]:
    """Refs of one phase in restore order, and the dependency cycles found among them."""
    by_key = {key(ref): ref for ref in refs}
    initial = sorted(by_key, key=lambda k: (rank(by_key[k]), k[2], k[1], k[3]))
    ordered, cycles = topological(initial, graph)
    return [by_key[k] for k in ordered], cycles
