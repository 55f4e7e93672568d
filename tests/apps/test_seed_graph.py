"""The application graph of the seed scenario, from its rendered manifests."""

from __future__ import annotations

from typing import Any

from mlark.apps import graph, images, unresolved
from mlark.apps.base import ObjectIndex
from mlark.apps.kserve import artifact_locations
from mlark.apps.pipelines import artifact_locations as dspa_artifacts
from mlark.restorepoint.models import Edge, ExternalRef, ObjectRef

DEMO, REG = "rhoai-demo", "rhoai-model-registries"


def _targets(edges: list[Edge], kind: str, name: str) -> set[tuple[str, str]]:
    """(relation, target) pairs of one source object, targets rendered as text."""
    return {(e.relation, str(e.target)) for e in edges if e.source.kind == kind and e.source.name == name}


def test_iris_depends_on_its_data_connection_bucket_prefix_and_runtime(seed_objects: list[dict[str, Any]], seed_context: dict[str, str]) -> None:
    edges = graph(seed_objects)
    iris = _targets(edges, "InferenceService", "iris")
    assert ("storage", f"Secret {DEMO}/aws-connection-rhoai-demo-bucket") in iris
    assert ("model", f"bucket-prefix s3://{seed_context['bucket']}/models/iris") in iris
    assert ("runtime", f"ServingRuntime.serving.kserve.io {DEMO}/mlserver-runtime") in iris
    assert all(e.resolved for e in edges if e.source.name == "iris")


def test_dspa_depends_on_its_secrets_bucket_and_database(seed_objects: list[dict[str, Any]], seed_context: dict[str, str]) -> None:
    dspa = _targets(graph(seed_objects), "DataSciencePipelinesApplication", "dspa")
    assert dspa == {
        ("storage", f"Secret {DEMO}/aws-connection-rhoai-demo-bucket"),
        ("artifacts", f"bucket-prefix s3://{seed_context['bucket']}"),
        ("database-secret", f"Secret {DEMO}/ds-pipeline-db-dspa"),
        ("database-volume", f"PersistentVolumeClaim {DEMO}/mariadb-dspa"),
        ("database", f"database mysql://mariadb-dspa.{DEMO}:3306/mlpipeline"),
    }


def test_model_registry_depends_on_its_database(seed_objects: list[dict[str, Any]]) -> None:
    registry = _targets(graph(seed_objects), "ModelRegistry", "rhoai-registry")
    assert registry == {
        ("database-secret", f"Secret {REG}/model-registry-db"),
        ("database-service", f"Service {REG}/model-registry-db"),
        ("database", f"database mysql://model-registry-db.{REG}:3306/model_registry"),
    }


def test_notebook_depends_on_its_pvc_and_connection(seed_objects: list[dict[str, Any]]) -> None:
    notebook = _targets(graph(seed_objects), "Notebook", "rodolfo-workbench")
    assert ("pvc", f"PersistentVolumeClaim {DEMO}/rodolfo-workbench") in notebook
    assert ("secret", f"Secret {DEMO}/aws-connection-rhoai-demo-bucket") in notebook
    assert ("serviceaccount", f"ServiceAccount {DEMO}/rodolfo-workbench") in notebook


def test_rendered_objects_point_at_their_owners(seed_objects: list[dict[str, Any]]) -> None:
    edges = graph(seed_objects)
    assert ("owner", f"Notebook.kubeflow.org {DEMO}/rodolfo-workbench") in _targets(edges, "StatefulSet", "rodolfo-workbench")
    assert ("owner", f"InferenceService.serving.kserve.io {DEMO}/iris") in _targets(edges, "Deployment", "iris-predictor")
    assert ("owner", f"ObjectBucketClaim.objectbucket.io {DEMO}/rhoai-demo-bucket") in _targets(edges, "Secret", "rhoai-demo-bucket")


def test_obc_and_workflow(seed_objects: list[dict[str, Any]], seed_context: dict[str, str]) -> None:
    edges = graph(seed_objects)
    obc = _targets(edges, "ObjectBucketClaim", "rhoai-demo-bucket")
    assert ("credentials", f"Secret {DEMO}/rhoai-demo-bucket") in obc
    assert ("bucket-config", f"ConfigMap {DEMO}/rhoai-demo-bucket") in obc
    assert ("bucket", f"bucket-prefix s3://{seed_context['bucket']}") in obc
    workflow = _targets(edges, "Workflow", seed_context["workflow_name"])
    assert ("pipeline-server", f"DataSciencePipelinesApplication.datasciencepipelinesapplications.opendatahub.io {DEMO}/dspa") in workflow


def test_the_complete_seed_has_no_unresolved_reference(seed_objects: list[dict[str, Any]]) -> None:
    assert unresolved(graph(seed_objects)) == []


def test_a_missing_secret_is_reported(seed_objects: list[dict[str, Any]]) -> None:
    without = [o for o in seed_objects if not (o["kind"] == "Secret" and o["metadata"]["name"] == "aws-connection-rhoai-demo-bucket")]
    edges = graph(without)
    warnings = unresolved(edges)
    assert f"Secret {DEMO}/aws-connection-rhoai-demo-bucket referenced by InferenceService {DEMO}/iris (storage) does not exist" in warnings
    assert any("DataSciencePipelinesApplication" in w for w in warnings)
    # Without the Secret the bucket cannot be known, so no guessed bucket edge.
    assert not any(isinstance(e.target, ExternalRef) and e.source.name == "iris" for e in edges)


def test_artifact_locations_of_iris(seed_objects: list[dict[str, Any]], seed_context: dict[str, str]) -> None:
    secrets = {o["metadata"]["name"]: o for o in seed_objects if o["kind"] == "Secret" and o["metadata"].get("namespace") == DEMO}
    iris = next(o for o in seed_objects if o["kind"] == "InferenceService" and o["metadata"]["name"] == "iris")
    [location] = artifact_locations(iris, secrets)
    assert location.bucket == seed_context["bucket"] and location.prefix == "models/iris"
    assert location.endpoint == "http://s3.example.test:9000" and location.region == seed_context["s3_region"]
    assert location.credentials == ObjectRef(kind="Secret", namespace=DEMO, name="aws-connection-rhoai-demo-bucket")
    assert location.uri == f"s3://{seed_context['bucket']}/models/iris"
    dspa = next(o for o in seed_objects if o["kind"] == "DataSciencePipelinesApplication")
    [store] = dspa_artifacts(dspa, secrets)
    assert store.bucket == seed_context["bucket"] and store.endpoint == "http://s3.example.test:9000"


def test_images_are_recorded(seed_objects: list[dict[str, Any]]) -> None:
    found = [image for obj in seed_objects for image in images(obj)]
    by_workload = {(i.workload.kind, i.workload.name, i.container): i for i in found}
    assert by_workload[("Deployment", "iris-predictor", "storage-initializer")].init
    assert by_workload[("ServingRuntime", "vllm-cpu-x86-runtime", "kserve-container")].image.startswith("registry.redhat.io/rhaiis/")
    assert ("Notebook", "rodolfo-workbench", "rodolfo-workbench") in by_workload
    assert ("Deployment", "model-registry-db", "mariadb") in by_workload


def test_index_reads_base64_and_string_data() -> None:
    index = ObjectIndex([{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "data": {"A": "eA=="}}])
    from mlark.apps.base import secret_data

    assert secret_data(index.get(ObjectRef(kind="Secret", namespace="n", name="s"))) == {"A": "x"}
