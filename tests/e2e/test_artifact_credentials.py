"""Model files of InferenceServices that use KServe's own credential conventions (issue 9, item 3).

One InferenceService takes its S3 endpoint and keys the documented KServe way: a bare
`storageUri`, and a Secret with `serving.kserve.io/s3-*` annotations attached to its predictor's
ServiceAccount. Its files are captured, the bucket is emptied, and a restore into the recovery
cluster puts them back byte for byte.

Another has a bare `storageUri` and a ServiceAccount without any S3 Secret: its credentials
cannot be resolved. mlark must say so (a warning naming the InferenceService and what is
missing) and must not try its own credentials instead. To prove it, every mlark run here has
valid keys of the local S3 in its environment (AWS_* variables and ~/.aws-style files) with
AWS_ENDPOINT_URL pointing at a recording proxy in front of that S3: a client built the
default boto3 way would send its requests there, and succeed. The proxy must see none.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

from mlark.dev.cluster import kubeconfig_path
from mlark.dev.scenario.deploy import install_crds
from mlark.dev.services.s3 import S3Endpoint
from mlark.kube.apply import create, delete, get
from tests.e2e.story import wait_until

pytestmark = pytest.mark.cluster
PASSWORD = "artifact-credentials"
ISVC = "serving.kserve.io/v1beta1"
# Files of the model, with content that a truncated or mixed-up copy would not match.
MODEL_FILES = {
    "model.joblib": os.urandom(3 * 1024 * 1024 + 17),
    "model-settings.json": b'{"name": "fraud-detection", "implementation": "mlserver_sklearn.SKLearnModel"}\n',
    "nested/thresholds.json": b'{"fraud": 0.87}\n',
}


class RecordingProxy:
    """An HTTP proxy in front of the local S3 that records the access key of every request.

    Requests are forwarded unchanged (Host header included, so SigV4 signatures made for the
    proxy's address still verify): a client that reaches it with valid keys gets real answers.
    """

    def __init__(self, upstream: str) -> None:
        host, _, port = upstream.removeprefix("http://").partition(":")
        self.requests: list[tuple[str, str, str]] = []  # (method, path, access key)
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                authorization = self.headers.get("Authorization", "")
                key = re.search(r"Credential=([^/]+)/", authorization)
                recorded.append((self.command, self.path, key.group(1) if key else ""))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                connection = http.client.HTTPConnection(host, int(port), timeout=30)
                connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    connection.putheader(name, value)
                connection.endheaders(body)
                answer = connection.getresponse()
                payload = answer.read()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
                connection.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _forward

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def decoy(s3_service: S3Endpoint, tmp_path: Path) -> Iterator[tuple[RecordingProxy, dict[str, str]]]:
    """The proxy, and the environment that mlark runs with: mlark's "own" valid S3 keys
    everywhere boto3 looks by default, all pointing at the proxy."""
    with RecordingProxy(s3_service.endpoint) as proxy:
        aws = tmp_path / "aws"
        aws.mkdir()
        (aws / "credentials").write_text(f"[default]\naws_access_key_id = {s3_service.access_key}\n"
                                         f"aws_secret_access_key = {s3_service.secret_key}\n")
        (aws / "config").write_text(f"[default]\nregion = us-east-1\nendpoint_url = {proxy.url}\n")
        environment = {
            "AWS_ACCESS_KEY_ID": s3_service.access_key, "AWS_SECRET_ACCESS_KEY": s3_service.secret_key,
            "AWS_ENDPOINT_URL": proxy.url, "AWS_ENDPOINT_URL_S3": proxy.url, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_SHARED_CREDENTIALS_FILE": str(aws / "credentials"), "AWS_CONFIG_FILE": str(aws / "config"),
        }
        yield proxy, environment


def _mlark(tmp_path: Path, environment: dict[str, str], *args: str, kubeconfig: Path | None = None) -> Any:
    env = {**os.environ, **environment, "KUBECONFIG": str(kubeconfig or kubeconfig_path("primary")),
           "MLARK_PASSWORD": PASSWORD, "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-m", "mlark", *args, "-o", "json"], capture_output=True, text=True,
                            env=env, timeout=900, cwd=tmp_path)
    assert result.returncode == 0, f"mlark {' '.join(args)} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return json.loads(result.stdout)


def _plan(tmp_path: Path, namespace: str) -> Path:
    plan = {
        "apiVersion": "mlark.io/v1alpha1", "kind": "Plan", "metadata": {"name": f"creds-{namespace}"},
        "spec": {
            "namespaces": {"names": [namespace]},
            "resources": {"includeClusterResources": "auto"},
            "artifacts": {"capture": True},
            "targets": [{"name": "local", "repository": str(tmp_path / "repository"), "passwordFrom": {"env": "MLARK_PASSWORD"}}],
        },
    }
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    return path


def _isvc(namespace: str, name: str, account: str, uri: str) -> dict[str, Any]:
    return {"apiVersion": ISVC, "kind": "InferenceService", "metadata": {"name": name, "namespace": namespace},
            "spec": {"predictor": {"serviceAccountName": account,
                                   "model": {"modelFormat": {"name": "sklearn"}, "storageUri": uri}}}}


def _apply(api: ApiClient, *objects: dict[str, Any]) -> None:
    for obj in objects:
        made = create(api, obj, "fail")
        assert made.ok, made.reason


def _fill(s3: S3Endpoint, bucket: str, prefix: str) -> None:
    client = s3.client()
    for name, content in MODEL_FILES.items():
        client.put_object(Bucket=bucket, Key=f"{prefix}/{name}", Body=content)
    client.put_object(Bucket=bucket, Key="elsewhere/unrelated.txt", Body=b"not the model's\n")


def _contents(s3: S3Endpoint, bucket: str) -> dict[str, bytes]:
    client = s3.client()
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {item["Key"]: client.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            for page in pages for item in page.get("Contents", [])}


def _empty(s3: S3Endpoint, bucket: str) -> None:
    client = s3.client()
    for key in _contents(s3, bucket):
        client.delete_object(Bucket=bucket, Key=key)
    assert not _contents(s3, bucket)


def test_kserve_service_account_credentials_capture_and_restore_the_model(
        kube_primary: ApiClient, kube_recovery: ApiClient, fresh_namespace: str, s3_service: S3Endpoint, s3_bucket: str,
        decoy: tuple[RecordingProxy, dict[str, str]], tmp_path: Path) -> None:
    proxy, environment = decoy
    install_crds(kube_primary)
    namespace, prefix = fresh_namespace, "fraud-detection/v2"
    _fill(s3_service, s3_bucket, prefix)
    host = s3_service.endpoint.removeprefix("http://")
    _apply(kube_primary,
           {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": "models-s3", "namespace": namespace, "annotations": {
                "serving.kserve.io/s3-endpoint": host, "serving.kserve.io/s3-usehttps": "0",
                "serving.kserve.io/s3-region": s3_service.region, "serving.kserve.io/s3-verifyssl": "0"}},
            "stringData": {"AWS_ACCESS_KEY_ID": s3_service.access_key, "AWS_SECRET_ACCESS_KEY": s3_service.secret_key}},
           {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "models-sa", "namespace": namespace},
            "secrets": [{"name": "models-s3"}]},
           _isvc(namespace, "fraud-detection", "models-sa", f"s3://{s3_bucket}/{prefix}"))
    before = _contents(s3_service, s3_bucket)
    plan = _plan(tmp_path, namespace)
    _mlark(tmp_path, environment, "repo", "init", "--repo", str(tmp_path / "repository"))

    created = _mlark(tmp_path, environment, "backup", "create", "--plan", str(plan))
    shown = _mlark(tmp_path, environment, "backup", "describe", created["snapshot_id"], "--plan", str(plan))
    captured = {a["key"]: a for a in shown["artifacts"]}
    assert set(captured) == {f"{prefix}/{name}" for name in MODEL_FILES}, shown["artifacts"]
    assert {a["endpoint"] for a in captured.values()} == {s3_service.endpoint}
    assert not [r for r in shown["results"] if r["item"].startswith("artifacts")], shown["results"]

    _empty(s3_service, s3_bucket)
    recovery = kubeconfig_path("recovery")
    try:
        restored = _mlark(tmp_path, environment, "restore", "create", "--from-backup", created["snapshot_id"],
                          "--plan", str(plan), kubeconfig=recovery)
        artifacts = [d for d in restored["data"] if d["type"] == "artifact"]
        assert sorted(d["outcome"] for d in artifacts) == ["created"] * len(MODEL_FILES), artifacts
        after = _contents(s3_service, s3_bucket)
        assert after == {key: value for key, value in before.items() if key.startswith(prefix + "/")}, sorted(after)
        assert get(kube_recovery, ISVC, "InferenceService", "fraud-detection", namespace) is not None
    finally:
        delete(kube_recovery, "v1", "Namespace", namespace)
    # The application's own endpoint and keys were used: never the ones in mlark's environment.
    assert proxy.requests == []


def test_unresolvable_credentials_warn_and_never_borrow_mlarks_own(
        kube_primary: ApiClient, fresh_namespace: str, s3_service: S3Endpoint, s3_bucket: str,
        decoy: tuple[RecordingProxy, dict[str, str]], tmp_path: Path) -> None:
    proxy, environment = decoy
    install_crds(kube_primary)
    namespace, prefix = fresh_namespace, "fraud-detection/v2"
    _fill(s3_service, s3_bucket, prefix)
    _apply(kube_primary,
           {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "plain-sa", "namespace": namespace}},
           _isvc(namespace, "orphan-model", "plain-sa", f"s3://{s3_bucket}/{prefix}"))
    plan = _plan(tmp_path, namespace)
    _mlark(tmp_path, environment, "repo", "init", "--repo", str(tmp_path / "repository"))

    # The decoy is real: the environment's keys, through the proxy, read this very bucket.
    borrowed = S3Endpoint(endpoint=proxy.url, access_key=environment["AWS_ACCESS_KEY_ID"],
                          secret_key=environment["AWS_SECRET_ACCESS_KEY"]).client()
    assert borrowed.get_object(Bucket=s3_bucket, Key=f"{prefix}/nested/thresholds.json")["Body"].read() == MODEL_FILES["nested/thresholds.json"]
    assert [key for _, _, key in proxy.requests] == [s3_service.access_key]
    proxy.requests.clear()

    created = _mlark(tmp_path, environment, "backup", "create", "--plan", str(plan))
    shown = _mlark(tmp_path, environment, "backup", "describe", created["snapshot_id"], "--plan", str(plan))
    assert shown["artifacts"] == []
    [warning] = [r for r in shown["results"] if r["item"] == f"artifacts s3://{s3_bucket}/{prefix}"]
    assert warning["status"] == "warning"
    assert f"InferenceService {namespace}/orphan-model" in warning["message"]
    assert "ServiceAccount plain-sa" in warning["message"] and "AWS_SECRET_ACCESS_KEY" in warning["message"]
    assert proxy.requests == [], "mlark contacted S3 with the credentials of its own environment"
