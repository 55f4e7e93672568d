"""build_plan: captured objects + restore point + options (+ target facts) -> RestorePlan. Pure.

select (scope, exclusions, never-restorable) -> leave regenerated objects to their operators ->
transform each object -> UID-range decisions -> phases in dependency order -> data steps ->
owner re-linking. Nothing here talks to a cluster: the executor runs the plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from mlark.restore.facts import ClusterFacts
from mlark.restore.options import RestoreOptions
from mlark.restore.order import Key, key
from mlark.restore.regenerated import (RegeneratedPolicy, controller_of, not_restorable, owned_by_restored_controller,
                                       owner_refs, platform_generated)
from mlark.restore.select import in_scope, matching_exclusion
from mlark.restore.steps import PlanNote, RestorePlan, Skipped, SkipReason
from mlark.restore.transform import TransformError, transform
from mlark.restore.uidrange import RangeDecision, apply_to_namespace, decide
from mlark.restorepoint.models import ObjectRef, RestorePoint

Obj = dict[str, Any]


class PlanError(ValueError):
    """The restore cannot be planned (a transform that does not apply): one clear message."""


@dataclass
class Item:
    """One object the plan creates."""

    source: ObjectRef
    target: ObjectRef
    body: Obj
    rewrites: list[str]
    owners: list[tuple[ObjectRef, dict[str, Any]]] = field(default_factory=list)  # source owner refs


def _skip(plan: RestorePlan, ref: ObjectRef, reason: SkipReason, detail: str) -> None:
    plan.skipped.append(Skipped(ref=ref, reason=reason, detail=detail))


def select(captured: dict[Key, Obj], options: RestoreOptions, plan: RestorePlan) -> dict[Key, Obj]:
    restored: dict[Key, Obj] = {}
    for object_key, obj in captured.items():
        ref = ObjectRef.of(obj)
        rule = matching_exclusion(ref, options.exclude)
        if not in_scope(obj, ref, options.scope):
            _skip(plan, ref, SkipReason.out_of_scope, "not selected by the restore's scope")
        elif rule is not None:
            _skip(plan, ref, SkipReason.excluded, f"excluded by rule {rule.describe()}")
        elif reason := not_restorable(ref, obj):
            _skip(plan, ref, SkipReason.not_restorable, reason)
        elif reason := platform_generated(ref, obj):
            _skip(plan, ref, SkipReason.regenerated, reason)
        else:
            restored[object_key] = obj
    return restored


def leave_to_operators(restored: dict[Key, Obj], options: RestoreOptions, facts: ClusterFacts | None,
                       policy: RegeneratedPolicy, plan: RestorePlan) -> set[Key]:
    """Keys of the objects operators regenerate from restored owners (removed from `restored`)."""
    if options.include_regenerated:
        return set()
    left: set[Key] = set()
    for object_key, obj in restored.items():
        reason = policy(obj, lambda ref: key(ref) in restored)
        if reason is None:
            continue
        controller = controller_of(obj)
        if facts is not None and controller is not None and not facts.reconciles(controller.group, controller.kind):
            plan.notes.append(PlanNote(code="no-operator", message=f"{ObjectRef.of(obj)} restored as captured: "
                                       f"no operator reconciles {controller.kind} on the target"))
            continue
        left.add(object_key)
        _skip(plan, ObjectRef.of(obj), SkipReason.regenerated, reason)
    for object_key in left:
        del restored[object_key]
    return left


def status_is_data(captured: dict[Key, Obj]) -> set[tuple[str, str]]:
    """Custom resource kinds without a status subresource: their status is written with the
    object and can hold real state (an Argo Workflow's run history), so it is restored."""
    kinds = set()
    for obj in captured.values():
        if obj.get("kind") == "CustomResourceDefinition":
            spec = obj.get("spec") or {}
            if not any("status" in (version.get("subresources") or {}) for version in spec.get("versions") or []):
                kinds.add((spec.get("group", ""), spec.get("names", {}).get("kind", "")))
    return kinds


def range_decisions(restored: dict[Key, Obj], captured: dict[Key, Obj], options: RestoreOptions,
                    facts: ClusterFacts | None) -> dict[str, RangeDecision]:
    sources = {k[2] for k in restored if k[2]} | {k[3] for k in restored if k[:2] == ("", "Namespace")}
    return {
        options.target_namespace(source): decide(captured.get(("", "Namespace", "", source)),
                                                 options.target_namespace(source), options.uid_range, facts)
        for source in sorted(sources)
    }


def make_items(restored: dict[Key, Obj], captured: dict[Key, Obj], options: RestoreOptions,
               decisions: dict[str, RangeDecision]) -> dict[Key, Item]:
    keep_status = status_is_data(captured)
    items: dict[Key, Item] = {}
    for object_key, obj in restored.items():
        source = ObjectRef.of(obj)
        try:
            body, rewrites = transform(obj, options, keep_status=(source.group, source.kind) in keep_status)
        except TransformError as error:
            raise PlanError(str(error)) from error
        target = options.target_ref(source)
        if source.kind == "Namespace" and source.group == "" and target.name in decisions:
            body = apply_to_namespace(body, decisions[target.name])
            rewrites.append(f"OpenShift UID range: {decisions[target.name].reason}")
        items[object_key] = Item(source, target, body, rewrites, owner_refs(obj))
    _synthesise_namespaces(items, options)
    return items


def _synthesise_namespaces(items: dict[Key, Item], options: RestoreOptions) -> None:
    """Objects whose Namespace was not captured (or not selected) still need it to exist."""
    have = {item.target.name for item in items.values() if item.target.kind == "Namespace" and item.target.group == ""}
    sources = {item.source.namespace for item in items.values() if item.source.namespace}
    for source in sorted(sources):
        target = options.target_namespace(source)
        if target not in have:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": target}}
            ref = ObjectRef(kind="Namespace", name=source)
            items[key(ref)] = Item(ref, options.target_ref(ref), body, ["synthesised: no Namespace object was restored"])


def build_plan(restore_point: RestorePoint, objects: Iterable[Obj], options: RestoreOptions,
               facts: ClusterFacts | None = None,
               regenerated: RegeneratedPolicy = owned_by_restored_controller) -> RestorePlan:
    """The restore plan for `objects` (the restore point's captured objects, as stored).

    `facts` about the target refine it (UID ranges of existing namespaces, binding modes, which
    operators run there); without them the plan assumes an empty target. `regenerated` decides
    which objects operators render again (see mlark.restore.regenerated)."""
    from mlark.restore.phases import Assembler

    plan = RestorePlan(restore_point=options.restore_point, namespace_mapping=dict(options.namespace_mapping))
    captured = {key(ObjectRef.of(obj)): obj for obj in objects}
    restored = select(captured, options, plan)
    left = leave_to_operators(restored, options, facts, regenerated, plan)
    decisions = range_decisions(restored, captured, options, facts)
    items = make_items(restored, captured, options, decisions)
    Assembler(plan, items, restore_point, options, facts, decisions, left, captured).run()
    return plan
