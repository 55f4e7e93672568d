"""Where an InferenceService's model files are and which keys open them, as KServe resolves it:
ServiceAccount Secrets with `serving.kserve.io/s3-*` annotations, the `storage-config` Secret,
OpenShift AI data connections; and what is missing when nothing resolves."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mlark.apps.base import ArtifactLocation
from mlark.apps.buckets import BucketAccess, CredentialsUnavailable, access_keys, artifact_locations
from mlark.restorepoint.models import ObjectRef

NS = "fraud"


def _isvc(predictor: dict[str, Any], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
            "metadata": {"name": "fraud-detection", "namespace": NS, "annotations": annotations or {}},
            "spec": {"predictor": predictor}}


def _secret(name: str, values: dict[str, str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS, "annotations": annotations or {}},
            "stringData": values}


def _account(name: str, secrets: list[str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": NS, "annotations": annotations or {}},
            "secrets": [{"name": s} for s in secrets]}


def _only(objects: list[dict[str, Any]]) -> ArtifactLocation:
    [location] = artifact_locations(objects)
    return location


KEYS = {"AWS_ACCESS_KEY_ID": "app-key", "AWS_SECRET_ACCESS_KEY": "app-secret"}
BARE = {"serviceAccountName": "models-sa", "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://models/fraud-detection/v2"}}


def test_service_account_secret_annotations_give_endpoint_region_and_keys() -> None:
    objects = [_isvc(BARE), _account("models-sa", ["token", "models-s3"]), _secret("token", {"token": "x"}),
               _secret("models-s3", KEYS, {"serving.kserve.io/s3-endpoint": "minio.storage:9000", "serving.kserve.io/s3-usehttps": "0",
                                           "serving.kserve.io/s3-region": "eu-west-1", "serving.kserve.io/s3-verifyssl": "0"})]
    location = _only(objects)
    assert (location.endpoint, location.bucket, location.prefix, location.region) == ("http://minio.storage:9000", "models", "fraud-detection/v2", "eu-west-1")
    assert location.credentials == ObjectRef(kind="Secret", namespace=NS, name="models-s3") and not location.verify_ssl
    assert location.missing is None
    assert access_keys(location, BucketAccess(objects).secrets) == ("app-key", "app-secret")


def test_https_is_the_default_and_secret_annotations_override_the_service_account() -> None:
    objects = [_isvc(BARE),
               _account("models-sa", ["models-s3"], {"serving.kserve.io/s3-endpoint": "s3.sa.example", "serving.kserve.io/s3-region": "us-east-2"}),
               _secret("models-s3", {"awsAccessKeyID": "k", "awsSecretAccessKey": "s"}, {"serving.kserve.io/s3-endpoint": "s3.secret.example"})]
    location = _only(objects)
    assert (location.endpoint, location.region) == ("https://s3.secret.example", "us-east-2")
    assert (location.access_key_field, location.secret_key_field) == ("awsAccessKeyID", "awsSecretAccessKey")
    assert access_keys(location, BucketAccess(objects).secrets) == ("k", "s")


def test_the_default_service_account_and_the_storage_secret_annotation() -> None:
    predictor = {"model": {"storageUri": "s3://models/fraud-detection/v2"}}
    by_default = _only([_isvc(predictor), _account("default", ["models-s3"]), _secret("models-s3", KEYS)])
    assert by_default.credentials is not None and by_default.credentials.name == "models-s3"
    named = _only([_isvc(predictor, {"serving.kserve.io/storageSecretName": "other"}), _account("default", ["models-s3"]),
                   _secret("models-s3", KEYS), _secret("other", KEYS)])
    assert named.credentials is not None and named.credentials.name == "other"


@pytest.mark.parametrize(("objects", "missing"), [
    ([_account("models-sa", [])], "neither the serving.kserve.io/storageSecretName annotation nor ServiceAccount models-sa"),
    ([], "ServiceAccount models-sa is not in the restore point"),
    ([_account("models-sa", ["gone"])], "Secret gone (attached to ServiceAccount models-sa) is not in the restore point"),
    ([_account("models-sa", [], {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/r"})], "takes an IAM role"),
])
def test_unresolvable_credentials_say_what_is_missing(objects: list[dict[str, Any]], missing: str) -> None:
    objects = [_isvc(BARE), *objects]
    location = _only(objects)
    assert location.missing is not None and missing in location.missing
    with pytest.raises(CredentialsUnavailable, match="ServiceAccount models-sa"):
        BucketAccess(objects).client(location)


def test_anonymous_access_needs_no_keys() -> None:
    objects = [_isvc(BARE), _account("models-sa", [], {"serving.kserve.io/s3-useanoncredential": "true",
                                                       "serving.kserve.io/s3-endpoint": "s3.example"})]
    location = _only(objects)
    assert location.anonymous and location.missing is None
    assert access_keys(location, {}) is None


def test_storage_spec_from_the_storage_config_secret() -> None:
    entry = {"type": "s3", "access_key_id": "cfg-key", "secret_access_key": "cfg-secret", "endpoint_url": "http://minio:9000",
             "bucket": "models", "region": "us-west-1", "verify_ssl": "0"}
    isvc = _isvc({"model": {"storage": {"key": "localMinIO", "path": "fraud-detection/v2", "parameters": {"bucket": "override"}}}})
    objects = [isvc, _secret("storage-config", {"localMinIO": json.dumps(entry)})]
    location = _only(objects)
    assert (location.endpoint, location.bucket, location.prefix, location.region) == ("http://minio:9000", "override", "fraud-detection/v2", "us-west-1")
    assert location.credentials_entry == "localMinIO" and not location.verify_ssl
    assert access_keys(location, BucketAccess(objects).secrets) == ("cfg-key", "cfg-secret")


def test_storage_spec_without_key_uses_the_default_entry_and_non_s3_is_not_a_bucket() -> None:
    default = {"type": "s3", "access_key_id": "a", "secret_access_key": "b", "bucket": "models"}
    storage = {"model": {"storage": {"path": "fraud-detection/v2"}}}
    assert _only([_isvc(storage), _secret("storage-config", {"default": json.dumps(default)})]).bucket == "models"
    hdfs = {"type": "hdfs", "bucket": "x"}
    assert artifact_locations([_isvc(storage), _secret("storage-config", {"default": json.dumps(hdfs)})]) == {}


def test_openshift_ai_data_connection_still_works() -> None:
    connection = _secret("aws-connection-models", {**KEYS, "AWS_S3_BUCKET": "models", "AWS_S3_ENDPOINT": "http://s3.local:9000",
                                                   "AWS_DEFAULT_REGION": "us-east-1"})
    objects = [_isvc({"model": {"storage": {"key": "aws-connection-models", "path": "fraud-detection/v2"}}}), connection]
    location = _only(objects)
    assert (location.endpoint, location.bucket, location.prefix) == ("http://s3.local:9000", "models", "fraud-detection/v2")
    assert access_keys(location, BucketAccess(objects).secrets) == ("app-key", "app-secret")


def test_a_client_never_takes_endpoint_or_keys_from_mlarks_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    (tmp_path / "config").write_text("[default]\nendpoint_url = http://127.0.0.1:1\nregion = ap-south-1\n")
    (tmp_path / "credentials").write_text("[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = FILESECRET\n")
    for name, value in {"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "ENVSECRET", "AWS_ENDPOINT_URL": "http://127.0.0.1:2",
                        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:3", "AWS_CONFIG_FILE": str(tmp_path / "config"),
                        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "AWS_PROFILE": "default"}.items():
        monkeypatch.setenv(name, value)
    objects = [_isvc(BARE), _account("models-sa", ["models-s3"]), _secret("models-s3", KEYS)]
    s3 = BucketAccess(objects).client(_only(objects))
    assert s3.meta.endpoint_url == "https://s3.amazonaws.com"  # no endpoint of its own: AWS, not the environment's
    assert s3.meta.region_name == "us-east-1" and hasattr(s3, "upload_fileobj")  # boto3's transfer methods too
    credentials = s3._request_signer._credentials  # what every request is signed with
    assert (credentials.access_key, credentials.secret_key) == ("app-key", "app-secret")


def test_the_service_account_secret_is_an_edge_of_the_graph() -> None:
    from mlark.apps import graph

    objects = [_isvc(BARE), _account("models-sa", ["models-s3"]), _secret("models-s3", KEYS)]
    storage = [(e.target, e.resolved) for e in graph(objects) if e.source.kind == "InferenceService" and e.relation == "storage"]
    assert storage == [(ObjectRef(kind="Secret", namespace=NS, name="models-s3"), True)]
