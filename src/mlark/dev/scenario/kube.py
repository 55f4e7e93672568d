"""Small generic helpers over the API server's REST interface: server-side apply, get, delete,
wait. Paths are computed from apiVersion/kind, so freshly created CRDs need no discovery."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from mlark.dev.scenario.spec import FIELD_MANAGER

Obj = dict[str, Any]
CLUSTER_SCOPED = {"Namespace", "CustomResourceDefinition", "DataScienceCluster", "PersistentVolume", "StorageClass"}


class ScenarioError(RuntimeError):
    """Deploying or inspecting the scenario failed; the message says what and where."""


def plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    if lower.endswith("s"):
        return lower + "es"
    return lower + "s"


def object_path(api_version: str, kind: str, name: str | None = None, namespace: str | None = None) -> str:
    base = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
    if kind not in CLUSTER_SCOPED and namespace:
        base += f"/namespaces/{namespace}"
    base += f"/{plural(kind)}"
    return f"{base}/{name}" if name else base


def path_of(obj: Obj) -> str:
    meta = obj["metadata"]
    return object_path(obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))


def call(api: ApiClient, method: str, path: str, body: Any = None, query: list[tuple[str, Any]] | None = None,
         content_type: str = "application/json") -> Obj:
    """One REST call; a non-2xx answer raises ApiException (status and body kept)."""
    headers = {"Content-Type": content_type, "Accept": "application/json"}
    method, url, headers, body, _ = api.param_serialize(
        method, path, query_params=query or [], header_params=headers, body=body, auth_settings=["BearerToken"]
    )
    response = api.call_api(method, url, header_params=headers, body=body, _request_timeout=60)
    data = response.read()
    if not 200 <= response.status < 300:
        raise ApiException(status=response.status, reason=response.reason, body=data.decode("utf-8", "replace"))
    return json.loads(data) if data else {}


def apply(api: ApiClient, obj: Obj, subresource: str = "") -> Obj:
    """Server-side apply as the scenario's field manager (forced: the scenario owns its fields)."""
    path = path_of(obj) + (f"/{subresource}" if subresource else "")
    query = [("fieldManager", FIELD_MANAGER), ("force", "true")]
    return call(api, "PATCH", path, body=obj, query=query, content_type="application/apply-patch+yaml")


def get(api: ApiClient, api_version: str, kind: str, name: str, namespace: str | None = None) -> Obj | None:
    try:
        return call(api, "GET", object_path(api_version, kind, name, namespace))
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def list_objects(api: ApiClient, api_version: str, kind: str, namespace: str | None = None,
                 selector: str | None = None) -> list[Obj]:
    query = [("labelSelector", selector)] if selector else []
    try:
        return list(call(api, "GET", object_path(api_version, kind, None, namespace), query=query).get("items", []))
    except ApiException as error:
        if error.status == 404:  # the kind is not served (CRD absent)
            return []
        raise


def delete(api: ApiClient, api_version: str, kind: str, name: str, namespace: str | None = None) -> bool:
    """Delete (dependents are garbage-collected); False when it was not there."""
    try:
        call(api, "DELETE", object_path(api_version, kind, name, namespace),
             body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"})
    except ApiException as error:
        if error.status == 404:
            return False
        raise
    return True


def wait_for(what: str, check: Callable[[], bool], timeout: float, interval: float = 1.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise ScenarioError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def condition(obj: Obj | None, kind: str) -> str | None:
    for entry in (obj or {}).get("status", {}).get("conditions", []) or []:
        if entry.get("type") == kind:
            return str(entry.get("status"))
    return None
