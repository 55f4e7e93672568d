"""Write the scenario's application state through the API server: database rows via the
databases' own clients and the workbench notebook via exec into the workbench container."""

from __future__ import annotations

from collections.abc import Callable

from kubernetes.client import ApiClient

from mlark.dev.scenario import databases
from mlark.dev.scenario.kube import Obj
from mlark.dev.scenario.notebook import notebook_document
from mlark.dev.scenario.pods import exec_checked, running_pod
from mlark.dev.scenario.seeds import kfp_seed_sql, registry_seed_sql
from mlark.dev.scenario.spec import (
    CATALOG_DB,
    DEMO_NS,
    NOTEBOOK_FILE,
    PIPELINES_DB,
    REGISTRY_DB,
    WORKBENCH_CONTAINER,
    WORKBENCH_OWNER,
    WORKBENCH_SELECTOR,
    ScenarioInfo,
)

Progress = Callable[[str], None]


def write_notebook(api: ApiClient) -> None:
    """Relative path: exec starts in the container's workingDir, the workbench PVC. An existing
    notebook is kept (its notes may be newer than ours); stdin is drained either way."""
    pod = running_pod(api, DEMO_NS, WORKBENCH_SELECTOR)
    script = (f"if [ -e {NOTEBOOK_FILE} ]; then cat >/dev/null; else cat > {NOTEBOOK_FILE}; fi; "
              f"chown {WORKBENCH_OWNER}:{WORKBENCH_OWNER} {NOTEBOOK_FILE}")
    exec_checked(api, DEMO_NS, pod, WORKBENCH_CONTAINER, ["sh", "-c", script], stdin=notebook_document())


def read_notebook(api: ApiClient) -> str:
    pod = running_pod(api, DEMO_NS, WORKBENCH_SELECTOR)
    return exec_checked(api, DEMO_NS, pod, WORKBENCH_CONTAINER, ["cat", NOTEBOOK_FILE])


def seed_all(api: ApiClient, context: dict[str, str], objects: list[Obj], info: ScenarioInfo, progress: Progress) -> None:
    workflow = next(obj for obj in objects if obj["kind"] == "Workflow")
    for db in (PIPELINES_DB, REGISTRY_DB, CATALOG_DB):
        databases.wait_ready(api, db)
    databases.run_script(api, PIPELINES_DB, kfp_seed_sql(context, workflow))
    progress("pipeline server database: iris-classifier-training and run iris-run-1 (SUCCEEDED)")
    databases.run_script(api, REGISTRY_DB, registry_seed_sql(context))
    progress(f"model registry database: iris-classifier v1.0.0 → {info.model_uri}")
    write_notebook(api)
    progress(f"workbench: {info.notebook_file} on the rodolfo-workbench volume")
