"""Steps of the seed story (../shared/seeds/000): the CLI as a user runs it, the disaster, the checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from kubernetes.client import ApiClient

from mlark.dev.scenario.databases import query, wait_ready
from mlark.dev.scenario.spec import PIPELINES_DB, REGISTRY_DB, DatabaseRef
from mlark.kube.apply import get
from mlark.kube.exec import exec_capture, exec_feed, sized_stdin, wait_exec_ready
from mlark.kube.portforward import http_request
from mlark.restore.workloads import running_pods

DEMO, REGISTRIES = "rhoai-demo", "rhoai-model-registries"
PASSWORD_VARIABLE = "MLARK_TEST_REPOSITORY_PASSWORD"
SEED_REQUEST = {"inputs": [{"name": "predict", "shape": [2, 4], "datatype": "FP32", "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.1, 5.6, 2.4]]}]}
MODEL_CATALOG_EXCLUSIONS = [
    "--exclude", f"{REGISTRIES}:PersistentVolumeClaim/model-catalog-postgres",
    "--exclude", f"{REGISTRIES}:Deployment.apps/model-catalog,model-catalog-postgres",
]
# Custom resources whose spec must come back unchanged: (apiVersion, kind, namespace, name).
SEED_RESOURCES = [
    ("kubeflow.org/v1", "Notebook", DEMO, "rodolfo-workbench"),
    ("datasciencepipelinesapplications.opendatahub.io/v1", "DataSciencePipelinesApplication", DEMO, "dspa"),
    ("serving.kserve.io/v1beta1", "InferenceService", DEMO, "iris"),
    ("serving.kserve.io/v1beta1", "InferenceService", DEMO, "opt125m"),
    ("serving.kserve.io/v1alpha1", "ServingRuntime", DEMO, "mlserver-runtime"),
    ("serving.kserve.io/v1alpha1", "ServingRuntime", DEMO, "vllm-cpu-x86-runtime"),
    ("modelregistry.opendatahub.io/v1beta1", "ModelRegistry", REGISTRIES, "rhoai-registry"),
]


@dataclass
class Story:
    """Where this story keeps its repository and plan."""

    repository: Path
    plan: Path
    kubeconfig: Path

    def mlark(self, *args: str, check: bool = True, kubeconfig: Path | None = None) -> subprocess.CompletedProcess[str]:
        environment = {**os.environ, "KUBECONFIG": str(kubeconfig or self.kubeconfig), PASSWORD_VARIABLE: "story-password",
                       "MLARK_PASSWORD": "story-password", "COLUMNS": "200"}
        result = subprocess.run([sys.executable, "-m", "mlark", *args], capture_output=True, text=True, env=environment,
                                timeout=900)
        if check and result.returncode != 0:
            raise AssertionError(f"mlark {' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def json(self, *args: str, kubeconfig: Path | None = None) -> Any:
        return json.loads(self.mlark(*args, "-o", "json", kubeconfig=kubeconfig).stdout)


def write_plan(source: Path, target: Path, repository: Path) -> None:
    plan = yaml.safe_load(source.read_text())
    plan["spec"]["targets"] = [{"name": "local", "repository": str(repository), "passwordFrom": {"env": PASSWORD_VARIABLE}}]
    target.write_text(yaml.safe_dump(plan))


def workbench_pod(api: ApiClient, namespace: str = DEMO) -> str:
    """The running workbench pod, once exec into it works: a pod that an earlier test's restore
    just recreated is Running a moment before its runtime accepts exec."""
    pods = running_pods(api, namespace, {"statefulset": "rodolfo-workbench"})
    assert pods, f"no running workbench pod in {namespace}"
    name = pods[0]["metadata"]["name"]
    wait_exec_ready(api, namespace, name, "rodolfo-workbench")
    return name


def write_workbench_file(api: ApiClient, name: str, content: bytes, namespace: str = DEMO) -> None:
    pod = workbench_pod(api, namespace)
    command = sized_stdin(["sh", "-c", f"cat > {name}"], len(content))
    result = exec_feed(api, namespace, pod, "rodolfo-workbench", command, [content[i:i + 65536] for i in range(0, len(content), 65536)])
    assert result.returncode == 0, (result.message, result.stderr)


def read_workbench_file(api: ApiClient, name: str, namespace: str = DEMO) -> bytes:
    result = exec_capture(api, namespace, workbench_pod(api, namespace), "rodolfo-workbench", ["cat", name])
    assert result.returncode == 0, f"{name} not readable in the workbench: {result.message} {result.stderr!r}"
    return result.stdout


def specs(api: ApiClient, namespace_map: dict[str, str] | None = None) -> dict[str, Any]:
    found = {}
    for api_version, kind, namespace, name in SEED_RESOURCES:
        obj = get(api, api_version, kind, name, (namespace_map or {}).get(namespace, namespace))
        found[f"{kind}/{name}"] = obj["spec"] if obj else None
    return found


def wait_until(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def registry_models(api: ApiClient, namespace: str = REGISTRIES) -> str:
    db = _moved(REGISTRY_DB, namespace)
    wait_ready(api, db)
    return query(api, db, "SELECT c.name FROM Context c ORDER BY c.name")


def pipeline_runs(api: ApiClient, namespace: str = DEMO) -> str:
    db = _moved(PIPELINES_DB, namespace)
    wait_ready(api, db)
    return query(api, db, "SELECT DisplayName, Conditions FROM run_details")


def _moved(db: DatabaseRef, namespace: str) -> DatabaseRef:
    return db.model_copy(update={"namespace": namespace})


def iris_classes(api: ApiClient, namespace: str = DEMO, timeout: float = 180) -> list[int]:
    """The iris predictor's answer to the seed's request, once it answers at all."""

    def answer() -> list[int] | None:
        pods = running_pods(api, namespace, {"app": "isvc.iris-predictor"})
        if not pods:
            return None
        try:
            response = http_request(api, namespace, pods[0]["metadata"]["name"], 8080, "POST", "/v2/models/iris/infer",
                                    json_body=SEED_REQUEST, timeout=20)
        except Exception:
            return None
        if response.status != 200:
            return None
        return [int(value) for value in response.json()["outputs"][0]["data"]]

    return wait_until(f"the iris predictor in {namespace} to answer", answer, timeout)
