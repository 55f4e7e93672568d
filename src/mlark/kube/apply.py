"""Writing and reading single objects, by apiVersion/kind (CRDs included, via discovery).

    create(api, obj, policy="skip") -> ApplyResult
        policy: "skip"   exists -> skipped
                "update" exists -> server-side apply (forced, field manager "mlark") -> updated
                "fail"   exists -> failed
        ApplyResult(action: created|skipped|updated|failed, reason, object). API errors of the
        object itself (forbidden, invalid, unknown kind) become action="failed" with the reason;
        an unreachable API server raises.
    get(api, api_version, kind, name, namespace=None) -> dict | None
    delete(api, api_version, kind, name, namespace=None, *, propagation="Background") -> bool
    wait_for(api, api_version, kind, name, namespace, condition, *, timeout=120, interval=0.5,
             what=None) -> dict | None
        polls until condition(obj) is true (obj is None while absent); KubeTimeout names what.
    Conditions: crd_established, pvc_bound, pod_running, deployment_available, exists, gone
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from kubernetes.client import ApiClient

from mlark.kube.discovery import ResourceType, resource_for
from mlark.kube.errors import KubeApiError, KubeError, KubeNotFound
from mlark.kube.rest import Target, request

Obj = dict[str, Any]
FIELD_MANAGER = "mlark"
Policy = Literal["skip", "update", "fail"]


class Action(str, Enum):
    created = "created"
    skipped = "skipped"
    updated = "updated"
    failed = "failed"


@dataclass
class ApplyResult:
    """What create() did with one object."""

    action: Action
    api_version: str
    kind: str
    name: str
    namespace: str | None
    reason: str = ""
    object: Obj | None = None

    @property
    def ok(self) -> bool:
        return self.action is not Action.failed


class KubeTimeout(KubeError):
    """A wait_for condition did not come true in time."""


def _target(rtype: ResourceType, verb: str, namespace: str | None, name: str | None) -> Target:
    return Target(verb, rtype.group_resource, namespace if rtype.namespaced else None, name)


def create(api: ApiClient, obj: Obj, policy: Policy = "skip") -> ApplyResult:
    """Create obj; when it already exists, skip, update (server-side apply) or fail per policy."""
    meta = obj.get("metadata") or {}
    api_version, kind, name = str(obj.get("apiVersion", "")), str(obj.get("kind", "")), str(meta.get("name", ""))
    namespace = meta.get("namespace")

    def result(action: Action, reason: str = "", out: Obj | None = None) -> ApplyResult:
        return ApplyResult(action, api_version, kind, name, namespace, reason, out)

    if policy not in ("skip", "update", "fail"):
        raise ValueError(f"unknown conflict policy {policy!r} (skip, update or fail)")
    try:
        rtype = resource_for(api, api_version, kind)
    except KubeNotFound as error:
        return result(Action.failed, str(error))
    if rtype.namespaced and not namespace:
        return result(Action.failed, f"{kind} {name} is namespaced but has no metadata.namespace")
    try:
        created = request(api, "POST", rtype.path(namespace), body=obj, target=_target(rtype, "create", namespace, name))
        return result(Action.created, "", created)
    except KubeApiError as error:
        if error.status != 409 or error.reason != "AlreadyExists":
            return result(Action.failed, str(error))
    if policy == "skip":
        return result(Action.skipped, "already exists")
    if policy == "fail":
        return result(Action.failed, "already exists")
    try:
        updated = request(
            api, "PATCH", rtype.path(namespace, name), body=obj, content_type="application/apply-patch+yaml",
            query=[("fieldManager", FIELD_MANAGER), ("force", "true")], target=_target(rtype, "patch", namespace, name),
        )
    except KubeApiError as error:
        return result(Action.failed, str(error))
    return result(Action.updated, "already existed: server-side applied", updated)


def get(api: ApiClient, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
    """The object, or None when it (or its kind) does not exist."""
    try:
        rtype = resource_for(api, api_version, kind)
    except KubeNotFound:
        return None
    try:
        return request(api, "GET", rtype.path(namespace, name), target=_target(rtype, "get", namespace, name))
    except KubeNotFound:
        return None


def delete(api: ApiClient, api_version: str, kind: str, name: str, namespace: str | None = None, *,
           propagation: str = "Background") -> bool:
    """Delete (dependents per propagation); False when it was not there."""
    try:
        rtype = resource_for(api, api_version, kind)
    except KubeNotFound:
        return False
    try:
        request(api, "DELETE", rtype.path(namespace, name), target=_target(rtype, "delete", namespace, name),
                body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation})
    except KubeNotFound:
        return False
    return True


Condition = Callable[[Obj | None], bool]


def has_condition(obj: Obj | None, kind: str, status: str = "True") -> bool:
    """True when status.conditions has type `kind` with the given status."""
    for entry in ((obj or {}).get("status") or {}).get("conditions") or []:
        if entry.get("type") == kind:
            return str(entry.get("status")) == status
    return False


def exists(obj: Obj | None) -> bool:
    return obj is not None


def gone(obj: Obj | None) -> bool:
    return obj is None


def crd_established(obj: Obj | None) -> bool:
    return has_condition(obj, "Established")


def pvc_bound(obj: Obj | None) -> bool:
    return ((obj or {}).get("status") or {}).get("phase") == "Bound"


def pod_running(obj: Obj | None) -> bool:
    meta = (obj or {}).get("metadata") or {}
    return ((obj or {}).get("status") or {}).get("phase") == "Running" and not meta.get("deletionTimestamp")


def deployment_available(obj: Obj | None) -> bool:
    """Available condition true and the current generation observed with all replicas updated."""
    if obj is None or not has_condition(obj, "Available"):
        return False
    status, spec = obj.get("status") or {}, obj.get("spec") or {}
    observed = status.get("observedGeneration", 0) >= (obj.get("metadata") or {}).get("generation", 0)
    return observed and status.get("updatedReplicas", 0) >= spec.get("replicas", 1)


def wait_for(api: ApiClient, api_version: str, kind: str, name: str, namespace: str | None, condition: Condition, *,
             timeout: float = 120.0, interval: float = 0.5, what: str | None = None) -> Obj | None:
    """Poll the object until condition(obj) holds; the last object read (None when gone)."""
    deadline = time.monotonic() + timeout
    while True:
        obj = get(api, api_version, kind, name, namespace)
        if condition(obj):
            return obj
        if time.monotonic() > deadline:
            where = f" in namespace {namespace}" if namespace else ""
            label = what or getattr(condition, "__name__", "condition")
            phase = ((obj or {}).get("status") or {}).get("phase")
            seen = "absent" if obj is None else f"phase {phase}" if phase else "present"
            raise KubeTimeout(f"timed out after {timeout:.0f}s waiting for {kind} {name}{where}: {label} "
                              f"(last seen: {seen})")
        time.sleep(interval)
