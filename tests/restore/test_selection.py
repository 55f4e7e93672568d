"""What the seed's restore leaves out and why: exclusions, regenerated objects, scope."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mlark.restore.facts import ClusterFacts
from mlark.restore.options import RestoreOptions
from mlark.restore.planner import build_plan
from mlark.restore.select import label_selector
from tests.restore.helpers import created_names, skipped
from tests.restore.seed import captured_objects, restore_point, seed_options


def test_seed_exclusion_leaves_the_model_catalog_out() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    reasons = skipped(plan)
    assert reasons[("PersistentVolumeClaim", "model-catalog-postgres")] == "excluded"
    assert reasons[("Deployment", "model-catalog")] == "excluded"
    assert reasons[("Deployment", "model-catalog-postgres")] == "excluded"
    assert "model-catalog-postgres" not in created_names(plan, "PersistentVolumeClaim")
    assert not {"model-catalog", "model-catalog-postgres"} & created_names(plan, "Deployment")
    assert any(note.code == "database-not-loaded" and "model-catalog-postgres" in note.message for note in plan.notes)


def test_regenerated_objects_are_skipped_with_a_reason_but_pvcs_are_kept() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options())
    detail = {(item.ref.kind, item.ref.name): item.detail for item in plan.skipped if item.reason.value == "regenerated"}
    assert "InferenceService iris" in detail[("Deployment", "iris-predictor")]
    assert "Notebook rodolfo-workbench" in detail[("StatefulSet", "rodolfo-workbench")]
    assert ("Deployment", "rhoai-registry") in detail
    # Owned by the DSPA, but it holds the pipeline database: restored.
    assert created_names(plan, "PersistentVolumeClaim") == {"rodolfo-workbench", "mariadb-dspa", "model-registry-db"}
    assert "ds-pipeline-db-dspa" in created_names(plan, "Secret")  # the password the data was written with


def test_include_regenerated_restores_rendered_objects() -> None:
    plan = build_plan(restore_point(), captured_objects(), seed_options(include_regenerated=True))
    assert {"iris-predictor", "mariadb-dspa"} <= created_names(plan, "Deployment")
    assert "rodolfo-workbench" in created_names(plan, "StatefulSet")


def test_without_the_operator_rendered_objects_are_restored_as_captured() -> None:
    facts = ClusterFacts(reconciled=["Notebook.kubeflow.org"])
    plan = build_plan(restore_point(), captured_objects(), seed_options(), facts=facts)
    assert "iris-predictor" in created_names(plan, "Deployment")  # no KServe controller there
    assert "rodolfo-workbench" not in created_names(plan, "StatefulSet")
    assert any(note.code == "no-operator" and "iris-predictor" in note.message for note in plan.notes)


def test_custom_regenerated_policy_is_used() -> None:
    def nothing_regenerated(obj: dict, is_restored: object) -> str | None:
        return None

    plan = build_plan(restore_point(), captured_objects(), seed_options(), regenerated=nothing_regenerated)
    assert "iris-predictor" in created_names(plan, "Deployment")


def test_partial_restore_by_kind_and_namespace() -> None:
    options = seed_options(scope={"namespaces": ["rhoai-demo"], "kinds": ["InferenceService.serving.kserve.io", "Secret"]})
    plan = build_plan(restore_point(), captured_objects(), options)
    kinds = {step.ref.kind for step in plan.creates()}
    assert kinds == {"InferenceService", "Secret", "Namespace"}  # the namespace is synthesised
    assert created_names(plan, "InferenceService") == {"iris", "opt125m"}
    assert all(step.ref.namespace in (None, "rhoai-demo") for step in plan.creates())


def test_partial_restore_by_label_and_name() -> None:
    options = seed_options(scope={"label_selector": "opendatahub.io/dashboard=true", "names": ["iris*", "mlserver-*"]})
    plan = build_plan(restore_point(), captured_objects(), options)
    assert {step.ref.name for step in plan.creates() if step.ref.kind != "Namespace"} == {"iris", "mlserver-runtime"}


def test_label_selector_forms() -> None:
    test = label_selector("app=x,tier!=db,env in (a, b),!legacy")
    assert test({"app": "x", "env": "b"})
    assert not test({"app": "x", "env": "c"})
    assert not test({"app": "x", "env": "a", "legacy": ""})
    assert label_selector("present")({"present": ""})


def test_bad_options_give_one_clear_error() -> None:
    with pytest.raises(ValidationError, match="both map to"):
        RestoreOptions(restore_point="r", namespace_mapping={"a": "c", "b": "c"})
    with pytest.raises(ValidationError, match="not a valid namespace"):
        RestoreOptions(restore_point="r", namespace_mapping={"a": "Not_Valid"})
    with pytest.raises(ValidationError, match="invalid JSON patch"):
        RestoreOptions(restore_point="r", transforms=[{"kind": "Secret", "patch": [{"op": "nope", "path": "/x"}]}])
    with pytest.raises(ValidationError):
        RestoreOptions(restore_point="r", existing="overwrite")
