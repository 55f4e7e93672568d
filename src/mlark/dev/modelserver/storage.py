"""Model artifacts in S3: publishing the iris model, and the KServe storage-initializer step."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlparse

from pydantic import BaseModel

from mlark.dev.modelserver.venv import ensure_mlserver_venv
from mlark.dev.paths import component_dir
from mlark.dev.process import DevEnvironmentError
from mlark.dev.services.s3 import S3Endpoint, ensure_bucket

DEMO_BUCKET = "rhoai-demo-bucket"
IRIS_PREFIX = "models/iris/"


class PublishedModel(BaseModel):
    uri: str  # s3://bucket/prefix/
    bucket: str
    prefix: str
    files: list[str]
    accuracy: float


def train_iris_model(out_dir: Path) -> float:
    """Train the iris RandomForest into out_dir (model.joblib, model-settings.json); return test accuracy."""
    python = ensure_mlserver_venv()
    script = Path(__file__).with_name("train_iris.py")
    result = subprocess.run([str(python), str(script), str(out_dir)], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DevEnvironmentError(f"training the iris model failed:\n{result.stderr[-2000:]}")
    return float(json.loads(result.stdout.strip().splitlines()[-1])["accuracy"])


def publish_iris_model(endpoint: S3Endpoint, bucket: str = DEMO_BUCKET, prefix: str = IRIS_PREFIX) -> PublishedModel:
    """Train the iris model and upload its directory to s3://bucket/prefix (bucket created if absent)."""
    prefix = prefix.strip("/") + "/"
    build = component_dir("modelserver") / "iris-build"
    accuracy = train_iris_model(build)
    ensure_bucket(endpoint, bucket)
    client = endpoint.client()
    files = sorted(path for path in build.rglob("*") if path.is_file())
    for path in files:
        client.upload_file(str(path), bucket, prefix + path.relative_to(build).as_posix())
    return PublishedModel(
        uri=f"s3://{bucket}/{prefix}",
        bucket=bucket,
        prefix=prefix,
        files=[path.relative_to(build).as_posix() for path in files],
        accuracy=accuracy,
    )


def parse_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc:
        raise DevEnvironmentError(f"not an s3://bucket/prefix URI: {uri}")
    return parsed.netloc, parsed.path.lstrip("/")


def download_model(s3_uri: str, target_dir: Path, endpoint: S3Endpoint) -> Path:
    """Copy every object under s3_uri into target_dir, keeping relative paths (what KServe's
    storage-initializer does into /mnt/models). A URI naming one object downloads that file."""
    bucket, prefix = parse_s3_uri(s3_uri)
    target_dir = Path(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    client = endpoint.client()
    keys: list[str] = []
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys.extend(item["Key"] for item in page.get("Contents", []))
    if not keys:
        raise DevEnvironmentError(f"storage-initializer: nothing found under {s3_uri}")
    stem = prefix.rstrip("/")
    for key in keys:
        if key.endswith("/"):
            continue  # directory marker objects
        if key == stem:
            relative = key.rsplit("/", 1)[-1]  # the URI names one object
        elif not stem or key.startswith(stem + "/"):
            relative = key[len(stem) :].lstrip("/")
        else:
            continue  # s3://b/models/iris must not pick up models/iris2/...
        destination = (target_dir / relative).resolve()
        if target_dir.resolve() not in destination.parents:
            raise DevEnvironmentError(f"storage-initializer: refusing key outside the target: {key}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(destination))
    return target_dir
