"""Recovery drills (issue 4): a passing drill with every fingerprint equal and its RTO; drills that
fail and name why; an audit trail whose tampering is detected."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

from mlark.dev.cluster import kubeconfig_path
from mlark.dev.modelserver import publish_iris_model
from mlark.dev.modelserver.venv import venv_python
from mlark.dev.services.s3 import S3Endpoint
from tests.e2e.story import REGISTRIES, Story, write_plan

pytestmark = pytest.mark.cluster
PLAN = Path(__file__).resolve().parents[2] / "examples" / "plans" / "rhoai-demo.yaml"
# The recovery cluster is the drills' sandbox: same namespace names, nothing of the source touched.
DRILL_FLAGS = [
    "--sandbox-suffix", "", "--without-operators", "--readiness-timeout", "60",
    "--storage-class-mapping", "ocs-storagecluster-ceph-rbd=standard",
    "--storage-class-mapping", "ocs-storagecluster-cephfs=standard-rwx",
    "--exclude", "rhoai-demo:ObjectBucketClaim.objectbucket.io",
    "--exclude", f"{REGISTRIES}:PersistentVolumeClaim/model-catalog-postgres",
    "--exclude", f"{REGISTRIES}:Deployment.apps/model-catalog,model-catalog-postgres",
]
PERMUTED_MODEL = """
import json, sys, joblib
from pathlib import Path
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
features, labels = load_iris(return_X_y=True)
model = RandomForestClassifier(n_estimators=10, random_state=42).fit(features, (labels + 1) % 3)
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
joblib.dump(model, out / "model.joblib")
"""


def _story(tmp_path: Path, **spec_changes: Any) -> Story:
    story = Story(repository=tmp_path / "repository", plan=tmp_path / "plan.yaml", kubeconfig=kubeconfig_path("primary"))
    write_plan(PLAN, story.plan, story.repository)
    plan = yaml.safe_load(story.plan.read_text())
    plan["spec"].update(spec_changes)
    story.plan.write_text(yaml.safe_dump(plan))
    story.mlark("repo", "init", "--repo", str(story.repository))
    return story


def _drill(story: Story, audit: Path) -> tuple[int, dict[str, Any]]:
    result = story.mlark("drill", "run", "--plan", str(story.plan), "--audit-dir", str(audit), *DRILL_FLAGS, "-o", "json",
                         check=False, kubeconfig=kubeconfig_path("recovery"))
    assert result.returncode in (0, 11), result.stderr[-2000:]
    return result.returncode, json.loads(result.stdout)


def _model_keys(s3: S3Endpoint, bucket: str) -> list[str]:
    listed = s3.client().list_objects_v2(Bucket=bucket, Prefix="models/iris/")
    return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture
def bucket_model_restored(scenario: Any, s3_service: S3Endpoint) -> Any:
    """Whatever a test does to the scenario's iris model, the original is published again after."""
    yield scenario
    publish_iris_model(s3_service, scenario.bucket, "models/iris/")


def test_drill_on_the_latest_restore_point_passes(scenario: Any, kube_recovery: ApiClient, tmp_path: Path) -> None:
    story = _story(tmp_path)
    story.mlark("backup", "create", "--plan", str(story.plan))
    code, record = _drill(story, tmp_path / "audit")
    assert code == 0 and record["outcome"] == "passed", record["causes"]
    kinds = {check["kind"] for check in record["checks"]}
    assert {"inference", "files", "database", "model-registry", "pipelines", "artifacts", "consistency"} <= kinds
    assert all(check["passed"] for check in record["checks"])
    # Every restored database is asked; the excluded model catalog is named, not asked.
    [databases] = [check for check in record["checks"] if check["name"] == "consistency databases"]
    assert databases["message"] == ("2 databases answer; "  # the DSPA's and the registry's (also its dump)
                                    "1 left out of the restore (database rhoai-model-registries/model-catalog-postgres)")
    assert record["rto_seconds"] > 0 and record["rto_met"] is True
    assert record["rpo_seconds"] >= 0 and record["teardown"]["done"]
    verified = story.mlark("audit", "verify", "--audit-dir", str(tmp_path / "audit"))
    assert "intact" in verified.stdout
    listed = story.json("drill", "list", "--audit-dir", str(tmp_path / "audit"))
    assert [row["outcome"] for row in listed] == ["passed"]

    # Tampering: the record claims a better RTO than measured.
    entry = sorted((tmp_path / "audit").glob("*.json"))[0]
    document = json.loads(entry.read_text())
    document["payload"]["rto_seconds"] = 1.0
    entry.write_text(json.dumps(document))
    tampered = story.mlark("audit", "verify", "--audit-dir", str(tmp_path / "audit"), check=False)
    assert tampered.returncode == 10 and entry.name in tampered.stdout + tampered.stderr


def test_drill_fails_when_the_model_artifact_is_gone_and_was_not_captured(
        bucket_model_restored: Any, s3_service: S3Endpoint, kube_recovery: ApiClient, tmp_path: Path) -> None:
    story = _story(tmp_path, artifacts={"capture": False})
    story.mlark("backup", "create", "--plan", str(story.plan))
    client = s3_service.client()
    for key in _model_keys(s3_service, bucket_model_restored.bucket):
        client.delete_object(Bucket=bucket_model_restored.bucket, Key=key)
    code, record = _drill(story, tmp_path / "audit")
    assert code == 11 and record["outcome"] == "failed"
    causes = "\n".join(record["causes"])
    assert "inference rhoai-demo/iris" in causes
    assert "models/iris" in causes  # the artifacts check and the consistency check name the lost prefix


def test_drill_fails_when_the_registry_dump_is_missing(scenario: Any, kube_recovery: ApiClient, tmp_path: Path) -> None:
    story = _story(tmp_path, databases={"autoDetect": False},
                   volumes={"exclude": [{"namespace": REGISTRIES, "name": "model-registry-db"}]})
    story.mlark("backup", "create", "--plan", str(story.plan))
    code, record = _drill(story, tmp_path / "audit")
    assert code == 11
    failed = [check for check in record["checks"] if not check["passed"]]
    registry = [check for check in failed if check["kind"] == "model-registry"]
    assert registry and "model_registry" in registry[0]["message"], failed  # names the empty registry database
    assert any("registry" in cause for cause in record["causes"])


def test_drill_fails_when_a_golden_request_answers_differently(
        bucket_model_restored: Any, s3_service: S3Endpoint, kube_recovery: ApiClient, tmp_path: Path) -> None:
    story = _story(tmp_path, artifacts={"capture": False})
    story.mlark("backup", "create", "--plan", str(story.plan))
    other = tmp_path / "other-model"
    subprocess.run([str(venv_python()), "-c", PERMUTED_MODEL, str(other)], check=True, capture_output=True)
    s3_service.client().upload_file(str(other / "model.joblib"), bucket_model_restored.bucket, "models/iris/model.joblib")
    code, record = _drill(story, tmp_path / "audit")
    assert code == 11
    inference = next(check for check in record["checks"] if check["kind"] == "inference")
    assert not inference["passed"] and inference["diff"], inference
