"""KServe: an InferenceService depends on its data connection, its model's bucket prefix and
its ServingRuntime; a ServingRuntime on the Secrets and ConfigMaps of its containers.

RHOAI's dashboard writes `storage.key` as the name of the data-connection Secret (whose
`AWS_S3_BUCKET` names the bucket) and `storage.path` as the key prefix of the model. Plain
KServe keeps `storage.key` entries in its `storage-config` Secret, or takes a bare
`storageUri`'s credentials from the predictor's ServiceAccount: `artifact_locations` resolves
all three.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mlark.apps.base import ArtifactLocation, Obj, ObjectIndex, bucket_prefix, core, dig, edge, secret_data
from mlark.apps.workloads import container_images, pod_spec_references
from mlark.restorepoint.models import Edge, ExternalRef, ImageReference, ObjectRef

GROUP = "serving.kserve.io"
# Frameworks of the older predictor form (`predictor.sklearn.storageUri`).
_FRAMEWORKS = ("sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "pmml", "lightgbm", "paddle", "huggingface")


def handles(obj: Mapping[str, Any]) -> bool:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return group == GROUP and obj.get("kind") in ("InferenceService", "ServingRuntime")


def model_spec(isvc: Mapping[str, Any]) -> Mapping[str, Any]:
    """The predictor's model block, in the current (`model`) or older (`sklearn`, ...) form."""
    predictor = dig(isvc, "spec", "predictor") or {}
    if isinstance(predictor.get("model"), Mapping):
        return predictor["model"]
    return next((predictor[name] for name in _FRAMEWORKS if isinstance(predictor.get(name), Mapping)), {})


def _uri_target(uri: str, namespace: str | None) -> ObjectRef | ExternalRef:
    scheme, _, rest = uri.partition("://")
    if scheme == "s3":
        bucket, _, prefix = rest.partition("/")
        return bucket_prefix(bucket, prefix)
    if scheme == "pvc":
        return core("PersistentVolumeClaim", namespace, rest.partition("/")[0])
    if scheme == "oci":
        return ExternalRef(type="image", uri=uri)
    return ExternalRef(type="url", uri=uri)


def _storage_edges(source: ObjectRef, model: Mapping[str, Any], index: ObjectIndex) -> list[Edge]:
    namespace = source.namespace
    storage = model.get("storage") or {}
    edges: list[Edge] = []
    if key := storage.get("key"):
        # KServe's storage-config Secret when it holds this key, else an OpenShift AI data connection.
        config_ref = core("Secret", namespace, STORAGE_CONFIG)
        in_config = key in secret_data(index.get(config_ref))
        secret_ref = config_ref if in_config else core("Secret", namespace, key)
        edges.append(edge(source, secret_ref, "storage", index))
        values = {} if in_config else secret_data(index.get(secret_ref))
        bucket = (storage.get("parameters") or {}).get("bucket") or values.get("AWS_S3_BUCKET")
        if in_config:
            bucket = bucket or (_json_object(secret_data(index.get(config_ref)).get(key)) or {}).get("bucket")
        if bucket and not model.get("storageUri"):  # without the Secret the bucket is unknown; the Secret edge already warns
            edges.append(edge(source, bucket_prefix(bucket, storage.get("path", "")), "model", index))
    if uri := model.get("storageUri"):
        target = _uri_target(uri, namespace)
        edges.append(edge(source, target, "model", index))
    return edges


def _credential_edges(source: ObjectRef, isvc: Obj, index: ObjectIndex) -> list[Edge]:
    """The S3 Secret a bare s3:// `storageUri` is opened with (found through the ServiceAccount)."""
    model = model_spec(isvc)
    if model.get("storage") or not str(model.get("storageUri") or "").startswith("s3://"):
        return []
    by_name = lambda kind: {o["metadata"]["name"]: o for o in index.of_kind("", kind, source.namespace)}  # noqa: E731
    access = _account_access(isvc, by_name("Secret"), by_name("ServiceAccount"))
    return [edge(source, access["credentials"], "storage", index)] if access.get("credentials") else []


def _runtime_edge(source: ObjectRef, name: str, index: ObjectIndex) -> Edge:
    """A namespaced ServingRuntime, or else a ClusterServingRuntime of that name."""
    runtime = ObjectRef(group=GROUP, version="v1alpha1", kind="ServingRuntime", namespace=source.namespace, name=name)
    cluster_runtime = ObjectRef(group=GROUP, version="v1alpha1", kind="ClusterServingRuntime", name=name)
    if not index.has(runtime) and index.has(cluster_runtime):
        runtime = cluster_runtime
    return edge(source, runtime, "runtime", index)


def isvc_references(isvc: Obj, index: ObjectIndex) -> list[Edge]:
    source = ObjectRef.of(isvc)
    predictor = dig(isvc, "spec", "predictor") or {}
    model = model_spec(isvc)
    edges = _storage_edges(source, model, index) + _credential_edges(source, isvc, index)
    if runtime := model.get("runtime"):
        edges.append(_runtime_edge(source, runtime, index))
    # The predictor is also a pod spec: service account, custom containers, volumes.
    edges.extend(pod_spec_references(source, predictor, index))
    return edges


def runtime_references(runtime: Obj, index: ObjectIndex) -> list[Edge]:
    return pod_spec_references(ObjectRef.of(runtime), runtime.get("spec") or {}, index)


def references(obj: Obj, index: ObjectIndex) -> list[Edge]:
    if obj.get("kind") == "InferenceService":
        return isvc_references(obj, index)
    return runtime_references(obj, index)


def images(obj: Obj) -> list[ImageReference]:
    if obj.get("kind") == "ServingRuntime":
        return container_images(ObjectRef.of(obj), obj.get("spec") or {})
    return container_images(ObjectRef.of(obj), dig(obj, "spec", "predictor") or {})


def artifact_locations(isvc: Obj, secrets: Mapping[str, Obj], accounts: Mapping[str, Obj] | None = None) -> list[ArtifactLocation]:
    """Where the model files of an InferenceService are, with the Secret that opens them.

    `secrets` and `accounts` map the names of the Secrets and ServiceAccounts of the isvc's
    namespace to their manifests. Credentials are resolved as KServe resolves them (see
    docs/application-graph.md): the `storage` block through the `storage-config` Secret or an
    OpenShift AI data connection; a bare `storageUri` through the Secret named by the
    `serving.kserve.io/storageSecretName` annotation or the S3 Secrets of the predictor's
    ServiceAccount. A location whose credentials cannot be found carries `missing`.
    """
    model = model_spec(isvc)
    storage = model.get("storage") if isinstance(model.get("storage"), Mapping) else None
    uri = str(model.get("storageUri") or "")
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://"):].partition("/")
        access = _storage_access(isvc, storage, secrets) if storage else _account_access(isvc, secrets, accounts or {})
        return [_located(access, bucket, prefix)] if access is not None else []
    if storage and not uri:
        access = _storage_access(isvc, storage, secrets)
        if access is not None and (bucket := access.pop("bucket", None)):
            return [_located(access, str(bucket), str(storage.get("path", "")))]
    return []


S3_ANNOTATION = GROUP + "/s3-"
STORAGE_SECRET_ANNOTATION = GROUP + "/storageSecretName"
STORAGE_CONFIG = "storage-config"  # KServe's default storageSpecSecretName
_IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
# Key names of an S3 Secret: KServe's configured default, and its built-in one.
_SECRET_KEY_FIELDS = (("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("awsAccessKeyID", "awsSecretAccessKey"))


def _located(access: dict[str, Any], bucket: str, prefix: str) -> ArtifactLocation:
    access.pop("bucket", None)
    return ArtifactLocation(bucket=bucket, prefix=prefix.strip("/"), **access)


def _storage_access(isvc: Obj, storage: Mapping[str, Any], secrets: Mapping[str, Obj]) -> dict[str, Any] | None:
    """The `storage` block: an entry of the storage-config Secret (KServe), else a data connection
    Secret of that name (OpenShift AI). None when the storage is not S3."""
    namespace = isvc["metadata"].get("namespace")
    parameters = {str(k): str(v) for k, v in (storage.get("parameters") or {}).items()}
    key = str(storage.get("key") or "")
    config_name = str(dig(isvc, "metadata", "annotations", STORAGE_SECRET_ANNOTATION) or STORAGE_CONFIG)
    entry = key or ("default_" + parameters["type"] if parameters.get("type") else "default")
    config = _json_object(secret_data(secrets.get(config_name)).get(entry))
    if config is not None:
        settings = {**config, **parameters}  # parameters override the stored entry, as in KServe
        if settings.get("type", "s3") != "s3":
            return None
        return {
            "endpoint": settings.get("endpoint_url") or None, "region": settings.get("region") or None,
            "bucket": settings.get("bucket"), "credentials": core("Secret", namespace, config_name), "credentials_entry": entry,
            "access_key_field": "access_key_id", "secret_key_field": "secret_access_key",
            "anonymous": _true(settings.get("anonymous")), "verify_ssl": not _false(settings.get("verify_ssl")),
        }
    if key and key in secrets:  # an OpenShift AI data connection
        values = secret_data(secrets[key])
        return {
            "endpoint": parameters.get("endpoint_url") or values.get("AWS_S3_ENDPOINT") or None,
            "region": parameters.get("region") or values.get("AWS_DEFAULT_REGION") or None,
            "bucket": parameters.get("bucket") or values.get("AWS_S3_BUCKET"), "credentials": core("Secret", namespace, key),
        }
    where = f"key {entry} in Secret {config_name}" + (f" nor a data connection Secret {key}" if key else "")
    return {"bucket": parameters.get("bucket"), "missing": f"its storage names neither a {where}"}


def _account_access(isvc: Obj, secrets: Mapping[str, Obj], accounts: Mapping[str, Obj]) -> dict[str, Any]:
    """A bare `storageUri`: the storageSecretName annotation's Secret, else the S3 Secrets of the
    predictor's ServiceAccount; endpoint and options from the `serving.kserve.io/s3-*`
    annotations of the ServiceAccount, overridden by the Secret's (KServe's order)."""
    namespace = isvc["metadata"].get("namespace")
    account_name = str(dig(isvc, "spec", "predictor", "serviceAccountName") or "default")
    account = accounts.get(account_name)
    annotations = _s3_annotations(account)
    if named := dig(isvc, "metadata", "annotations", STORAGE_SECRET_ANNOTATION):
        candidates = [str(named)]
    else:
        candidates = [str(ref.get("name")) for ref in (account or {}).get("secrets") or [] if isinstance(ref, Mapping)]
    for name in candidates:
        secret = secrets.get(name)
        fields = _key_fields(secret)
        if secret is not None and fields is not None:
            settings = {**annotations, **_s3_annotations(secret)}
            return {**_annotated(settings), "credentials": core("Secret", namespace, name),
                    "access_key_field": fields[0], "secret_key_field": fields[1]}
    settings = _annotated(annotations)
    if settings["anonymous"]:
        return settings
    return {**settings, "missing": _why_no_keys(account_name, account, candidates, secrets)}


def _why_no_keys(account_name: str, account: Obj | None, candidates: list[str], secrets: Mapping[str, Obj]) -> str:
    if account is None and not candidates:
        return f"its ServiceAccount {account_name} is not in the restore point, so its S3 Secret is unknown"
    if _IRSA_ANNOTATION in (dig(account, "metadata", "annotations") or {}):
        return (f"its ServiceAccount {account_name} takes an IAM role ({_IRSA_ANNOTATION}), "
                "whose temporary credentials mlark does not assume; attach a Secret with access keys")
    absent = [name for name in candidates if name not in secrets]
    if absent:
        return f"Secret {', '.join(absent)} (attached to ServiceAccount {account_name}) is not in the restore point"
    return (f"neither the serving.kserve.io/storageSecretName annotation nor ServiceAccount {account_name} names "
            "a Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")


def _s3_annotations(obj: Obj | None) -> dict[str, str]:
    annotations = dig(obj, "metadata", "annotations") or {}
    return {key[len(S3_ANNOTATION):]: str(value) for key, value in annotations.items() if key.startswith(S3_ANNOTATION)}


def _annotated(settings: Mapping[str, str]) -> dict[str, Any]:
    """ArtifactLocation fields from KServe's s3-* annotations (the suffixes: endpoint, usehttps, ...)."""
    endpoint = settings.get("endpoint") or None
    if endpoint and "://" not in endpoint:  # a host[:port]; https unless s3-usehttps is "0"
        endpoint = ("http://" if settings.get("usehttps") == "0" else "https://") + endpoint
    return {"endpoint": endpoint, "region": settings.get("region") or None,
            "verify_ssl": not _false(settings.get("verifyssl")), "anonymous": _true(settings.get("useanoncredential"))}


def _key_fields(secret: Obj | None) -> tuple[str, str] | None:
    """The (access key, secret key) field names when `secret` is an S3 Secret, else None."""
    values = set((secret or {}).get("data") or {}) | set((secret or {}).get("stringData") or {})
    return next((fields for fields in _SECRET_KEY_FIELDS if fields[1] in values), None)


def _json_object(text: str | None) -> dict[str, str] | None:
    if not text:
        return None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError:
        return None
    return {str(k): str(v) for k, v in parsed.items() if v is not None} if isinstance(parsed, dict) else None


def _true(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("1", "true", "yes")


def _false(value: str | None) -> bool:
    return str(value or "").strip().lower() in ("0", "false", "no")
