"""The bucket is lost too (the seed's OBC cascade): the model artifact comes back from the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from mlark.dev.cluster import kubeconfig_path
from mlark.dev.scenario.disaster import seed_disaster
from mlark.dev.services.s3 import S3Endpoint
from tests.e2e.story import MODEL_CATALOG_EXCLUSIONS, Story, iris_classes, write_plan

pytestmark = pytest.mark.cluster
PLAN = Path(__file__).resolve().parents[2] / "examples" / "plans" / "rhoai-demo.yaml"


def _objects(client: Any, bucket: str) -> dict[str, str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"]: item["ETag"] for page in pages for item in page.get("Contents", [])}


def test_deleted_bucket_is_refilled_from_the_repository(scenario: Any, kube_primary: ApiClient, s3_service: S3Endpoint,
                                                        tmp_path: Path) -> None:
    story = Story(repository=tmp_path / "repository", plan=tmp_path / "plan.yaml", kubeconfig=kubeconfig_path("primary"))
    write_plan(PLAN, story.plan, story.repository)
    story.mlark("repo", "init", "--repo", str(story.repository))
    point = story.json("backup", "create", "--plan", str(story.plan))
    client = s3_service.client()
    models = {key: etag for key, etag in _objects(client, scenario.bucket).items() if key.startswith("models/iris/")}
    assert models, "the scenario's bucket holds no iris model"

    seed_disaster(kube_primary)
    for key in _objects(client, scenario.bucket):
        client.delete_object(Bucket=scenario.bucket, Key=key)
    client.delete_bucket(Bucket=scenario.bucket)
    assert scenario.bucket not in {b["Name"] for b in client.list_buckets()["Buckets"]}

    restored = story.json("restore", "create", "--from-backup", point["snapshot_id"], "--plan", str(story.plan),
                          "--without-operators", *MODEL_CATALOG_EXCLUSIONS)
    artifacts = [d for d in restored["data"] if d["type"] == "artifact"]
    assert artifacts and all(d["outcome"] == "created" for d in artifacts), artifacts
    back = _objects(client, scenario.bucket)
    assert {key: back.get(key) for key in models} == models, "restored model files differ from the captured ones"
    assert iris_classes(kube_primary) == [0, 2]
