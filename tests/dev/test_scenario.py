"""The demo scenario: pure rendering checks, then the deployed scenario on the primary cluster."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest

from mlark.dev.scenario import ScenarioInfo, UnknownScenario, check_name
from mlark.dev.scenario.render import (
    build_context,
    load_crds,
    owner_key,
    render_objects,
    render_text,
    status_subresource_kinds,
    with_owner_uids,
)
from mlark.dev.scenario.seeds import kfp_seed_sql, registry_seed_sql, sql_literal
from mlark.dev.scenario.spec import Facts, Passwords
from mlark.dev.services.s3 import S3Endpoint

SEED_CLASSES = [0, 2]


def _context() -> dict[str, str]:
    s3 = S3Endpoint(endpoint="http://127.0.0.1:9000", access_key="AK\"quoted", secret_key="s'e\\cret")
    passwords = Passwords(dspa_db="p1", registry_db="p2", registry_db_root="p3", catalog_db="p4")
    return build_context(s3, Facts(cluster_id="cluster-a", created_at=datetime(2026, 1, 5, tzinfo=timezone.utc), passwords=passwords))


def test_unknown_scenario_is_one_clear_error() -> None:
    assert check_name("rhoai-demo") == "rhoai-demo"
    with pytest.raises(UnknownScenario, match="known scenarios: rhoai-demo"):
        check_name("kubeflow-demo")


def test_crds_have_the_real_groups_scopes_and_versions() -> None:
    crds = {crd["spec"]["names"]["kind"]: crd for crd in load_crds()}
    assert crds["DataScienceCluster"]["spec"]["scope"] == "Cluster"
    assert crds["ModelRegistry"]["spec"]["group"] == "modelregistry.opendatahub.io"
    assert [v["name"] for v in crds["ModelRegistry"]["spec"]["versions"]] == ["v1beta1"]
    assert crds["InferenceService"]["spec"]["names"]["shortNames"] == ["isvc"]
    assert "Workflow" not in status_subresource_kinds(list(crds.values()))
    assert "InferenceService" in status_subresource_kinds(list(crds.values()))


def test_rendered_objects_are_unique_and_owners_come_first() -> None:
    objects = render_objects(_context())
    keys = [owner_key(o["apiVersion"], o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects]
    assert len(keys) == len(set(keys))
    uids: dict[str, str] = {}
    for obj, key in zip(objects, keys):
        with_owner_uids(obj, uids)  # raises if an owner would be applied after what it owns
        uids[key] = "uid"


def test_credentials_survive_yaml_escaping() -> None:
    secret = next(o for o in render_objects(_context()) if o["metadata"]["name"] == "aws-connection-rhoai-demo-bucket")
    assert secret["stringData"]["AWS_ACCESS_KEY_ID"] == "AK\"quoted"
    assert secret["stringData"]["AWS_SECRET_ACCESS_KEY"] == "s'e\\cret"
    assert render_text('v: "${x}"', {"x": "a\nb: c"}) == [{"v": "a\nb: c"}]


def test_seed_sql_quotes_and_points_at_the_bucket() -> None:
    context = _context()
    assert sql_literal("it's \\ here") == "'it\\'s \\\\ here'"
    workflow = next(o for o in render_objects(context) if o["kind"] == "Workflow")
    assert "'iris-run-1'" in kfp_seed_sql(context, workflow)
    assert f"'{context['model_uri']}'" in registry_seed_sql(context)


# -- the deployed scenario ------------------------------------------------------------------


@pytest.mark.cluster
def test_crds_established(scenario: ScenarioInfo, kube_primary: Any) -> None:
    from mlark.dev.scenario.kube import condition, get

    for crd in load_crds():
        live = get(kube_primary, "apiextensions.k8s.io/v1", "CustomResourceDefinition", crd["metadata"]["name"])
        assert condition(live, "Established") == "True", crd["metadata"]["name"]


@pytest.mark.cluster
def test_every_object_present_with_owners(scenario: ScenarioInfo, kube_primary: Any, s3_service: S3Endpoint) -> None:
    from mlark.dev.scenario.kube import get
    from mlark.dev.scenario.report import build_report

    report = build_report(kube_primary, s3_service, with_prediction=False)
    assert [f"{o.kind}/{o.name}" for o in report.objects if not o.present] == []
    assert all(pvc.phase == "Bound" for pvc in report.pvcs)
    isvc = get(kube_primary, "serving.kserve.io/v1beta1", "InferenceService", "iris", "rhoai-demo")
    predictor = get(kube_primary, "apps/v1", "Deployment", "iris-predictor", "rhoai-demo")
    assert isvc and predictor
    assert predictor["metadata"]["ownerReferences"][0]["uid"] == isvc["metadata"]["uid"]
    workflow = get(kube_primary, "argoproj.io/v1alpha1", "Workflow", scenario.workflow, "rhoai-demo")
    assert workflow and workflow["status"]["phase"] == "Succeeded" and workflow["status"]["progress"] == "5/5"


@pytest.mark.cluster
def test_registry_dump_contains_iris_classifier(scenario: ScenarioInfo, kube_primary: Any) -> None:
    from mlark.dev.scenario.databases import dump

    text = dump(kube_primary, scenario.registry_db)
    assert "iris-classifier" in text
    assert scenario.model_uri in text


@pytest.mark.cluster
def test_notebook_file_readable_via_exec(scenario: ScenarioInfo, kube_primary: Any) -> None:
    from mlark.dev.scenario.seeding import read_notebook

    notebook = json.loads(read_notebook(kube_primary))
    assert notebook["nbformat"] == 4
    assert any("come back to" in "".join(cell["source"]) for cell in notebook["cells"])


@pytest.mark.cluster
def test_iris_predictor_answers_through_port_forward(scenario: ScenarioInfo, kube_primary: Any) -> None:
    from mlark.dev.scenario.predict import predict_iris

    assert predict_iris(kube_primary).classes == SEED_CLASSES


@pytest.mark.cluster
def test_pipeline_run_succeeded_in_dspa_database(scenario: ScenarioInfo, kube_primary: Any) -> None:
    from mlark.dev.scenario.databases import query

    rows = query(kube_primary, scenario.pipelines_db,
                 "SELECT r.DisplayName, r.State, p.Name FROM run_details r JOIN pipelines p ON p.UUID = r.PipelineId")
    assert rows.split("\n")[0].split("\t") == ["iris-run-1", "SUCCEEDED", "iris-classifier-training"]


@pytest.mark.cluster
def test_bucket_holds_the_iris_model(scenario: ScenarioInfo, s3_service: S3Endpoint) -> None:
    from mlark.dev.scenario.bucket import model_present

    assert model_present(s3_service, scenario.bucket)


@pytest.mark.cluster
def test_deploy_is_idempotent(scenario: ScenarioInfo, kube_primary: Any, s3_service: S3Endpoint) -> None:
    from mlark.dev.scenario.databases import query
    from mlark.dev.scenario.deploy import deploy

    assert deploy(kube_primary, s3_service) == scenario
    assert query(kube_primary, scenario.registry_db, "SELECT COUNT(*) FROM Context").strip() == "2"
