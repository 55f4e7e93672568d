"""The data services of the local environment, exercised for real."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mlark.dev.services.s3 import S3Endpoint

pytestmark = pytest.mark.s3


def test_s3_put_get_roundtrip(s3_client: Any, s3_bucket: str) -> None:
    s3_client.put_object(Bucket=s3_bucket, Key="dir/hello.txt", Body=b"hello mlark")
    body = s3_client.get_object(Bucket=s3_bucket, Key="dir/hello.txt")["Body"].read()
    assert body == b"hello mlark"


def test_s3_versioning_keeps_old_versions(s3_client: Any, s3_bucket: str) -> None:
    s3_client.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3_client.put_object(Bucket=s3_bucket, Key="k", Body=b"one")["VersionId"]
    second = s3_client.put_object(Bucket=s3_bucket, Key="k", Body=b"two")["VersionId"]
    assert first != second
    old = s3_client.get_object(Bucket=s3_bucket, Key="k", VersionId=first)["Body"].read()
    assert old == b"one"
    assert s3_client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"two"


def test_s3_object_lock_refuses_deleting_a_locked_version(s3_client: Any, s3_locked_bucket: str) -> None:
    lock = s3_client.get_object_lock_configuration(Bucket=s3_locked_bucket)
    assert lock["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    version = s3_client.put_object(
        Bucket=s3_locked_bucket,
        Key="restore-point",
        Body=b"immutable",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    with pytest.raises(ClientError) as refused:
        s3_client.delete_object(Bucket=s3_locked_bucket, Key="restore-point", VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    body = s3_client.get_object(Bucket=s3_locked_bucket, Key="restore-point", VersionId=version)["Body"].read()
    assert body == b"immutable"


def test_s3_rejects_a_wrong_secret(s3_service: S3Endpoint, s3_bucket: str) -> None:
    intruder = s3_service.client(secret_key="not-the-secret")
    with pytest.raises(ClientError) as rejected:
        intruder.list_objects_v2(Bucket=s3_bucket)
    assert rejected.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied"}


def test_s3_rejects_an_unknown_key(s3_service: S3Endpoint) -> None:
    intruder = s3_service.client(access_key="AKIAUNKNOWN0000000", secret_key="whatever")
    with pytest.raises(ClientError) as rejected:
        intruder.list_buckets()
    assert rejected.value.response["Error"]["Code"] in {"InvalidAccessKeyId", "AccessDenied"}
