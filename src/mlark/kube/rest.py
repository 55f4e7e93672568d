"""Raw JSON calls to the API server: no typed models, one error translation point.

    request(api, method, path, *, query=None, body=None, content_type=..., timeout=60, target=None) -> dict
    request_bytes(...) -> bytes            the undecoded answer (for bulk listing)
    Target(verb, resource, namespace, name) names the request in error messages.

429 (throttled) and 503 answers are retried up to 3 times, honouring Retry-After.
Everything else in mlark.kube goes through these two functions (exec and port-forward
excepted: they are websockets, see mlark.kube.websocket).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient

from mlark.kube.errors import api_errors, from_status

DEFAULT_TIMEOUT = 60.0
RETRIES = 3
RETRY_STATUS = frozenset({429, 503})  # throttled (API priority and fairness) or briefly unavailable


def _retry_after(response: Any, attempt: int) -> float:
    try:
        return min(float(response.getheader("Retry-After") or 0), 10.0) or 0.2 * 2**attempt
    except (TypeError, ValueError):
        return 0.2 * 2**attempt


@dataclass(frozen=True)
class Target:
    """What a request does, for error messages: verb, resource (plural), namespace, name."""

    verb: str | None = None
    resource: str | None = None
    namespace: str | None = None
    name: str | None = None


def request_bytes(api: ApiClient, method: str, path: str, *, query: list[tuple[str, Any]] | None = None,
                  body: Any = None, content_type: str = "application/json", accept: str = "application/json",
                  timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, target: Target | None = None) -> bytes:
    """One REST call; the raw body of a 2xx answer, else mlark's error (forbidden, not found, ...)."""
    target = target or Target(verb=method.lower())
    names = {"verb": target.verb, "resource": target.resource, "namespace": target.namespace, "name": target.name}
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = content_type
    for attempt in range(RETRIES + 1):
        with api_errors(**names):
            method, url, headers, _, _ = api.param_serialize(
                method, path, query_params=query or [], header_params=headers, auth_settings=["BearerToken"]
            )
            response = api.call_api(method, url, header_params=headers, body=body, _request_timeout=timeout)
            data: bytes = response.read()
        if response.status not in RETRY_STATUS or attempt == RETRIES:
            break
        time.sleep(_retry_after(response, attempt))
    if not 200 <= response.status < 300:
        raise from_status(response.status, str(response.reason or ""), data, **names)
    return data


def request(api: ApiClient, method: str, path: str, *, query: list[tuple[str, Any]] | None = None,
            body: Any = None, content_type: str = "application/json", accept: str = "application/json",
            timeout: float | tuple[float, float] = DEFAULT_TIMEOUT, target: Target | None = None) -> dict[str, Any]:
    """One REST call; the decoded JSON answer ({} when empty)."""
    data = request_bytes(api, method, path, query=query, body=body, content_type=content_type, accept=accept,
                         timeout=timeout, target=target)
    return json.loads(data) if data else {}
