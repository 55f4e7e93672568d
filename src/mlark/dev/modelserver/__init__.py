"""Model serving of the local environment: MLServer with the iris model from S3.

publish_iris_model() trains and uploads the model; download_model() is KServe's
storage-initializer step; start_mlserver()/stop_mlserver() run the predictor.
"""

from mlark.dev.modelserver.server import (
    SEED_REQUEST,
    ModelServerAddress,
    ModelServerPorts,
    infer,
    start_mlserver,
    stop_mlserver,
)
from mlark.dev.modelserver.storage import (
    DEMO_BUCKET,
    IRIS_PREFIX,
    PublishedModel,
    download_model,
    publish_iris_model,
)
from mlark.dev.modelserver.venv import ensure_mlserver_venv

__all__ = [
    "DEMO_BUCKET",
    "IRIS_PREFIX",
    "SEED_REQUEST",
    "ModelServerAddress",
    "ModelServerPorts",
    "PublishedModel",
    "download_model",
    "ensure_mlserver_venv",
    "infer",
    "publish_iris_model",
    "start_mlserver",
    "stop_mlserver",
]
