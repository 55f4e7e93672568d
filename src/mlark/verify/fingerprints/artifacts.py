"""Model artifacts: the keys, sizes and ETags of the S3 objects under each model location an
InferenceService points at (bucket + prefix, opened with its data connection's credentials).

The locations are the InferenceServices' (pipeline roots grow with every run and are left
out); a location whose model files were captured in the restore point is listed live, so a
model file that changed or vanished shows as a difference.
"""

from __future__ import annotations

from typing import Any

from mlark.apps import kserve
from mlark.apps.base import ArtifactLocation
from mlark.restore.artifacts import ArtifactStores
from mlark.verify.fingerprints.common import Context, FingerprintError
from mlark.verify.models import Fingerprint


def locations(context: Context) -> list[ArtifactLocation]:
    secrets: dict[str | None, dict[str, Any]] = {}
    for secret in context.of_kind("Secret", ""):
        secrets.setdefault(secret["metadata"].get("namespace"), {})[secret["metadata"]["name"]] = secret
    found: dict[str, ArtifactLocation] = {}
    for isvc in context.of_kind("InferenceService", kserve.GROUP):
        for location in kserve.artifact_locations(isvc, secrets.get(isvc["metadata"].get("namespace"), {})):
            found.setdefault(location.uri, location)
    return list(found.values())


def targets(context: Context) -> list[Fingerprint]:
    return [
        Fingerprint(name=f"artifacts {location.uri}", kind="artifacts", namespace=None,
                    subject={"endpoint": location.endpoint, "bucket": location.bucket, "prefix": location.prefix}, data={})
        for location in locations(context)
    ]


def measure(context: Context, fingerprint: Fingerprint) -> dict[str, Any]:
    subject = fingerprint.subject
    bucket, prefix = str(subject["bucket"]), str(subject.get("prefix") or "")
    client = ArtifactStores(context.objects).client(subject.get("endpoint"), bucket)
    listed = list_objects(client, bucket, prefix)
    return {"objects": {key[len(prefix):].lstrip("/") or key: value for key, value in listed.items()}}


def list_objects(client: Any, bucket: str, prefix: str) -> dict[str, dict[str, Any]]:
    """{key: {size, etag}} under prefix (as a folder: models/iris does not take models/iris2)."""
    from botocore.exceptions import BotoCoreError, ClientError

    folder = prefix.rstrip("/") + "/" if prefix else ""
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder)
        items = [item for page in pages for item in page.get("Contents", [])]
    except (BotoCoreError, ClientError) as error:
        raise FingerprintError(f"cannot list s3://{bucket}/{folder}: {error}") from error
    return {item["Key"]: {"size": int(item["Size"]), "etag": str(item.get("ETag", "")).strip('"')}
            for item in sorted(items, key=lambda i: i["Key"]) if not item["Key"].endswith("/")}
