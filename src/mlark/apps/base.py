"""What every application plugin shares: the index of captured objects and edge helpers.

Plugins are pure: they read plain manifests (dicts, as the API returns them) and answer with
restore point types. The index is how a plugin asks "does this Secret exist, what is in it"
without talking to a cluster.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict

from mlark.restorepoint.models import Edge, ExternalRef, ObjectRef

Obj = dict[str, Any]
Key = tuple[str, str, str, str]  # group, kind, namespace ("" when cluster-scoped), name


def key_of(ref: ObjectRef) -> Key:
    """Identity without the version: an owner written as v1beta1 is the same object as v1."""
    return (ref.group, ref.kind, ref.namespace or "", ref.name)


def core(kind: str, namespace: str | None, name: str) -> ObjectRef:
    return ObjectRef(group="", version="v1", kind=kind, namespace=namespace, name=name)


def ref_from_api_version(api_version: str, kind: str, namespace: str | None, name: str) -> ObjectRef:
    group, _, version = api_version.rpartition("/")
    return ObjectRef(group=group, version=version, kind=kind, namespace=namespace, name=name)


def group_of(obj: Mapping[str, Any]) -> str:
    return str(obj.get("apiVersion", "")).rpartition("/")[0]


def namespace_of(obj: Mapping[str, Any]) -> str | None:
    return (obj.get("metadata") or {}).get("namespace")


def dig(obj: Any, *path: str) -> Any:
    """obj[a][b]..., or None as soon as a step is missing or not a mapping."""
    for step in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(step)
    return obj


class ObjectIndex:
    """The captured objects, looked up by identity. Built once per restore point."""

    def __init__(self, objects: Iterable[Obj] = ()) -> None:
        self._objects: dict[Key, Obj] = {}
        for obj in objects:
            self.add(obj)

    def add(self, obj: Obj) -> None:
        self._objects[key_of(ObjectRef.of(obj))] = obj

    def get(self, ref: ObjectRef) -> Obj | None:
        return self._objects.get(key_of(ref))

    def has(self, ref: ObjectRef) -> bool:
        return key_of(ref) in self._objects

    def of_kind(self, group: str, kind: str, namespace: str | None = None) -> list[Obj]:
        return [
            obj for (g, k, ns, _), obj in self._objects.items() if g == group and k == kind and (namespace is None or ns == namespace)
        ]

    def __iter__(self) -> Any:
        return iter(self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)


def secret_data(secret: Mapping[str, Any] | None) -> dict[str, str]:
    """A Secret's values as text: `data` is base64 (as read from the API), `stringData` plain."""
    if not secret:
        return {}
    values: dict[str, str] = {}
    for key, encoded in (secret.get("data") or {}).items():
        try:
            values[key] = base64.b64decode(encoded).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, TypeError):
            continue  # binary values are not settings a plugin can read
    values.update({key: str(value) for key, value in (secret.get("stringData") or {}).items()})
    return values


def edge(source: ObjectRef, target: ObjectRef | ExternalRef, relation: str, index: ObjectIndex) -> Edge:
    """An edge, resolved when the target is captured (external targets cannot be checked here)."""
    resolved = True if isinstance(target, ExternalRef) else index.has(target)
    return Edge(source=source, target=target, relation=relation, resolved=resolved)


class ArtifactLocation(BaseModel):
    """Where the S3 objects an ML object points at live, and which Secret opens them."""

    model_config = ConfigDict(frozen=True)

    endpoint: str | None  # None: the default AWS endpoint
    bucket: str
    prefix: str  # key prefix, no leading slash; "" for the whole bucket
    region: str | None = None
    credentials: ObjectRef | None = None  # the Secret holding the access keys
    access_key_field: str = "AWS_ACCESS_KEY_ID"
    secret_key_field: str = "AWS_SECRET_ACCESS_KEY"
    # KServe's storage-config form: the keys are fields of the JSON value under this Secret key.
    credentials_entry: str | None = None
    anonymous: bool = False  # unsigned requests (KServe's s3-useanoncredential)
    verify_ssl: bool = True
    # Why no credentials can be found for it (then it is never contacted); None when they can.
    missing: str | None = None

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"


def bucket_prefix(bucket: str, prefix: str = "") -> ExternalRef:
    prefix = prefix.strip("/")
    return ExternalRef(type="bucket-prefix", uri=f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}")


def service_host(host: str, namespace: str) -> tuple[str, str] | None:
    """(service, namespace) when `host` names a Service of the cluster, else None.

    `db`, `db.ns`, `db.ns.svc` and `db.ns.svc.cluster.local` are Services; anything else
    (an IP, an external DNS name) is outside the cluster.
    """
    parts = host.split(".")
    if len(parts) == 1 and parts[0]:
        return parts[0], namespace
    if len(parts) == 2 or (len(parts) >= 3 and parts[2] == "svc"):
        return parts[0], parts[1]
    return None
