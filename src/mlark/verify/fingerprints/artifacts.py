"""Model artifacts: the keys, sizes and ETags of the S3 objects under each model location an
InferenceService points at (bucket + prefix, opened with its own credentials: apps/buckets.py).

The locations are the InferenceServices' (pipeline roots grow with every run and are left
out); a location whose model files were captured in the restore point is listed live, so a
model file that changed or vanished shows as a difference.
"""

from __future__ import annotations

from typing import Any

from mlark.apps.base import ArtifactLocation
from mlark.apps.buckets import BucketAccess, CredentialsUnavailable
from mlark.verify.fingerprints.common import Context, FingerprintError
from mlark.verify.models import Fingerprint


def locations(context: Context) -> list[ArtifactLocation]:
    """The InferenceServices' model locations, one per URI (the first whose credentials resolve)."""
    access = BucketAccess(context.objects)
    found: dict[str, ArtifactLocation] = {}
    for location, referrers in access.locations.items():
        if any(ref.kind == "InferenceService" for ref in referrers):
            if location.uri not in found or (access.resolvable(location) and not access.resolvable(found[location.uri])):
                found[location.uri] = location
    return list(found.values())


def targets(context: Context) -> list[Fingerprint]:
    """Locations whose credentials resolve: the others are reported by the backup (not
    captured) and by the consistency check, and are never listed with other keys."""
    access = BucketAccess(context.objects)
    return [
        Fingerprint(name=f"artifacts {location.uri}", kind="artifacts", namespace=None,
                    subject={"endpoint": location.endpoint, "bucket": location.bucket, "prefix": location.prefix}, data={})
        for location in locations(context) if access.resolvable(location)
    ]


def measure(context: Context, fingerprint: Fingerprint) -> dict[str, Any]:
    subject = fingerprint.subject
    bucket, prefix = str(subject["bucket"]), str(subject.get("prefix") or "")
    access = BucketAccess(context.objects)
    location = access.find(subject.get("endpoint"), bucket)
    if location is None:
        raise FingerprintError(f"no captured object points at s3://{bucket} any more: its credentials are unknown")
    try:
        client = access.client(location)
    except CredentialsUnavailable as error:
        raise FingerprintError(f"{location.uri}: {error}") from error
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
