"""KServe: an InferenceService depends on its data connection, its model's bucket prefix and
its ServingRuntime; a ServingRuntime on the Secrets and ConfigMaps of its containers.

RHOAI's dashboard writes `storage.key` as the name of the data-connection Secret (whose
`AWS_S3_BUCKET` names the bucket) and `storage.path` as the key prefix of the model.
"""

from __future__ import annotations

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
        secret_ref = core("Secret", namespace, key)
        edges.append(edge(source, secret_ref, "storage", index))
        values = secret_data(index.get(secret_ref))
        bucket = (storage.get("parameters") or {}).get("bucket") or values.get("AWS_S3_BUCKET")
        if bucket:  # without the Secret the bucket is unknown; the Secret edge already warns
            edges.append(edge(source, bucket_prefix(bucket, storage.get("path", "")), "model", index))
    if uri := model.get("storageUri"):
        target = _uri_target(uri, namespace)
        edges.append(edge(source, target, "model", index))
    return edges


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
    edges = _storage_edges(source, model, index)
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


def artifact_locations(isvc: Obj, secrets: Mapping[str, Obj]) -> list[ArtifactLocation]:
    """Where the model files of an InferenceService are, with the Secret that opens them.

    `secrets` maps Secret names of the isvc's namespace to their manifests. A `storageUri`
    without a data connection gets no credentials: KServe would take them from the service
    account, which the capture must then provide by other means.
    """
    namespace = isvc["metadata"].get("namespace")
    model = model_spec(isvc)
    storage = model.get("storage") or {}
    locations: list[ArtifactLocation] = []
    if (key := storage.get("key")) and key in secrets:
        values = secret_data(secrets[key])
        bucket = (storage.get("parameters") or {}).get("bucket") or values.get("AWS_S3_BUCKET")
        if bucket:
            locations.append(
                ArtifactLocation(
                    endpoint=values.get("AWS_S3_ENDPOINT") or None,
                    bucket=bucket,
                    prefix=str(storage.get("path", "")).strip("/"),
                    region=values.get("AWS_DEFAULT_REGION") or None,
                    credentials=core("Secret", namespace, key),
                )
            )
    uri = str(model.get("storageUri", ""))
    if uri.startswith("s3://"):
        bucket, _, prefix = uri[len("s3://") :].partition("/")
        locations.append(ArtifactLocation(endpoint=None, bucket=bucket, prefix=prefix.strip("/")))
    return locations
