"""Small lookups over a RestorePlan for the tests."""

from __future__ import annotations

from typing import Any

from mlark.restore.steps import CreateObject, RestorePlan, Step


def index_of(plan: RestorePlan, kind: str, name: str, step_type: type[Any] = CreateObject) -> int:
    for index, step in enumerate(plan.steps()):
        if isinstance(step, step_type) and _names(step) == (kind, name):
            return index
    raise AssertionError(f"no {step_type.__name__} for {kind} {name} in the plan")


def _names(step: Step) -> tuple[str, str] | None:
    ref = getattr(step, "ref", None) or getattr(step, "workload", None)
    return (ref.kind, ref.name) if ref is not None else None


def create(plan: RestorePlan, kind: str, name: str) -> CreateObject:
    return next(step for step in plan.creates() if step.ref.kind == kind and step.ref.name == name)


def created_names(plan: RestorePlan, kind: str) -> set[str]:
    return {step.ref.name for step in plan.creates() if step.ref.kind == kind}


def skipped(plan: RestorePlan) -> dict[tuple[str, str], str]:
    return {(item.ref.kind, item.ref.name): item.reason.value for item in plan.skipped}
