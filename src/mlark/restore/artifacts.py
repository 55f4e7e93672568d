"""Putting captured model artifacts back into their bucket (creating the bucket if it is gone)."""

from __future__ import annotations

from typing import Any

from mlark.apps import kserve, pipelines, secret_data
from mlark.apps.base import ArtifactLocation
from mlark.repo import Repository
from mlark.repo.chunker import IterableReader
from mlark.restore.steps import RestoreArtifact
from mlark.restorepoint.models import ObjectRef
from mlark.restorepoint.store import read_stream

Obj = dict[str, Any]


class ArtifactStores:
    """S3 clients per (endpoint, bucket), with the credentials of the data connection that
    pointed at them in the restore point."""

    def __init__(self, objects: list[Obj]) -> None:
        self.locations: dict[tuple[str | None, str], tuple[ArtifactLocation, dict[str, str]]] = {}
        secrets = {ObjectRef.of(o): o for o in objects if o.get("kind") == "Secret"}
        by_namespace: dict[str | None, dict[str, Obj]] = {}
        for ref, secret in secrets.items():
            by_namespace.setdefault(ref.namespace, {})[ref.name] = secret
        for obj in objects:
            namespace_secrets = by_namespace.get(obj["metadata"].get("namespace"), {})
            if obj.get("kind") == "InferenceService":
                found = kserve.artifact_locations(obj, namespace_secrets)
            elif obj.get("kind") == "DataSciencePipelinesApplication":
                found = pipelines.artifact_locations(obj, namespace_secrets)
            else:
                continue
            for location in found:
                values = secret_data(secrets.get(location.credentials)) if location.credentials else {}
                self.locations.setdefault((location.endpoint, location.bucket), (location, values))
        self.clients: dict[tuple[str | None, str], Any] = {}

    def client(self, endpoint: str | None, bucket: str) -> Any:
        import boto3
        from botocore.config import Config

        key = (endpoint, bucket)
        if key not in self.clients:
            location, values = self.locations.get(key) or (ArtifactLocation(endpoint=endpoint, bucket=bucket, prefix=""), {})
            self.clients[key] = boto3.client(
                "s3", endpoint_url=endpoint, region_name=location.region or "us-east-1",
                aws_access_key_id=values.get(location.access_key_field), aws_secret_access_key=values.get(location.secret_key_field),
                config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
            )
        return self.clients[key]

    def restore(self, repo: Repository, snapshot_id: str, step: RestoreArtifact) -> tuple[bool, str]:
        """(written, why not). The bucket is created when it no longer exists."""
        client = self.client(step.capture.endpoint, step.bucket)
        if step.only_if_missing and _same_object(client, step):
            return False, "the bucket already holds this object (same ETag or size)"
        _ensure_bucket(client, step.bucket)
        # Streamed (multipart for large models): a model file is never held whole in memory.
        client.upload_fileobj(IterableReader(read_stream(repo, snapshot_id, step.capture.stream)), step.bucket, step.key)
        return True, ""


def _same_object(client: Any, step: RestoreArtifact) -> bool:
    from botocore.exceptions import ClientError

    try:
        head = client.head_object(Bucket=step.bucket, Key=step.key)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
            return False
        raise
    etag = str(head.get("ETag", "")).strip('"')
    if step.capture.etag:
        return etag == step.capture.etag
    return int(head.get("ContentLength", -1)) == step.capture.size


def _ensure_bucket(client: Any, bucket: str) -> None:
    from botocore.exceptions import ClientError

    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
            raise
        client.create_bucket(Bucket=bucket)
