"""Repository URLs: a local path, or `s3:[ENDPOINT/]BUCKET[/PREFIX]`.

ENDPOINT is `http://host:port` or `https://host[:port]`; without it boto3's
default endpoint resolution applies (AWS, or AWS_ENDPOINT_URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from mlark.repo.backend.base import Backend
from mlark.repo.backend.local import LocalBackend
from mlark.repo.backend.retry import RetryBackend
from mlark.repo.errors import UsageError

if TYPE_CHECKING:  # boto3 costs a fifth of a second: only s3: URLs pay for it
    from mlark.repo.backend.s3 import S3Options


@dataclass(frozen=True)
class S3Credentials:
    region: str | None = None
    access_key: str | None = None
    secret_key: str | None = None


def parse_s3_url(url: str, creds: S3Credentials | None = None) -> S3Options:
    from mlark.repo.backend.s3 import S3Options

    rest = url[len("s3:") :]
    endpoint = None
    for scheme in ("http://", "https://"):
        if rest.startswith(scheme):
            host, _, rest = rest[len(scheme) :].partition("/")
            if not host:
                raise UsageError(f"repository URL {url!r} has an empty endpoint host")
            endpoint = scheme + host
            _check_endpoint(url, endpoint)
    rest = rest.strip("/")
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise UsageError(f"repository URL {url!r} names no bucket; expected s3:http://HOST:PORT/BUCKET/PREFIX")
    creds = creds or S3Credentials()
    return S3Options(endpoint, bucket, prefix.strip("/"), creds.region, creds.access_key, creds.secret_key)


def _check_endpoint(url: str, endpoint: str) -> None:
    """A malformed endpoint is bad usage, said at once (not a traceback, not retried as unreachable)."""
    try:
        parts = urlsplit(endpoint)
        parts.port  # noqa: B018 - raises for a port that is not a number in range
    except ValueError as exc:
        raise UsageError(f"repository URL {url!r} has an invalid endpoint: {exc}") from exc
    if not parts.hostname:
        raise UsageError(f"repository URL {url!r} has an endpoint without a host name")


def open_backend(url: str, creds: S3Credentials | None = None) -> Backend:
    """Build the backend for a URL, wrapped in retries where the medium can fail transiently."""
    if not url:
        raise UsageError("no repository given: pass --repo or set MLARK_REPOSITORY")
    if url.startswith("s3:"):
        from mlark.repo.backend.s3 import S3Backend

        return RetryBackend(S3Backend(parse_s3_url(url, creds)))
    if "://" in url:
        raise UsageError(f"unsupported repository URL {url!r}: use a local path or s3:ENDPOINT/BUCKET/PREFIX")
    return LocalBackend(url)
