"""The scenario's bucket in the local S3 service: what NooBaa would provision for the claim,
holding the iris model the InferenceService and the registry point at."""

from __future__ import annotations

from typing import Any

from mlark.dev.modelserver import publish_iris_model
from mlark.dev.scenario.spec import IRIS_PATH
from mlark.dev.services.s3 import S3Endpoint, ensure_bucket

MODEL_FILES = ("model.joblib", "model-settings.json")


def model_present(s3: S3Endpoint, bucket: str) -> bool:
    client = s3.client()
    try:
        for name in MODEL_FILES:
            client.head_object(Bucket=bucket, Key=f"{IRIS_PATH}/{name}")
    except Exception:
        return False
    return True


def ensure_bucket_with_model(s3: S3Endpoint, bucket: str) -> None:
    """Create the bucket and publish the iris model under models/iris/ unless already there,
    and the generative model's files under models/opt-125m/."""
    ensure_bucket(s3, bucket)
    if not model_present(s3, bucket):
        publish_iris_model(s3, bucket, IRIS_PATH + "/")
    publish_generative_placeholder(s3, bucket)


# The seed preloads facebook/opt-125m; its weights cannot be fetched here (no model hub), so
# the scenario stores the model's configuration and a marker in its place. The InferenceService
# then points at real objects (what backup, restore and consistency checks care about); no
# generative server loads them.
OPT_PATH = "models/opt-125m"
OPT_FILES = {
    "config.json": b'{"architectures": ["OPTForCausalLM"], "model_type": "opt", "hidden_size": 768, '
                   b'"num_hidden_layers": 12, "num_attention_heads": 12, "vocab_size": 50272, "max_position_embeddings": 2048}\n',
    "PLACEHOLDER.md": b"Weights of facebook/opt-125m are not downloadable in this environment; this prefix stands in for them.\n",
}


def publish_generative_placeholder(s3: S3Endpoint, bucket: str) -> None:
    client = s3.client()
    for name, body in OPT_FILES.items():
        client.put_object(Bucket=bucket, Key=f"{OPT_PATH}/{name}", Body=body)


def _delete_all(client: Any, bucket: str) -> None:
    paginator = client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        entries = page.get("Versions", []) + page.get("DeleteMarkers", [])
        keys = [{"Key": entry["Key"], "VersionId": entry["VersionId"]} for entry in entries]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": entry["Key"]} for entry in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


def delete_bucket(s3: S3Endpoint, bucket: str) -> bool:
    """Empty and remove the bucket (like NooBaa when the claim goes); False if it was absent."""
    client = s3.client()
    try:
        client.head_bucket(Bucket=bucket)
    except Exception:
        return False
    _delete_all(client, bucket)
    client.delete_bucket(Bucket=bucket)
    return True
