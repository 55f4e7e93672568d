"""The environment's own model server: the iris model published to S3, pulled back and served.

This is the path a real InferenceService takes (artifact in the bucket, storage-initializer,
predictor), run once for the environment itself; the pod simulator repeats it per pod.
"""

from __future__ import annotations

from pathlib import Path

from mlark.dev.modelserver.server import ModelServerAddress, ModelServerPorts, start_mlserver, stop_mlserver
from mlark.dev.modelserver.storage import DEMO_BUCKET, IRIS_PREFIX, download_model, publish_iris_model
from mlark.dev.paths import component_dir
from mlark.dev.ports import model_server_ports
from mlark.dev.services.s3 import S3Endpoint

SHARED_NAME = "model-server"


def shared_model_dir() -> Path:
    return component_dir("modelserver") / "shared-models" / "iris"


def shared_ports() -> ModelServerPorts:
    return ModelServerPorts(**model_server_ports())


def shared_address() -> ModelServerAddress:
    ports = shared_ports()
    return ModelServerAddress(
        name=SHARED_NAME,
        http_port=ports.http,
        grpc_port=ports.grpc,
        metrics_port=ports.metrics,
        model_dir=str(shared_model_dir()),
    )


def iris_published(endpoint: S3Endpoint, bucket: str = DEMO_BUCKET, prefix: str = IRIS_PREFIX) -> bool:
    client = endpoint.client()
    try:
        client.head_object(Bucket=bucket, Key=prefix + "model.joblib")
        client.head_object(Bucket=bucket, Key=prefix + "model-settings.json")
    except Exception:
        return False
    return True


def start_shared_model_server(endpoint: S3Endpoint) -> ModelServerAddress:
    """Publish the iris model unless the bucket has it, download it and serve it. Idempotent."""
    if not iris_published(endpoint):
        publish_iris_model(endpoint, DEMO_BUCKET, IRIS_PREFIX)
    model_dir = shared_model_dir()
    if not (model_dir / "model-settings.json").exists():
        download_model(f"s3://{DEMO_BUCKET}/{IRIS_PREFIX}", model_dir, endpoint)
    return start_mlserver(SHARED_NAME, model_dir, shared_ports())


def stop_shared_model_server() -> bool:
    return stop_mlserver(SHARED_NAME)
