"""OpenShift UID ranges: kept on new namespaces, data re-owned when the target's range differs."""

from __future__ import annotations

from mlark.restore.facts import SCC_UID_RANGE, ClusterFacts, NamespaceFact
from mlark.restore.planner import build_plan
from mlark.restore.preflight import preflight
from mlark.restore.steps import ReownVolume, WaitFor
from tests.restore.helpers import create
from tests.restore.seed import captured_objects, restore_point, seed_options

SOURCE_RANGE = "1000740000/10000"


def _reowns(plan) -> list[ReownVolume]:  # type: ignore[no-untyped-def]
    return [step for step in plan.steps() if isinstance(step, ReownVolume)]


def test_new_namespace_keeps_the_captured_range() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options(), facts=ClusterFacts())
    annotations = create(plan, "Namespace", "rhoai-demo").object["metadata"]["annotations"]
    assert annotations[SCC_UID_RANGE] == SOURCE_RANGE
    assert _reowns(plan) == []


def test_existing_namespace_with_another_range_reowns_restored_volumes() -> None:
    other = {SCC_UID_RANGE: "1000900000/10000", "openshift.io/sa.scc.supplemental-groups": "1000900000/10000"}
    facts = ClusterFacts(namespaces=[NamespaceFact(name="rhoai-demo", annotations=other)])
    plan = build_plan(restore_point(), captured_objects(), seed_options(), facts=facts)
    reown = _reowns(plan)
    assert [(step.claim, step.from_uid_range, step.to_uid_range) for step in reown] == [
        ("rodolfo-workbench", SOURCE_RANGE, "1000900000/10000")]
    assert SCC_UID_RANGE not in create(plan, "Namespace", "rhoai-demo").object["metadata"].get("annotations", {})
    assert any(finding.code == "uid-range" for finding in preflight(plan, facts))


def test_mapped_namespace_on_the_same_cluster_gets_its_own_range() -> None:
    """auto: the drill copy must not share the UID range its source namespace still holds."""
    facts = ClusterFacts(namespaces=[NamespaceFact(name="rhoai-demo", annotations={SCC_UID_RANGE: SOURCE_RANGE})])
    options = seed_options(namespace_mapping={"rhoai-demo": "rhoai-demo-drill"}, uid_range="auto")
    plan = build_plan(restore_point(), captured_objects(), options, facts=facts)
    assert SCC_UID_RANGE not in create(plan, "Namespace", "rhoai-demo-drill").object["metadata"].get("annotations", {})
    assert [(step.claim, step.to_uid_range) for step in _reowns(plan)] == [("rodolfo-workbench", None)]
    waits = [step for step in plan.steps() if isinstance(step, WaitFor) and step.condition.value == "RangeAssigned"]
    assert [wait.ref.name for wait in waits] == ["rhoai-demo-drill"]


def test_keep_policy_keeps_a_shared_range_and_preflight_warns() -> None:
    facts = ClusterFacts(namespaces=[NamespaceFact(name="rhoai-demo", annotations={SCC_UID_RANGE: SOURCE_RANGE})])
    options = seed_options(namespace_mapping={"rhoai-demo": "rhoai-demo-drill"}, uid_range="keep")
    plan = build_plan(restore_point(), captured_objects(), options, facts=facts)
    assert _reowns(plan) == []
    assert any(finding.code == "uid-range-shared" for finding in preflight(plan, facts))
