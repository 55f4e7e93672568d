"""Fingerprints of the seed scenario on the local cluster: taken twice they are equal; after a
change (a file in the workbench, a row in the registry, another request or model) the check
fails with a message naming the cause. Every change is undone before the test ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kubernetes.client import ApiClient

from mlark.dev.scenario.databases import query
from mlark.dev.scenario.spec import PIPELINES_DB, REGISTRY_DB
from mlark.kube.exec import exec_capture
from mlark.restore.artifacts import ArtifactStores
from mlark.verify.compare import verify
from mlark.verify.consistency import check_consistency
from mlark.verify.models import CheckResult, Fingerprint
from tests.e2e.story import workbench_pod, write_workbench_file
from tests.verify.conftest import Captured

DEMO = "rhoai-demo"
KINDS = {"inference", "files", "database", "model-registry", "pipelines", "artifacts"}


def by_name(fingerprints: list[Fingerprint]) -> dict[str, Fingerprint]:
    return {f.name: f for f in fingerprints}


def results(expected: list[Fingerprint], actual: list[Fingerprint]) -> dict[str, CheckResult]:
    return {result.name: result for result in verify(expected, actual)}


def only(fingerprints: list[Fingerprint], *kinds: str) -> list[Fingerprint]:
    return [f for f in fingerprints if f.kind in kinds]


def test_every_kind_is_taken_and_equal_when_taken_again(kube_primary: ApiClient, captured: Captured,
                                                         baseline: list[Fingerprint]) -> None:
    names = set(by_name(baseline))
    assert {f.kind for f in baseline} == KINDS
    assert {"inference rhoai-demo/iris", "files rhoai-demo/rodolfo-workbench", "database rhoai-demo/mariadb-dspa",
            "database rhoai-model-registries/model-registry-db", "registry rhoai-model-registries/rhoai-registry",
            "pipelines rhoai-demo/dspa"} <= names
    assert not [f.name for f in baseline if f.error], [f.data for f in baseline if f.error]
    found = by_name(baseline)
    assert found["inference rhoai-demo/iris"].data["output"]["outputs"][0]["data"] == [0, 2]
    assert "iris-classifier" in found["registry rhoai-model-registries/rhoai-registry"].data["models"]
    assert any(run.startswith("iris-run-1 ") for run in found["pipelines rhoai-demo/dspa"].data["runs"])

    again = captured.take(kube_primary, targets=baseline)  # the after-restore path: same subjects
    failed = [r for r in verify(baseline, again) if not r.passed]
    assert not failed, failed
    fresh = captured.take(kube_primary)  # the backup-time path chooses the same checks
    assert [f.name for f in fresh] == [f.name for f in baseline]
    assert all(r.passed for r in verify(baseline, fresh))


def test_a_new_file_in_the_workbench_fails_the_files_check(kube_primary: ApiClient, captured: Captured,
                                                           baseline: list[Fingerprint]) -> None:
    expected = only(baseline, "files")
    write_workbench_file(kube_primary, "verify-intruder.txt", b"not in the restore point\n")
    try:
        result = results(expected, captured.take(kube_primary, targets=expected))["files rhoai-demo/rodolfo-workbench"]
    finally:
        exec_capture(kube_primary, DEMO, workbench_pod(kube_primary), "rodolfo-workbench", ["rm", "-f", "verify-intruder.txt"]).check()
    assert not result.passed
    assert "./verify-intruder.txt" in result.message
    assert result.diff[0].startswith('+ files["./verify-intruder.txt"]')
    assert results(expected, captured.take(kube_primary, targets=expected))["files rhoai-demo/rodolfo-workbench"].passed


@contextmanager
def registered_intruder(api: ApiClient) -> Iterator[None]:
    """A registered model that was not in the restore point, deleted again afterwards."""
    query(api, REGISTRY_DB, "INSERT INTO Context (type_id, name, create_time_since_epoch, last_update_time_since_epoch) "
                            "VALUES (1, 'intruder-model', 1, 1)")
    try:
        yield
    finally:
        query(api, REGISTRY_DB, "DELETE FROM Context WHERE name = 'intruder-model'")


def test_a_row_in_the_registry_fails_registry_and_database_checks(kube_primary: ApiClient, captured: Captured,
                                                                 baseline: list[Fingerprint]) -> None:
    expected = only(baseline, "model-registry", "database")
    with registered_intruder(kube_primary):
        found = results(expected, captured.take(kube_primary, targets=expected))
    registry = found["registry rhoai-model-registries/rhoai-registry"]
    assert not registry.passed and "intruder-model" in registry.message
    database = found["database rhoai-model-registries/model-registry-db"]
    assert not database.passed and "model_registry.Context" in database.message
    assert '~ tables["model_registry.Context"].rows: 2 → 3' in database.diff
    assert found["database rhoai-demo/mariadb-dspa"].passed
    after = results(expected, captured.take(kube_primary, targets=expected))
    assert all(r.passed for r in after.values()), after


def test_a_changed_run_state_fails_the_pipelines_check(kube_primary: ApiClient, captured: Captured,
                                                       baseline: list[Fingerprint]) -> None:
    expected = only(baseline, "pipelines")
    query(kube_primary, PIPELINES_DB, "UPDATE run_details SET State = 'FAILED' WHERE DisplayName = 'iris-run-1'")
    try:
        [result] = verify(expected, captured.take(kube_primary, targets=expected))
    finally:
        query(kube_primary, PIPELINES_DB, "UPDATE run_details SET State = 'SUCCEEDED' WHERE DisplayName = 'iris-run-1'")
    assert not result.passed
    assert "iris-run-1" in result.message and '"SUCCEEDED" → "FAILED"' in result.message


def golden(baseline: list[Fingerprint], **subject: Any) -> Fingerprint:
    iris = by_name(baseline)["inference rhoai-demo/iris"]
    return iris.model_copy(update={"subject": {**iris.subject, **subject}})


def test_a_different_answer_fails_the_inference_check(kube_primary: ApiClient, captured: Captured,
                                                      baseline: list[Fingerprint]) -> None:
    expected = by_name(baseline)["inference rhoai-demo/iris"]
    other = {"inputs": [{"name": "predict", "shape": [2, 4], "datatype": "FP32",
                         "data": [[5.1, 3.5, 1.4, 0.2], [5.9, 3.0, 4.2, 1.5]]}]}  # a versicolor where the virginica was
    [result] = verify([expected], captured.take(kube_primary, targets=[golden(baseline, request=other)]))
    assert not result.passed
    assert result.message.startswith("differs: ~ output.outputs[0].data[1]: 2 → 1")


def test_another_model_fails_the_inference_check(kube_primary: ApiClient, captured: Captured,
                                                 baseline: list[Fingerprint]) -> None:
    expected = by_name(baseline)["inference rhoai-demo/iris"]
    [result] = verify([expected], captured.take(kube_primary, targets=[golden(baseline, path="/v2/models/not-iris/infer")]))
    assert not result.passed
    assert "~ status: 200 → 404" in result.diff


def test_a_new_object_in_the_model_location_fails_the_artifacts_check(kube_primary: ApiClient, captured: Captured,
                                                                      baseline: list[Fingerprint]) -> None:
    [expected] = [f for f in baseline if f.kind == "artifacts" and f.name.endswith("/models/iris")]
    client = ArtifactStores(captured.objects).client(expected.subject["endpoint"], expected.subject["bucket"])
    key = f"{expected.subject['prefix']}/verify-extra.bin"
    client.put_object(Bucket=expected.subject["bucket"], Key=key, Body=b"extra")
    try:
        [result] = verify([expected], captured.take(kube_primary, targets=[expected]))
    finally:
        client.delete_object(Bucket=expected.subject["bucket"], Key=key)
    assert not result.passed and 'objects["verify-extra.bin"]' in result.message


def test_unreachable_subjects_record_the_cause_and_the_rest_is_taken(kube_primary: ApiClient, captured: Captured,
                                                                     baseline: list[Fingerprint]) -> None:
    """A namespace mapping to a namespace where nothing runs: every namespaced check fails with
    its cause, none raises, and the bucket checks (not namespaced) still pass."""
    relocated = captured.take(kube_primary, targets=baseline, namespace_map={DEMO: "verify-nowhere"})
    found = results(baseline, relocated)
    assert "no running predictor pod" in found["inference rhoai-demo/iris"].message
    assert "verify-nowhere/rodolfo-workbench does not exist" in found["files rhoai-demo/rodolfo-workbench"].message
    assert "no running pod in verify-nowhere" in found["database rhoai-demo/mariadb-dspa"].message
    assert found["registry rhoai-model-registries/rhoai-registry"].passed
    assert all(r.passed for r in found.values() if r.kind == "artifacts")


def test_consistency_of_the_scenario(kube_primary: ApiClient, captured: Captured, baseline: list[Fingerprint],
                                     scenario: Any, s3_service: Any) -> None:
    from mlark.dev.scenario.bucket import OPT_FILES, OPT_PATH, publish_generative_placeholder

    def checks() -> dict[str, Any]:
        found = check_consistency(kube_primary, captured.objects, captured.manifest, fingerprints=baseline)
        return {c.name: c for c in found}

    found = checks()
    assert all(check.passed for check in found.values()), found
    # The opt-125m files gone: the InferenceService's storage path no longer resolves.
    client = s3_service.client()
    for name in OPT_FILES:
        client.delete_object(Bucket=scenario.bucket, Key=f"{OPT_PATH}/{name}")
    try:
        models = checks()["consistency model locations"]
    finally:
        publish_generative_placeholder(s3_service, scenario.bucket)
    assert not models.passed and len(models.diff) == 1 and "models/opt-125m" in models.message


def test_postgres_tables_are_counted_and_checksummed(kube_primary: ApiClient, captured: Captured,
                                                     baseline: list[Fingerprint]) -> None:
    """The catalog's PostgreSQL is empty in the scenario: a probe table is made, changed, dropped."""
    from mlark.dev.scenario.spec import CATALOG_DB

    [catalog] = [f for f in baseline if f.name == "database rhoai-model-registries/model-catalog-postgres"]
    query(kube_primary, CATALOG_DB, "CREATE TABLE verify_probe (id int, name text); INSERT INTO verify_probe VALUES (2, 'b'), (1, 'a')")
    try:
        [before] = captured.take(kube_primary, targets=[catalog])
        query(kube_primary, CATALOG_DB, "INSERT INTO verify_probe VALUES (3, 'c')")
        [after] = captured.take(kube_primary, targets=[catalog])
    finally:
        query(kube_primary, CATALOG_DB, "DROP TABLE IF EXISTS verify_probe")
    [table] = [name for name in before.data["tables"] if name.endswith(".public.verify_probe")]
    assert before.data["tables"][table]["rows"] == 2 and len(before.data["tables"][table]["checksum"]) == 32
    [result] = verify([before], [after])
    assert not result.passed and f'~ tables["{table}"].rows: 2 → 3' in result.diff
    assert verify([catalog], captured.take(kube_primary, targets=[catalog]))[0].passed


def test_a_registry_that_cannot_be_read_fails_the_model_locations_check(kube_primary: ApiClient, captured: Captured,
                                                                        baseline: list[Fingerprint]) -> None:
    """An error reading the registry's artifact URIs is a problem, not "no URI to check"."""
    mapping = {"rhoai-model-registries": "verify-nowhere"}
    relocated = captured.take(kube_primary, targets=only(baseline, "model-registry"), namespace_map=mapping)
    assert relocated[0].error is not None
    found = {c.name: c for c in check_consistency(kube_primary, captured.objects, captured.manifest, mapping, relocated)}
    models = found["consistency model locations"]
    assert models.passed is False
    assert models.message.startswith("registry rhoai-model-registries/rhoai-registry: its artifact URIs cannot be read: ")
    databases = found["consistency databases"]
    assert databases.passed is False
    assert any(line.startswith("database rhoai-model-registries/model-registry-db: database does not answer: ")
               and "no running pod in verify-nowhere" in line for line in databases.diff), databases.diff
