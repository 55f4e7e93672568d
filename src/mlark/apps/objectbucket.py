"""ObjectBucketClaims: the provisioner writes a Secret (access keys) and a ConfigMap (bucket
name, host, port) with the claim's name. Both are owned by the claim yet must be kept on
restore: the keys are the bucket's only credentials, and the data connection copies them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlark.apps.base import Obj, ObjectIndex, bucket_prefix, core, dig, edge
from mlark.restorepoint.models import Edge, ImageReference, ObjectRef

GROUP = "objectbucket.io"


def handles(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).rpartition("/")[0] == GROUP and obj.get("kind") == "ObjectBucketClaim"


def bucket_name(claim: Mapping[str, Any], index: ObjectIndex) -> str | None:
    """The bound bucket: `spec.bucketName`, else the ConfigMap's BUCKET_NAME."""
    if name := dig(claim, "spec", "bucketName"):
        return str(name)
    config = index.get(core("ConfigMap", claim["metadata"].get("namespace"), claim["metadata"]["name"]))
    return dig(config, "data", "BUCKET_NAME")


def references(obj: Obj, index: ObjectIndex) -> list[Edge]:
    source = ObjectRef.of(obj)
    edges = [
        edge(source, core("Secret", source.namespace, source.name), "credentials", index),
        edge(source, core("ConfigMap", source.namespace, source.name), "bucket-config", index),
    ]
    if bucket := bucket_name(obj, index):
        edges.append(edge(source, bucket_prefix(bucket), "bucket", index))
    return edges


def images(obj: Obj) -> list[ImageReference]:
    return []
