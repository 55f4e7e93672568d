"""Loading plans: the example loads; every bad plan is one clear, positioned message."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from mlark.plan import Plan, PlanError, load_plan, parse_plan, plan_from_dict

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "plans" / "rhoai-demo.yaml"

MINIMAL = """\
apiVersion: mlark.io/v1alpha1
kind: Plan
metadata:
  name: p
spec:
  namespaces:
    names: [a]
  targets:
    - name: local
      repository: ./repo
      passwordFrom: {env: MLARK_PASSWORD}
"""


def _error(text: str) -> str:
    with pytest.raises(PlanError) as caught:
        parse_plan(text, source="plan.yaml")
    return str(caught.value)


def test_example_plan_covers_both_seed_namespaces() -> None:
    plan = load_plan(EXAMPLE)
    assert plan.name == "rhoai-demo"
    assert plan.spec.namespaces.names == ["rhoai-demo", "rhoai-model-registries"]
    assert plan.spec.objectives is not None and plan.spec.objectives.rpo == timedelta(hours=1)
    assert plan.spec.schedule == "0 * * * *"
    assert plan.spec.databases.declared[0].credentials is not None
    # The model catalog is a restore-time exclusion, never a backup-time one.
    assert "model-catalog" not in EXAMPLE.read_text().replace("Model Catalog", "")


def test_minimal_plan_gets_defaults() -> None:
    plan = parse_plan(MINIMAL)
    assert plan.spec.volumes.capture and plan.spec.artifacts.capture and plan.spec.databases.auto_detect
    assert plan.spec.resources.include_cluster_resources == "auto"
    assert plan.spec.hooks.pre == [] and plan.spec.retention is None


def test_manifest_round_trips_in_camel_case() -> None:
    plan = load_plan(EXAMPLE)
    manifest = plan.to_manifest()
    assert manifest["spec"]["objectives"] == {"rpo": "1h", "rto": "15m"}
    assert manifest["spec"]["targets"][0]["passwordFrom"] == {"env": "MLARK_PASSWORD"}
    assert Plan.model_validate(manifest) == plan
    assert plan_from_dict(yaml.safe_load(yaml.safe_dump(manifest))) == plan


def test_wrong_type_names_field_line_and_column() -> None:
    text = MINIMAL.replace("names: [a]", "globs:\n      - {a: 1}")
    assert _error(text) == "plan.yaml:8:9: spec.namespaces.globs[0]: must be a string"


def test_unknown_field_points_at_its_key() -> None:
    text = MINIMAL.replace("names: [a]", "names: [a]\n    exclud: [b]")
    assert _error(text) == "plan.yaml:8:5: spec.namespaces.exclud: unknown field"


def test_missing_field_points_at_its_parent() -> None:
    text = MINIMAL.replace("      repository: ./repo\n", "")
    assert _error(text) == "plan.yaml:9:7: spec.targets[0].repository: is required"


def test_several_errors_are_all_reported_in_file_order() -> None:
    text = MINIMAL.replace("apiVersion: mlark.io/v1alpha1", "apiVersion: mlark.io/v1").replace(
        "names: [a]", "names: [a]\n  resources: {includeClusterResources: maybe}\n  objectives: {rpo: soon}"
    )
    lines = _error(text).splitlines()
    assert lines[0] == "plan.yaml:1:13: apiVersion: must be mlark.io/v1alpha1"
    assert lines[1] == "plan.yaml:8:40: spec.resources.includeClusterResources: must be auto, true or false"
    assert lines[2].startswith("plan.yaml:9:21: spec.objectives.rpo: 'soon' is not a duration")


@pytest.mark.parametrize(
    ("replace", "by", "expected"),
    [
        ("names: [a]", "names: [a]\n  schedule: '61 * * * *'", "spec.schedule: '61 * * * *' is not a valid cron expression"),
        ("names: [a]", "names: [a]\n  retention: {keepLast: -1}", "spec.retention.keepLast: must be at least 0"),
        ("names: [a]", "names: [a]\n  retention: {within: 3x}", "spec.retention.within: '3x' is not a retention period"),
        ("names: [a]", "selector: {matchExpressions: [{key: k, operator: In}]}", "operator In needs at least one value"),
        ("names: [a]", "selector: {matchExpressions: [{key: k, operator: Exists, values: [x]}]}", "takes no values"),
        ("names: [a]", "exclude: [b]", "spec.namespaces: select namespaces by names, globs or selector"),
        ("{env: MLARK_PASSWORD}", "{env: A, file: b}", "passwordFrom: give exactly one of env, file or secret"),
        ("{env: MLARK_PASSWORD}", "{env: 'not a var'}", "is not an environment variable name"),
        ("repository: ./repo", "repository: 's3:'", "names no bucket"),
        ("repository: ./repo", "repository: 'ftp://host/x'", "use a local path or s3:ENDPOINT/BUCKET/PREFIX"),
        ("name: local", "name: Local_1", "spec.targets[0].name: 'Local_1' is not a valid name"),
        ("name: p\n", "name: p\n  color: red\n", "plan.yaml:5:3: metadata.color: unknown field"),
        ("kind: Plan", "kind: Backup", "plan.yaml:2:7: kind: must be Plan"),
    ],
)
def test_bad_plans(replace: str, by: str, expected: str) -> None:
    assert replace in MINIMAL
    assert expected in _error(MINIMAL.replace(replace, by))


def test_duplicate_targets_are_rejected() -> None:
    text = MINIMAL + "    - name: local\n      repository: ./other\n      passwordFrom: {file: pw}\n"
    assert "target names must be unique; repeated: local" in _error(text)


def test_declared_database_needs_exactly_one_way_to_find_its_pod() -> None:
    text = MINIMAL + "  databases:\n    declared:\n      - {namespace: a, engine: postgres}\n"
    assert "spec.databases.declared[0]: give exactly one of workload or podSelector" in _error(text)


def test_password_is_never_a_literal() -> None:
    text = MINIMAL + (
        "  databases:\n    declared:\n      - namespace: a\n        workload: {name: db}\n        engine: mariadb\n"
        "        credentials: {password: {value: hunter2}}\n"
    )
    assert "spec.databases.declared[0].credentials.password.value: unknown field" in _error(text)


def test_malformed_yaml_is_one_message_with_its_line() -> None:
    assert _error("apiVersion: x\nkind: [\n").startswith("plan.yaml:3:1: invalid YAML: ")


def test_duplicate_keys_are_errors() -> None:
    assert _error(MINIMAL + "kind: Plan\n") == "plan.yaml:12:1: duplicate key 'kind'"


@pytest.mark.parametrize("text", ["", "# nothing\n", "- a\n", "just text\n"])
def test_not_a_mapping(text: str) -> None:
    message = _error(text)
    assert message.startswith("plan.yaml") and ("empty" in message or "is a mapping" in message)


def test_multiple_documents_are_rejected() -> None:
    assert "invalid YAML: expected a single document" in _error(MINIMAL + "---\n" + MINIMAL)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="cannot read the plan"):
        load_plan(tmp_path / "absent.yaml")


def test_plan_from_dict_reports_paths_without_positions() -> None:
    with pytest.raises(PlanError) as caught:
        plan_from_dict({"apiVersion": "mlark.io/v1alpha1", "kind": "Plan", "metadata": {"name": "p"}}, source="Plan p")
    assert str(caught.value) == "Plan p: spec: is required"
