"""What a deployed scenario is: names, identifiers and the description handed to callers."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

SCENARIO_NAMES = ("rhoai-demo",)
DEMO_NS = "rhoai-demo"
REGISTRY_NS = "rhoai-model-registries"
NAMESPACES = (REGISTRY_NS, DEMO_NS)
DSC_NAME = "default-dsc"
IRIS_PATH = "models/iris"
FIELD_MANAGER = "mlark-scenario"

# Fixed identifiers keep re-deploys idempotent: the same run is the same row every time.
_ID_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, "https://mlark.dev/scenario/rhoai-demo")


class UnknownScenario(ValueError):
    pass


def check_name(name: str) -> str:
    if name not in SCENARIO_NAMES:
        known = ", ".join(SCENARIO_NAMES)
        raise UnknownScenario(f"unknown scenario {name!r}; known scenarios: {known}")
    return name


def stable_id(what: str) -> str:
    return str(uuid.uuid5(_ID_ROOT, what))


def workflow_name() -> str:
    """Argo's generateName suffix is five lowercase alphanumerics; derive ours from the run."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    number = uuid.UUID(stable_id("run/iris-run-1")).int
    suffix = ""
    for _ in range(5):
        number, digit = divmod(number, len(alphabet))
        suffix += alphabet[digit]
    return f"iris-classifier-training-{suffix}"


def bucket_name(cluster_id: str) -> str:
    """NooBaa names a generated bucket `<generateBucketName>-<uuid>`; ours is stable per cluster,
    so two clusters sharing one S3 service never share the scenario's bucket."""
    return f"rhoai-demo-{uuid.uuid5(_ID_ROOT, 'bucket/' + cluster_id)}"


class Passwords(BaseModel):
    """Database passwords: random on first deploy, read back from the cluster afterwards."""

    dspa_db: str
    registry_db: str
    registry_db_root: str
    catalog_db: str


class Facts(BaseModel):
    """What deploy learns from the cluster before rendering anything."""

    cluster_id: str
    created_at: datetime
    passwords: Passwords


class DatabaseRef(BaseModel):
    """Where a scenario database lives and how to reach it through `kubectl exec`."""

    engine: str  # mariadb | postgresql
    namespace: str
    deployment: str
    pod_selector: str
    container: str
    service: str
    port: int
    database: str
    user: str
    password_secret: str
    password_key: str


class ScenarioInfo(BaseModel):
    name: str
    namespaces: list[str]
    bucket: str
    s3_endpoint: str
    model_uri: str
    predictor_selector: str
    workbench_selector: str
    notebook_file: str
    pipelines_db: DatabaseRef
    registry_db: DatabaseRef
    catalog_db: DatabaseRef
    workflow: str
    run_id: str


PIPELINES_DB = DatabaseRef(
    engine="mariadb", namespace=DEMO_NS, deployment="mariadb-dspa", pod_selector="app=mariadb-dspa",
    container="mariadb", service="mariadb-dspa", port=3306, database="mlpipeline", user="mlpipeline",
    password_secret="ds-pipeline-db-dspa", password_key="password",
)
REGISTRY_DB = DatabaseRef(
    engine="mariadb", namespace=REGISTRY_NS, deployment="model-registry-db", pod_selector="name=model-registry-db",
    container="mariadb", service="model-registry-db", port=3306, database="model_registry", user="mlmduser",
    password_secret="model-registry-db", password_key="database-password",
)
CATALOG_DB = DatabaseRef(
    engine="postgresql", namespace=REGISTRY_NS, deployment="model-catalog-postgres",
    pod_selector="app=model-catalog,app.kubernetes.io/component=postgres", container="postgres",
    service="model-catalog-postgres", port=5432, database="model_catalog", user="catalog_user",
    password_secret="model-catalog-postgres", password_key="POSTGRES_PASSWORD",
)
WORKBENCH_SELECTOR = "statefulset=rodolfo-workbench"
WORKBENCH_CONTAINER = "rodolfo-workbench"
NOTEBOOK_FILE = "iris-notes.ipynb"
# OpenShift runs the workbench with the first UID of rhoai-demo's range (00-platform.yaml) and
# that ID as fsGroup, so the notebook's files belong to it.
WORKBENCH_OWNER = 1000740000
PREDICTOR_SELECTOR = "app=isvc.iris-predictor"
PREDICTOR_PORT = 8080
