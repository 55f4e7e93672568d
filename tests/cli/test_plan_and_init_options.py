"""`mlark plan show` asks only the Kubernetes API (the model storage only with --list-artifacts),
and `mlark repo init --plan` creates the repositories of the plan's targets."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.client import ApiClient

from mlark.dev.cluster import kubeconfig_path
from mlark.kube.apply import create


def mlark(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "KUBECONFIG": str(kubeconfig_path("primary")), "COLUMNS": "200", **env}
    environment.pop("MLARK_REPOSITORY", None)
    return subprocess.run([sys.executable, "-m", "mlark", *args], capture_output=True, text=True, env=environment, timeout=300,
                          stdin=subprocess.DEVNULL)


class Listener:
    """A TCP port that counts the connections made to it (and closes each at once)."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def storage() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def write_plan(path: Path, namespace: str, targets: list[dict[str, Any]]) -> None:
    path.write_text(yaml.safe_dump({"apiVersion": "mlark.io/v1alpha1", "kind": "Plan", "metadata": {"name": "options-test"},
                                    "spec": {"namespaces": {"names": [namespace]}, "targets": targets}}))


@pytest.mark.cluster
def test_plan_show_locates_artifacts_without_contacting_their_storage(kube_primary: ApiClient, scenario: Any, fresh_namespace: str,
                                                                      storage: Listener, tmp_path: Path) -> None:
    connection = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "models-connection", "namespace": fresh_namespace},
                  "stringData": {"AWS_S3_ENDPOINT": f"http://127.0.0.1:{storage.port}", "AWS_S3_BUCKET": "models",
                                 "AWS_ACCESS_KEY_ID": "app-key", "AWS_SECRET_ACCESS_KEY": "app-secret"}}
    isvc = {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService", "metadata": {"name": "fraud", "namespace": fresh_namespace},
            "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"},
                                             "storage": {"key": "models-connection", "path": "fraud/v2"}}}}}
    for obj in (connection, isvc):
        assert create(kube_primary, obj).ok
    plan = tmp_path / "plan.yaml"
    write_plan(plan, fresh_namespace, [{"name": "local", "repository": str(tmp_path / "repo"), "passwordFrom": {"env": "MLARK_PASSWORD"}}])

    shown = mlark("plan", "show", str(plan), "-o", "json")
    assert shown.returncode == 0, shown.stderr
    report = json.loads(shown.stdout)
    assert list(report["artifact_locations"]) == ["s3://models/fraud/v2"], report
    assert "fraud" in report["artifact_locations"]["s3://models/fraud/v2"][0]
    assert report["artifacts_listed"] is False and report["objects"]["InferenceService"] == 1
    assert storage.connections == 0, "plan show contacted the application's object storage"
    table = mlark("plan", "show", str(plan))
    assert "s3://models/fraud/v2" in table.stdout and "--list-artifacts" in table.stdout

    listed = mlark("plan", "show", str(plan), "--list-artifacts", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["artifacts_listed"] is True
    assert storage.connections >= 1  # the listener is what plan show would have met


def test_repo_init_takes_repository_and_password_from_the_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    password_file = tmp_path / "backup-password"
    password_file.write_text("from-a-file\n")
    write_plan(plan, "anything", [
        {"name": "near", "repository": str(tmp_path / "near"), "passwordFrom": {"env": "OPTIONS_TEST_PASSWORD"}},
        {"name": "far", "repository": str(tmp_path / "far"), "passwordFrom": {"file": str(password_file)}},
    ])
    made = mlark("repo", "init", "--plan", str(plan), "-o", "json", OPTIONS_TEST_PASSWORD="from-the-env")
    assert made.returncode == 0, made.stderr
    assert [(entry["target"], entry["location"]) for entry in json.loads(made.stdout)] == [
        ("near", str(tmp_path / "near")), ("far", str(tmp_path / "far"))]
    # Each opens with the password its target names (and not with the other one).
    assert mlark("repo", "snapshots", "--repo", str(tmp_path / "near"), MLARK_PASSWORD="from-the-env").returncode == 0
    assert mlark("repo", "snapshots", "--repo", str(tmp_path / "far"), MLARK_PASSWORD="from-a-file").returncode == 0
    assert mlark("repo", "snapshots", "--repo", str(tmp_path / "far"), MLARK_PASSWORD="from-the-env").returncode == 12

    again = mlark("repo", "init", "--plan", str(plan), "--target", "near", OPTIONS_TEST_PASSWORD="from-the-env")
    assert again.returncode == 10, again.stderr  # the repository exists: not overwritten
    unset = mlark("repo", "init", "--plan", str(tmp_path / "plan.yaml"), "--target", "near")
    assert unset.returncode == 2 and "OPTIONS_TEST_PASSWORD is not set" in unset.stderr
    unknown = mlark("repo", "init", "--plan", str(plan), "--target", "nowhere")
    assert unknown.returncode == 2 and "no target 'nowhere'" in unknown.stderr
    both = mlark("repo", "init", "--plan", str(plan), "--repo", str(tmp_path / "x"))
    assert both.returncode == 2 and "not both" in both.stderr and not (tmp_path / "x").exists()
