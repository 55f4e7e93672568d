"""The same restore point restored beside its source (mapped namespaces) and into another cluster."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from mlark.dev.cluster import kubeconfig_path
from mlark.kube.apply import create, delete, get
from mlark.kube.exec import exec_capture
from mlark.kube.discovery import resource_for
from mlark.kube.listing import list_objects
from mlark.restore.facts import SCC_GROUPS, SCC_UID_RANGE
from tests.e2e.story import (DEMO, MODEL_CATALOG_EXCLUSIONS, REGISTRIES, Story, iris_classes, pipeline_runs,
                             read_workbench_file, registry_models, specs, wait_until, workbench_pod, write_plan)

pytestmark = pytest.mark.cluster
PLAN = Path(__file__).resolve().parents[2] / "examples" / "plans" / "rhoai-demo.yaml"
DRILL = "rhoai-demo-drill"
DRILL_RANGE = "1000900000/10000"
STORAGE_CLASS_MAPPING = [
    "--storage-class-mapping", "ocs-storagecluster-ceph-rbd=standard",
    "--storage-class-mapping", "ocs-storagecluster-cephfs=standard-rwx",
]


@pytest.fixture(scope="module")
def backed_up(scenario: Any, kube_primary: ApiClient, tmp_path_factory: pytest.TempPathFactory) -> tuple[Story, str]:
    directory = tmp_path_factory.mktemp("elsewhere")
    story = Story(repository=directory / "repository", plan=directory / "plan.yaml", kubeconfig=kubeconfig_path("primary"))
    write_plan(PLAN, story.plan, story.repository)
    story.mlark("repo", "init", "--repo", str(story.repository))
    created = story.json("backup", "create", "--plan", str(story.plan))
    return story, created["snapshot_id"]


def _namespaces(api: ApiClient) -> set[str]:
    return {ns["metadata"]["name"] for ns in list_objects(api, resource_for(api, "v1", "Namespace"))}


def test_restore_into_mapped_namespaces_beside_the_source(backed_up: tuple[Story, str], kube_primary: ApiClient) -> None:
    story, snapshot = backed_up
    # The drill namespace exists already, with its own OpenShift ranges: the notebook's files,
    # owned by the first UID of rhoai-demo's range, must move to the same offset in the drill's.
    made = create(kube_primary, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DRILL, "annotations": {
        SCC_UID_RANGE: DRILL_RANGE, SCC_GROUPS: DRILL_RANGE}}}, "fail")
    assert made.ok, made.reason
    try:
        restored = story.json("restore", "create", "--from-backup", snapshot, "--plan", str(story.plan), "--without-operators",
                              "--namespace", DEMO, "--namespace-mapping", f"{DEMO}={DRILL}")
        assert restored["phase"] == "Completed", [f for f in restored["objects"] + restored["data"] if f["outcome"] == "failed"]
        reowned = [f for f in restored["data"] if f["type"] == "reown"]
        assert [(f["subject"], f["outcome"]) for f in reowned] == [(f"{DRILL}/rodolfo-workbench", "updated")], reowned
        assert "UIDs 1000740000/10000 -> 1000900000/10000" in reowned[0]["reason"]
        owner = exec_capture(kube_primary, DRILL, workbench_pod(kube_primary, DRILL), "rodolfo-workbench",
                             ["stat", "-c", "%u %g", "iris-notes.ipynb"]).check().text.split()
        assert owner == ["1000900000", "1000900000"]
        drill = specs(kube_primary, {DEMO: DRILL, REGISTRIES: DRILL})
        source = specs(kube_primary, {REGISTRIES: DRILL})
        # In-object references to the namespace (the notebook's URL prefix, service hosts) follow the mapping.
        # Names that merely contain the namespace's name (a bucket, a Secret) stay as they are.
        assert json.loads(re.sub(rf"(?<![-\w]){DEMO}(?![-\w])", DRILL, json.dumps(source))) == drill
        assert b"iris" in read_workbench_file(kube_primary, "iris-notes.ipynb", DRILL)
        assert "iris-run-1" in pipeline_runs(kube_primary, DRILL)
        assert iris_classes(kube_primary, DRILL) == [0, 2]
        # The source is untouched: its predictor still answers from its own pod.
        assert iris_classes(kube_primary, DEMO) == [0, 2]
    finally:
        delete(kube_primary, "v1", "Namespace", DRILL)


def test_restore_into_another_cluster_after_preflight(backed_up: tuple[Story, str], kube_recovery: ApiClient) -> None:
    story, snapshot = backed_up
    recovery = kubeconfig_path("recovery")
    before = _namespaces(kube_recovery)
    refused = story.mlark("restore", "create", "--from-backup", snapshot, "--plan", str(story.plan), "--without-operators",
                          *MODEL_CATALOG_EXCLUSIONS, check=False, kubeconfig=recovery)
    assert refused.returncode == 9, refused.stderr
    assert "storage class" in refused.stderr and "ocs-storagecluster-ceph-rbd" in refused.stderr
    assert _namespaces(kube_recovery) == before, "a refused restore changed the target"

    restored = story.json("restore", "create", "--from-backup", snapshot, "--plan", str(story.plan), "--without-operators",
                          *MODEL_CATALOG_EXCLUSIONS, *STORAGE_CLASS_MAPPING,
                          "--exclude", f"{DEMO}:ObjectBucketClaim.objectbucket.io", kubeconfig=recovery)
    assert restored["phase"] == "Completed", [f for f in restored["objects"] + restored["data"] if f["outcome"] == "failed"]
    claim = get(kube_recovery, "v1", "PersistentVolumeClaim", "rodolfo-workbench", DEMO)
    assert claim["spec"]["storageClassName"] == "standard-rwx"
    assert b"iris" in read_workbench_file(kube_recovery, "iris-notes.ipynb")
    assert "iris-classifier" in registry_models(kube_recovery)
    assert iris_classes(kube_recovery) == [0, 2]
    for namespace in (DEMO, REGISTRIES):
        delete(kube_recovery, "v1", "Namespace", namespace)
    wait_until("the recovery cluster's copies to go", lambda: not ({DEMO, REGISTRIES} & _namespaces(kube_recovery)), 120)
