"""Putting captured model artifacts back into their bucket (creating the bucket if it is gone)."""

from __future__ import annotations

from typing import Any

from mlark.apps.buckets import BucketAccess, CredentialsUnavailable
from mlark.repo import Repository
from mlark.repo.chunker import IterableReader
from mlark.restore.steps import RestoreArtifact
from mlark.restorepoint.store import read_stream

Obj = dict[str, Any]


class ArtifactStores:
    """S3 clients per (endpoint, bucket), with the credentials of the ML object that pointed at
    them in the restore point (never mlark's own: see apps/buckets.py)."""

    def __init__(self, objects: list[Obj]) -> None:
        self.access = BucketAccess(objects)

    def client(self, endpoint: str | None, bucket: str) -> Any:
        """Raises CredentialsUnavailable when no captured object gives keys for this bucket."""
        location = self.access.find(endpoint, bucket)
        if location is None:
            raise CredentialsUnavailable(f"no object of the restore point points at s3://{bucket} on "
                                         f"{endpoint or 'the default AWS endpoint'}, so its credentials are unknown")
        try:
            return self.access.client(location)
        except CredentialsUnavailable as error:
            raise CredentialsUnavailable(f"{location.uri}: {error}") from error

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
