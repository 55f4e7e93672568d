"""Steps that bring data back: volume archives, database dumps, model artifacts, re-owning.

Databases: when both a dump and the raw volume of a database were captured, the default
(DatabaseData.dump) creates the claim EMPTY and loads the dump once the database runs: the dump is
the application-consistent copy, the raw files only crash-consistent. DatabaseData.files restores
the raw files and loads nothing.
"""

from __future__ import annotations

from typing import Any, Callable

from mlark.apps.databases import redis_data_file
from mlark.restore.facts import ClusterFacts
from mlark.restore.options import ArtifactPolicy, DatabaseData, ExistingPolicy, RestoreOptions
from mlark.restore.order import Key, key
from mlark.restore.steps import (Condition, LoadDatabase, PlanNote, RestoreArtifact, RestoreVolume, ReownVolume,
                                 Step, WaitFor)
from mlark.restore.uidrange import RangeDecision
from mlark.restorepoint.models import ArtifactCapture, DatabaseCapture, ObjectRef, VolumeCapture

Obj = dict[str, Any]
Target = Callable[[ObjectRef], ObjectRef]


def claim_ref(namespace: str, claim: str) -> ObjectRef:
    return ObjectRef(kind="PersistentVolumeClaim", namespace=namespace, name=claim)


def dump_replaces_files(db_claims: set[tuple[str, str]], options: RestoreOptions) -> set[tuple[str, str]]:
    """(namespace, claim) of database volumes restored empty because their dump is loaded."""
    return db_claims if options.database_data == DatabaseData.dump else set()


def _binds_immediately(body: Obj, facts: ClusterFacts | None) -> bool:
    if facts is None:
        return False  # unknown: the mover pod's mount binds the claim, whatever the binding mode
    name = (body.get("spec") or {}).get("storageClassName")
    storage_class = facts.storage_class(name) if name else facts.default_storage_class()
    return storage_class is not None and storage_class.binding_mode == "Immediate"


def volume_steps(volume: VolumeCapture, body: Obj, target: ObjectRef, options: RestoreOptions,
                 decision: RangeDecision | None, facts: ClusterFacts | None) -> list[Step]:
    steps: list[Step] = []
    if _binds_immediately(body, facts):
        steps.append(WaitFor(condition=Condition.bound, ref=target))
    steps.append(RestoreVolume(capture=volume, namespace=target.namespace or "", claim=target.name,
                               only_if_created=options.existing != ExistingPolicy.update))
    if decision is not None and decision.reown:
        steps.append(ReownVolume(namespace=target.namespace or "", claim=target.name,
                                 from_uid_range=decision.from_uid_range, to_uid_range=decision.to_uid_range,
                                 from_groups=decision.from_groups, to_groups=decision.to_groups))
    return steps


def workload_selector(workload: Obj | None) -> dict[str, str]:
    selector = ((workload or {}).get("spec") or {}).get("selector") or {}
    return dict(selector.get("matchLabels") or {})


def database_steps(db: DatabaseCapture, workload: Obj | None, target: Target, restored: set[Key],
                   options: RestoreOptions) -> list[Step]:
    """Wait for the database's pods, then load the dump (guarded by what this restore created,
    unless the restore updates existing objects: then the dump replaces the existing data)."""
    workload_ref = target(db.workload) if db.workload else None
    selector = workload_selector(workload)
    steps: list[Step] = []
    if workload_ref is not None:
        steps.append(WaitFor(condition=Condition.running, ref=workload_ref, selector=selector))
    guard = None  # with --existing update: always load (every dump drops what it recreates)
    if options.existing == ExistingPolicy.update:
        pass
    elif db.claim and key(claim_ref(db.namespace, db.claim)) in restored:
        guard = target(claim_ref(db.namespace, db.claim))
    elif workload_ref is not None and db.workload is not None and key(db.workload) in restored:
        guard = workload_ref
    steps.append(LoadDatabase(capture=db, namespace=options.target_namespace(db.namespace), workload=workload_ref,
                              selector=selector, container=db.container, guard=guard))
    return steps


def redis_steps(db: DatabaseCapture, workload: Obj | None, target: Target, restored: dict[Key, Obj],
                options: RestoreOptions, facts: ClusterFacts | None) -> tuple[list[Step], list[PlanNote]]:
    """Redis reads its RDB only when it starts: the dump is written into its data claim, which
    this restore creates empty, before its workload exists (volumes phase). An existing claim is
    never written into: its server runs and would overwrite the file."""
    location = redis_data_file(workload, db.container)
    where = f"Redis {db.namespace}/{db.workload.name if db.workload else db.pod}"
    if location is None:
        return [], [PlanNote(code="redis-not-loaded", message=(
            f"{where}: no PersistentVolumeClaim holds its data directory, so there is nowhere to put its RDB "
            "before it starts: it starts empty"))]
    claim = claim_ref(db.namespace, location.claim)
    if key(claim) not in restored:
        return [], [PlanNote(code="redis-not-loaded", message=(
            f"{where}: its data claim {location.claim} is not restored, so its RDB is not loaded"))]
    steps: list[Step] = []
    if _binds_immediately(restored[key(claim)], facts):  # as for a volume: the mover needs it Bound
        steps.append(WaitFor(condition=Condition.bound, ref=target(claim)))
    steps.append(LoadDatabase(
        capture=db, namespace=options.target_namespace(db.namespace), workload=target(db.workload) if db.workload else None,
        selector=workload_selector(workload), container=db.container, guard=target(claim), data_file=location.path,
        aof_file=location.aof_path, data_owner=(location.uid, location.gid)))
    return steps, []


def artifact_steps(artifacts: list[ArtifactCapture], restored: set[Key],
                   options: RestoreOptions) -> tuple[list[Step], list[PlanNote]]:
    if options.artifacts == ArtifactPolicy.never:
        notes = [PlanNote(code="artifacts-off", message=f"{len(artifacts)} artifact(s) not restored: artifacts=never")]
        return [], notes if artifacts else []
    steps: list[Step] = []
    for artifact in artifacts:
        users = artifact.referenced_by
        if users and not any(key(ref) in restored for ref in users):
            continue  # nothing restored points at it
        steps.append(RestoreArtifact(capture=artifact, bucket=options.bucket_mapping.get(artifact.bucket, artifact.bucket),
                                     key=artifact.key, only_if_missing=options.artifacts == ArtifactPolicy.if_missing))
    return steps, []
