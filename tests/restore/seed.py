"""The seed scenario as a restore point would hold it, built without a cluster: the dev scenario's
pure renderer gives the objects (sanitised the way capture does), and the manifest gets the edges,
volumes, database dumps and artifacts that capture would record for them."""

from __future__ import annotations

import copy
import functools
from datetime import datetime, timezone
from typing import Any

from mlark.dev.scenario.render import build_context, load_crds, render_objects
from mlark.dev.scenario.spec import Facts, Passwords
from mlark.dev.services.s3 import S3Endpoint
from mlark.restore.options import RestoreOptions
from mlark.restorepoint.models import ArtifactCapture, DatabaseCapture, Edge, ObjectRef, RestorePoint, VolumeCapture

Obj = dict[str, Any]
DEMO, REGISTRIES = "rhoai-demo", "rhoai-model-registries"
WHEN = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


def _context() -> dict[str, str]:
    s3 = S3Endpoint(endpoint="http://s3.example.test:9000", access_key="AKEXAMPLE", secret_key="secret-example")
    passwords = Passwords(dspa_db="p1", registry_db="p2", registry_db_root="p3", catalog_db="p4")
    return build_context(s3, Facts(cluster_id="cluster-a", created_at=WHEN, passwords=passwords))


def _as_captured(obj: Obj) -> Obj:
    """What capture stores: stringData becomes data (the API server's view), a uid on owners."""
    obj = {**obj, "metadata": {**obj["metadata"], "uid": f"uid-{obj['kind']}-{obj['metadata']['name']}", "resourceVersion": "42"}}
    if "stringData" in obj:
        import base64

        data = {k: base64.b64encode(str(v).encode()).decode() for k, v in obj.pop("stringData").items()}
        obj = {**obj, "data": data}
    return obj


@functools.lru_cache(maxsize=1)
def _rendered() -> list[Obj]:
    crds = [_as_captured(crd) for crd in load_crds()]
    return crds + [_as_captured(obj) for obj in render_objects(_context())]


def captured_objects() -> list[Obj]:
    return copy.deepcopy(_rendered())


def ref(kind: str, name: str, namespace: str | None = DEMO, group: str = "", version: str = "v1") -> ObjectRef:
    return ObjectRef(group=group, version=version, kind=kind, namespace=namespace, name=name)


ISVC = dict(group="serving.kserve.io", version="v1beta1")
RUNTIME = dict(group="serving.kserve.io", version="v1alpha1")


def edges() -> list[Edge]:
    secret = ref("Secret", "aws-connection-rhoai-demo-bucket")
    return [
        Edge(source=ref("InferenceService", "iris", **ISVC), target=ref("ServingRuntime", "mlserver-runtime", **RUNTIME), relation="runtime"),
        Edge(source=ref("InferenceService", "opt125m", **ISVC), target=ref("ServingRuntime", "vllm-cpu-x86-runtime", **RUNTIME), relation="runtime"),
        Edge(source=ref("InferenceService", "iris", **ISVC), target=secret, relation="storage"),
        Edge(source=ref("Notebook", "rodolfo-workbench", group="kubeflow.org"), target=ref("PersistentVolumeClaim", "rodolfo-workbench"), relation="pvc"),
        Edge(source=ref("ModelRegistry", "rhoai-registry", REGISTRIES, "modelregistry.opendatahub.io", "v1beta1"),
             target=ref("Deployment", "model-registry-db", REGISTRIES, "apps"), relation="database"),
        Edge(source=ref("DataSciencePipelinesApplication", "dspa", group="datasciencepipelinesapplications.opendatahub.io"),
             target=secret, relation="secret"),
    ]


def restore_point() -> RestorePoint:
    return RestorePoint(
        plan="rhoai-demo-plan", created=WHEN, namespaces=[REGISTRIES, DEMO], edges=edges(),
        volumes=[
            VolumeCapture(namespace=DEMO, claim="rodolfo-workbench", storage_class="ocs-storagecluster-cephfs", stream="volumes/a"),
            VolumeCapture(namespace=DEMO, claim="mariadb-dspa", storage_class="ocs-storagecluster-ceph-rbd", stream="volumes/b"),
            VolumeCapture(namespace=REGISTRIES, claim="model-registry-db", storage_class="ocs-storagecluster-ceph-rbd", stream="volumes/c"),
            VolumeCapture(namespace=REGISTRIES, claim="model-catalog-postgres", storage_class="ocs-storagecluster-ceph-rbd", stream="volumes/d"),
        ],
        databases=[
            DatabaseCapture(namespace=DEMO, workload=ref("Deployment", "mariadb-dspa", group="apps"), pod="mariadb-dspa-0",
                            container="mariadb", engine="mariadb", databases=["mlpipeline"], claim="mariadb-dspa",
                            stream="databases/a", tool="mariadb-dump --single-transaction"),
            DatabaseCapture(namespace=REGISTRIES, workload=ref("Deployment", "model-registry-db", REGISTRIES, "apps"),
                            pod="model-registry-db-0", container="mariadb", engine="mariadb", databases=["model_registry"],
                            claim="model-registry-db", stream="databases/b", tool="mariadb-dump --single-transaction"),
            DatabaseCapture(namespace=REGISTRIES, workload=ref("Deployment", "model-catalog-postgres", REGISTRIES, "apps"),
                            pod="model-catalog-postgres-0", container="postgres", engine="postgres", claim="model-catalog-postgres",
                            stream="databases/c", tool="pg_dump"),
        ],
        artifacts=[ArtifactCapture(uri="s3://bucket-a/models/iris/model.joblib", bucket="bucket-a", key="models/iris/model.joblib",
                                   size=1000, stream="artifacts/a", referenced_by=[ref("InferenceService", "iris", **ISVC)])],
    )


def seed_options(**changes: Any) -> RestoreOptions:
    """The seed's ClusterRestore: skip existing, keep UID ranges, the model-catalog exclusion."""
    base: dict[str, Any] = {
        "restore_point": "rp-1", "existing": "skip", "uid_range": "keep",
        "exclude": [
            {"kind": "PersistentVolumeClaim", "version": "v1", "names": ["model-catalog-postgres"]},
            {"group": "apps", "version": "v1", "kind": "Deployment", "names": ["model-catalog", "model-catalog-postgres"]},
        ],
    }
    return RestoreOptions(**{**base, **changes})
