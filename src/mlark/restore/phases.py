"""Assemble the planned items into ordered phases of steps, add the data steps, re-link owners."""

from __future__ import annotations

from typing import Any

from mlark.restore import data
from mlark.restore.facts import ClusterFacts
from mlark.restore.options import DatabaseData, RestoreOptions
from mlark.restore.order import Key, dependencies, key, order_phase, phase_of
from mlark.restore.steps import (PHASE_ORDER, Condition, CreateObject, LinkOwners, OwnerLink, PhaseName, PlanNote,
                                 PlanPhase, RestorePlan, Step, WaitFor)
from mlark.restore.uidrange import RangeDecision
from mlark.restorepoint.models import ObjectRef, RestorePoint

Obj = dict[str, Any]
_WAIT_AFTER_CREATE = {
    ("apiextensions.k8s.io", "CustomResourceDefinition"): Condition.established,
    ("objectbucket.io", "ObjectBucketClaim"): Condition.bound,
}


class Assembler:
    """Builds the phases of one plan; `items` are the planner's Item objects by source key."""

    def __init__(self, plan: RestorePlan, items: dict[Key, Any], restore_point: RestorePoint, options: RestoreOptions,
                 facts: ClusterFacts | None, decisions: dict[str, RangeDecision], regenerated: set[Key],
                 captured: dict[Key, Obj]) -> None:
        self.plan, self.items, self.point, self.options = plan, items, restore_point, options
        self.facts, self.decisions, self.regenerated, self.captured = facts, decisions, regenerated, captured
        self.steps: dict[PhaseName, list[Step]] = {name: [] for name in PHASE_ORDER}
        self.db_workloads = {key(db.workload) for db in restore_point.databases if db.workload and key(db.workload) in items}

    def target(self, ref: ObjectRef) -> ObjectRef:
        return self.options.target_ref(ref)

    def run(self) -> None:
        by_phase: dict[PhaseName, list[ObjectRef]] = {name: [] for name in PHASE_ORDER}
        for object_key, item in self.items.items():
            by_phase[phase_of(item.source, object_key in self.db_workloads)].append(item.source)
        graph = dependencies(self.point.edges, self._owner_edges())
        for name in PHASE_ORDER:
            refs, cycles = order_phase(by_phase[name], graph)
            for cycle in cycles:
                loop = " -> ".join(f"{k[1]} {k[2] + '/' if k[2] else ''}{k[3]}" for k in [*cycle, cycle[0]])
                self.plan.notes.append(PlanNote(code="cycle", message=f"dependency cycle in phase {name.value}: {loop}"))
            self._creates(name, refs)
        self._inversions()
        self._volumes()
        self._databases()
        self._artifacts()
        self.plan.phases = [PlanPhase(name=name, steps=steps) for name, steps in self.steps.items() if steps]
        self._link_owners()

    def _owner_edges(self) -> dict[Key, set[Key]]:
        graph: dict[Key, set[Key]] = {}
        for object_key, item in self.items.items():
            for owner, _ in item.owners:
                graph.setdefault(object_key, set()).add(key(owner))
        return graph

    def _creates(self, name: PhaseName, refs: list[ObjectRef]) -> None:
        steps = self.steps[name]
        waits: list[Step] = []
        for ref in refs:
            item = self.items[key(ref)]
            steps.append(CreateObject(ref=item.target, source=item.source, object=item.body,
                                      policy=self.options.existing, rewrites=item.rewrites))
            condition = _WAIT_AFTER_CREATE.get((ref.group, ref.kind))
            if condition is not None:
                waits.append(WaitFor(condition=condition, ref=item.target))
            if name == PhaseName.namespaces:
                waits.extend(self._range_wait(item.target))
        steps.extend(waits)

    def _range_wait(self, target: ObjectRef) -> list[Step]:
        decision = self.decisions.get(target.name)
        if decision is not None and decision.reown and decision.to_uid_range is None:
            return [WaitFor(condition=Condition.range_assigned, ref=target)]
        return []

    def _inversions(self) -> None:
        """Recorded edges whose target comes in a later phase than their source."""
        index = {name: position for position, name in enumerate(PHASE_ORDER)}
        for edge in self.point.edges:
            if not isinstance(edge.target, ObjectRef):
                continue
            source, target = key(edge.source), key(edge.target)
            if source in self.items and target in self.items:
                before = phase_of(edge.source, source in self.db_workloads)
                after = phase_of(edge.target, target in self.db_workloads)
                if index[before] < index[after]:
                    self.plan.notes.append(PlanNote(code="order-inversion", message=(
                        f"{edge.source} ({before.value}) depends on {edge.target} ({after.value}) "
                        f"through {edge.relation}: the phase order is kept")))

    def _volumes(self) -> None:
        db_claims = {(db.namespace, db.claim) for db in self.point.databases if db.claim}
        empty = data.dump_replaces_files(db_claims, self.options)
        for volume in self.point.volumes:
            item = self.items.get(key(data.claim_ref(volume.namespace, volume.claim)))
            if item is None:
                continue  # the claim is skipped: the plan's skipped list says why
            if (volume.namespace, volume.claim) in empty:
                self.plan.notes.append(PlanNote(code="database-volume-empty", message=(
                    f"volume {volume.namespace}/{volume.claim} created empty: its database dump is loaded instead")))
                continue
            decision = self.decisions.get(item.target.namespace or "")
            self.steps[PhaseName.volumes].extend(
                data.volume_steps(volume, item.body, item.target, self.options, decision, self.facts))

    def _databases(self) -> None:
        restored = set(self.items)
        for db in self.point.databases:
            workload_key = key(db.workload) if db.workload else None
            workload = self.captured.get(workload_key) if workload_key else None
            if db.engine == "redis":  # its RDB is its data file: it goes into its claim before it starts
                bodies = {item_key: item.body for item_key, item in self.items.items()}
                steps, notes = data.redis_steps(db, workload, self.target, bodies, self.options, self.facts)
                self.steps[PhaseName.volumes].extend(steps)
                self.plan.notes.extend(notes)
                continue
            if self.options.database_data == DatabaseData.files:
                continue
            if workload_key in self.db_workloads:
                phase = PhaseName.databases
            elif workload_key in self.regenerated or (workload_key is None and db.namespace in self._namespaces()):
                phase = PhaseName.operator_data
            else:
                self.plan.notes.append(PlanNote(code="database-not-loaded", message=(
                    f"database {db.namespace}/{db.pod} not loaded: its workload {db.workload} is not restored")))
                continue
            self.steps[phase].extend(data.database_steps(db, workload, self.target, restored, self.options))

    def _namespaces(self) -> set[str]:
        return {item.source.namespace for item in self.items.values() if item.source.namespace}

    def _artifacts(self) -> None:
        steps, notes = data.artifact_steps(self.point.artifacts, set(self.items), self.options)
        self.steps[PhaseName.artifacts].extend(steps)
        self.plan.notes.extend(notes)

    def _link_owners(self) -> None:
        created: dict[Key, int] = {}
        relinks: list[Step] = []
        for index, step in enumerate(self.plan.steps()):
            if isinstance(step, CreateObject):
                created[key(step.source)] = index
        for step in self.plan.creates():
            later = self._owners_of(step, created)
            if later:
                relinks.append(LinkOwners(ref=step.ref, owners=later))
        if relinks:
            self.plan.phases.append(PlanPhase(name=PhaseName.relink, steps=relinks))

    def _owners_of(self, step: CreateObject, created: dict[Key, int]) -> list[OwnerLink]:
        """Fill `step.owners` with owners created before it; return those created after it."""
        later = []
        for owner, raw in self.items[key(step.source)].owners:
            owner_key = next((k for k in (key(owner), (owner.group, owner.kind, "", owner.name)) if k in created), None)
            if owner_key is None:
                self.plan.notes.append(PlanNote(code="owner-dropped", message=(
                    f"{step.ref}: ownerReference to {owner.kind} {owner.name} dropped: the owner is not restored")))
                continue
            link = OwnerLink(owner=self.items[owner_key].target, controller=bool(raw.get("controller")),
                             block_owner_deletion=bool(raw.get("blockOwnerDeletion")))
            (step.owners if created[owner_key] < created[key(step.source)] else later).append(link)
        return later
