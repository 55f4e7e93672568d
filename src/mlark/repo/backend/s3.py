"""S3-compatible object storage backend (boto3).

Credentials and region come from explicit options or boto3's usual sources
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION / AWS_DEFAULT_REGION,
profiles). Retrying is left to RetryBackend: this class only classifies failures.
"""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import boto3
import botocore.exceptions as bexc
from botocore.config import Config as BotoConfig

from mlark.repo.backend.base import Kind, ObjectInfo, object_path
from mlark.repo.errors import (
    AccessDenied, NoCredentials, ObjectMissing, StorageError, StorageMisconfigured, TransientError, UsageError,
)

T = TypeVar("T")

_MISSING = {"NoSuchKey", "404", "NotFound"}
_DENIED = {"AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "Forbidden", "AllAccessDisabled"}
_TRANSIENT = {"SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable", "RequestTimeTooSkewed", "Throttling",
              "ThrottlingException", "TooManyRequests", "RequestLimitExceeded"}
_NETWORK = (
    bexc.EndpointConnectionError,
    bexc.ConnectTimeoutError,
    bexc.ReadTimeoutError,
    bexc.ConnectionClosedError,
    bexc.ProxyConnectionError,
)
# Failures of the transfer itself, worth another attempt; every other botocore error (a parameter
# it refuses, a region it cannot resolve, ...) fails the same way each time.
_TRANSFER = (bexc.ConnectionError, bexc.HTTPClientError, bexc.IncompleteReadError, bexc.ResponseStreamingError)


def _name_resolution_failed(exc: BaseException) -> bool:
    """Whether a connection failed because the host name does not resolve (DNS), not because the host is down."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, socket.gaierror) or type(current).__name__ == "NameResolutionError":
            return True
        inner = getattr(current, "kwargs", {}).get("error") if isinstance(getattr(current, "kwargs", None), dict) else None
        pending += [current.__cause__, current.__context__, inner]
    return False


@dataclass(frozen=True)
class S3Options:
    endpoint: str | None
    bucket: str
    prefix: str
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None


@dataclass(frozen=True)
class Retention:
    """Object-lock retention applied to every object written."""

    mode: str  # "GOVERNANCE" or "COMPLIANCE"
    days: int


def _classify(exc: Exception, what: str) -> StorageError:
    if isinstance(exc, bexc.SSLError):
        return StorageMisconfigured(f"TLS error talking to the S3 endpoint for {what} (is it https?): {exc}")
    if isinstance(exc, _NETWORK) and _name_resolution_failed(exc):
        return StorageMisconfigured(f"the S3 endpoint's host name does not resolve (DNS) for {what}: {exc}")
    if isinstance(exc, _NETWORK):
        return TransientError(f"cannot reach S3 endpoint for {what}: {exc}")
    if isinstance(exc, bexc.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        message = error.get("Message") or code
        if code in _MISSING:
            return ObjectMissing(f"{what}: not found")
        if code in _DENIED or status == 403:
            return AccessDenied(f"S3 denied {what}: {code} {message}")
        if code == "NoSuchBucket":
            return ObjectMissing(f"{what}: bucket does not exist")
        if code in _TRANSIENT or status >= 500 or status == 429:
            return TransientError(f"S3 error on {what}: {code} {message}")
        if 400 <= status < 500:
            return StorageMisconfigured(f"S3 refused {what}: {code} {message} (HTTP {status})")
        return StorageError(f"S3 error on {what}: {code} {message}")
    if isinstance(exc, (bexc.NoCredentialsError, bexc.PartialCredentialsError)):
        return NoCredentials("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or pass them as options")
    if isinstance(exc, _TRANSFER):
        return TransientError(f"S3 failure on {what}: {exc}")
    if isinstance(exc, bexc.BotoCoreError):
        return StorageMisconfigured(f"S3 request for {what} cannot be made: {' '.join(str(exc).split())}")
    raise exc


class S3Backend:
    def __init__(self, options: S3Options) -> None:
        self.options = options
        self.retention: Retention | None = None
        try:
            self.client = self._client(options)
        except ValueError as exc:  # botocore's check of the endpoint URL
            raise UsageError(f"invalid S3 endpoint {options.endpoint!r}: {exc}") from exc
        except bexc.BotoCoreError as exc:
            raise StorageMisconfigured(f"cannot set up S3 for {options.endpoint or 'aws'}: {exc}") from exc

    @staticmethod
    def _client(options: S3Options) -> Any:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=options.endpoint,
            region_name=options.region or None,
            aws_access_key_id=options.access_key,
            aws_secret_access_key=options.secret_key,
            config=BotoConfig(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=5,
                read_timeout=60,
                max_pool_connections=16,
                s3={"addressing_style": "path"},
            ),
        )

    def location(self) -> str:
        endpoint = self.options.endpoint or "aws"
        return f"s3:{endpoint}/{self.options.bucket}/{self.options.prefix}".rstrip("/")

    def _key(self, kind: Kind, name: str) -> str:
        path = object_path(kind, name)
        return f"{self.options.prefix}/{path}" if self.options.prefix else path

    def _do(self, what: str, func: Callable[[], T]) -> T:
        try:
            return func()
        except Exception as exc:  # noqa: BLE001 - classified below, unknown ones re-raised
            raise _classify(exc, what) from exc

    def create_location(self) -> None:
        bucket = self.options.bucket

        def ensure() -> None:
            try:
                self.client.head_bucket(Bucket=bucket)
            except bexc.ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) not in {"404", "NoSuchBucket", "NotFound"}:
                    raise
                self.client.create_bucket(Bucket=bucket)

        self._do(f"bucket {bucket}", ensure)

    def save(self, kind: Kind, name: str, data: bytes) -> None:
        extra: dict[str, Any] = {}
        if self.retention is not None:
            until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=self.retention.days)
            extra = {"ObjectLockMode": self.retention.mode, "ObjectLockRetainUntilDate": until}
        key = self._key(kind, name)
        self._do(f"put {key}", lambda: self.client.put_object(Bucket=self.options.bucket, Key=key, Body=bytes(data), **extra))

    def load(self, kind: Kind, name: str, offset: int = 0, length: int | None = None) -> bytes:
        key = self._key(kind, name)
        extra: dict[str, Any] = {}
        if offset < 0:
            extra["Range"] = f"bytes={offset}"
        elif length is not None:
            if length == 0:
                return b""
            extra["Range"] = f"bytes={offset}-{offset + length - 1}"
        elif offset:
            extra["Range"] = f"bytes={offset}-"

        def get() -> bytes:
            body = self.client.get_object(Bucket=self.options.bucket, Key=key, **extra)["Body"]
            return bytes(body.read())

        return self._do(f"get {key}", get)

    def list(self, kind: Kind) -> Iterator[ObjectInfo]:
        prefix = self._key(kind, "") if kind is not Kind.data else self._key(Kind.data, "xx").rsplit("/", 2)[0] + "/"
        if kind is Kind.config:
            prefix = self._key(kind, "config")

        def collect() -> list[ObjectInfo]:
            found: list[ObjectInfo] = []
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.options.bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    found.append(ObjectInfo(item["Key"].rsplit("/", 1)[-1], int(item["Size"]), item["LastModified"].timestamp()))
            return found

        yield from self._do(f"list {prefix}", collect)

    def remove(self, kind: Kind, name: str) -> None:
        key = self._key(kind, name)
        self._do(f"delete {key}", lambda: self.client.delete_object(Bucket=self.options.bucket, Key=key))

    def stat(self, kind: Kind, name: str) -> ObjectInfo:
        key = self._key(kind, name)
        head = self._do(f"head {key}", lambda: self.client.head_object(Bucket=self.options.bucket, Key=key))
        return ObjectInfo(name, int(head["ContentLength"]))


