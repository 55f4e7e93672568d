"""The seed's story end to end (../shared/seeds/000): full backup, notes, incremental, disaster,
restore with skip-existing and the model-catalog exclusion, everything back and predicting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from mlark.dev.cluster import kubeconfig_path
from mlark.dev.scenario.disaster import seed_disaster
from tests.e2e.story import (MODEL_CATALOG_EXCLUSIONS, Story, iris_classes, pipeline_runs, read_workbench_file,
                             registry_models, specs, write_plan, write_workbench_file)

pytestmark = pytest.mark.cluster
PLAN = Path(__file__).resolve().parents[2] / "examples" / "plans" / "rhoai-demo.yaml"
NOTES = b'{"cells": [{"cell_type": "markdown", "source": ["this is the state I want to be able to come back to"]}]}'
DATASET_BYTES = 24 << 20
# Volume archives are chunked file by file: the notes cost their own bytes, the headers of their
# directory, and the small changes of the database dumps and manifests, not a chunk of the data set.
INCREMENT_LIMIT = 1 << 20


@pytest.fixture(scope="module")
def story(scenario: Any, kube_primary: ApiClient, tmp_path_factory: pytest.TempPathFactory) -> Story:
    directory = tmp_path_factory.mktemp("story")
    story = Story(repository=directory / "repository", plan=directory / "plan.yaml", kubeconfig=kubeconfig_path("primary"))
    write_plan(PLAN, story.plan, story.repository)
    story.mlark("repo", "init", "--repo", str(story.repository))
    return story


def test_seed_story_backup_disaster_restore(story: Story, kube_primary: ApiClient) -> None:
    # A data set in the workbench, so that the increment has something to be small against.
    write_workbench_file(kube_primary, "training-data.bin", os.urandom(DATASET_BYTES))
    before = specs(kube_primary)
    full = story.json("backup", "create", "--plan", str(story.plan))
    point = full["restore_point"]
    assert point["phase"] == "Completed", point["results"]
    assert point["stats"]["volumes"] == 1 and point["stats"]["databases"] >= 2
    assert any(artifact["uri"].endswith("models/iris/model.joblib") for artifact in point["artifacts"]), point["artifacts"]
    assert full["repository"]["bytes_stored"] > DATASET_BYTES

    write_workbench_file(kube_primary, "notes.ipynb", NOTES)
    incremental = story.json("backup", "create", "--plan", str(story.plan))
    stored = incremental["repository"]["bytes_stored"]
    assert stored < INCREMENT_LIMIT, f"the increment after adding notes stored {stored} bytes"

    seed_disaster(kube_primary)
    assert all(spec is None for spec in specs(kube_primary).values())

    restored = story.json("restore", "create", "--from-backup", incremental["snapshot_id"], "--plan", str(story.plan),
                          "--without-operators", *MODEL_CATALOG_EXCLUSIONS)
    assert restored["phase"] == "Completed", [f for f in restored["objects"] + restored["data"] if f["outcome"] == "failed"]
    assert restored["rto_seconds"] > 0
    # The platform's Model Catalog survived the disaster: excluded, or skipped as existing, never rewritten.
    touched = {(o["ref"]["kind"], o["ref"]["name"]) for o in restored["objects"]
               if o["ref"]["name"].startswith("model-catalog") and o["outcome"] != "skipped"}
    assert not touched, f"the model catalog was changed: {touched}"
    excluded = {(s["ref"]["kind"], s["ref"]["name"]) for s in restored["planned_skips"] if s["reason"] == "excluded"}
    assert {("PersistentVolumeClaim", "model-catalog-postgres"), ("Deployment", "model-catalog")} <= excluded

    assert specs(kube_primary) == before
    assert read_workbench_file(kube_primary, "notes.ipynb") == NOTES
    assert len(read_workbench_file(kube_primary, "training-data.bin")) == DATASET_BYTES
    models = registry_models(kube_primary)
    assert "iris-classifier" in models and "v1.0.0" in models
    runs = pipeline_runs(kube_primary)
    assert "iris-run-1" in runs and "Succeeded" in runs
    assert iris_classes(kube_primary) == [0, 2]

    listed = story.json("restore", "list", "--plan", str(story.plan))
    assert listed[-1]["phase"] == "Completed"
    logs = story.json("restore", "logs", "latest", "--plan", str(story.plan))
    assert any(line["outcome"] == "created" and "Notebook" in line["item"] for line in logs)
