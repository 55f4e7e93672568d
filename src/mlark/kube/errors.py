"""mlark's own Kubernetes errors: every API failure becomes one of these, with one clear message.

    KubeError                      base of everything this package raises
    ├── KubeAccessError            the cluster cannot be used as configured (kubeconfig, context)
    │   └── KubeUnreachable        no answer from the API server (refused, TLS, timeout)
    └── KubeApiError               the API server answered with an error (status, reason kept)
        ├── KubeForbidden          RBAC denied: the message names verb, resource and namespace
        ├── KubeUnauthorized       the credentials were rejected
        ├── KubeNotFound           the object (or the resource type) does not exist
        ├── KubeConflict           already exists, or a stale resourceVersion
        └── KubeInvalid            the object was rejected by validation / admission

`translate(error, verb=..., resource=..., namespace=..., name=...)` maps an ApiException or a
urllib3/socket error to the right class; `api_errors(...)` is the same as a context manager.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from kubernetes.client.exceptions import ApiException


class KubeError(RuntimeError):
    """Something this package could not do on a cluster; str() is the message for the user."""


class KubeAccessError(KubeError):
    """The cluster cannot be reached as configured (missing kubeconfig or context, no answer)."""


class KubeUnreachable(KubeAccessError):
    """The API server did not answer (connection refused, TLS failure, timeout)."""


class KubeApiError(KubeError):
    """The API server answered with an error status."""

    def __init__(self, message: str, status: int = 0, reason: str = "", details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.details = details or {}


class KubeForbidden(KubeApiError):
    """RBAC (or an admission policy) denied the request."""


class KubeUnauthorized(KubeApiError):
    """The API server rejected the credentials."""


class KubeNotFound(KubeApiError):
    """The object, its namespace or its resource type does not exist."""


class KubeConflict(KubeApiError):
    """The object already exists, or was modified since it was read."""


class KubeInvalid(KubeApiError):
    """The object was rejected (validation, admission webhook, immutable field)."""


_BY_STATUS: dict[int, type[KubeApiError]] = {
    401: KubeUnauthorized,
    403: KubeForbidden,
    404: KubeNotFound,
    409: KubeConflict,
    422: KubeInvalid,
}


def _status_body(body: Any) -> dict[str, Any]:
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if not body:
        return {}
    try:
        parsed = json.loads(body)
    except (TypeError, ValueError):
        return {"message": str(body)[:500]}
    return parsed if isinstance(parsed, dict) else {}


def describe_target(verb: str | None, resource: str | None, namespace: str | None, name: str | None) -> str:
    """'list configmaps in namespace x' / 'get customresourcedefinitions/foo (cluster-scoped)'."""
    what = resource or "resource"
    if name:
        what += f" of {name}" if "/" in what else f"/{name}"  # pods/exec of my-pod
    scoped = resource and not resource.startswith("/")  # "/apis" is a discovery path, not a resource
    where = f" in namespace {namespace}" if namespace else (" (cluster-scoped)" if scoped else "")
    return f"{verb + ' ' if verb else ''}{what}{where}"


def from_status(status: int, reason: str, body: Any, *, verb: str | None = None, resource: str | None = None,
                namespace: str | None = None, name: str | None = None) -> KubeError:
    """The error for an HTTP error answer of the API server."""
    data = _status_body(body)
    server_message = str(data.get("message") or reason or "").strip()
    server_reason = str(data.get("reason") or reason or "")
    target = describe_target(verb, resource, namespace, name)
    cls = _BY_STATUS.get(status, KubeApiError)
    if cls is KubeForbidden:
        message = f"forbidden: cannot {target}: {server_message}"
    elif cls is KubeUnauthorized:
        message = f"unauthorized: the API server rejected the credentials ({target}): {server_message}"
    elif cls is KubeNotFound:
        message = f"not found: {target}: {server_message}"
    elif cls is KubeConflict:
        message = f"conflict: {target}: {server_message}"
    elif cls is KubeInvalid:
        message = f"invalid: {target}: {server_message}"
    else:
        message = f"API error {status} {server_reason}: {target}: {server_message}"
    return cls(message, status=status, reason=server_reason, details=data.get("details") or {})


_NETWORK_ERRORS = (urllib3.exceptions.HTTPError, ConnectionError, socket.timeout, ssl.SSLError, OSError)


def translate(error: BaseException, *, verb: str | None = None, resource: str | None = None,
              namespace: str | None = None, name: str | None = None) -> KubeError:
    """mlark's error for an ApiException, a urllib3/socket error (or an error that already is one)."""
    if isinstance(error, KubeError):
        return error
    if isinstance(error, ApiException):
        if not error.status:  # the client failed before an answer (e.g. websocket connect)
            return KubeUnreachable(f"cannot {describe_target(verb, resource, namespace, name)}: {error.reason}")
        return from_status(error.status, str(error.reason or ""), error.body, verb=verb, resource=resource,
                           namespace=namespace, name=name)
    if isinstance(error, _NETWORK_ERRORS):
        cause = getattr(error, "reason", None) or error
        return KubeUnreachable(f"API server unreachable ({describe_target(verb, resource, namespace, name)}): {cause}")
    return KubeError(f"{describe_target(verb, resource, namespace, name)} failed: {error}")


@contextmanager
def api_errors(*, verb: str | None = None, resource: str | None = None, namespace: str | None = None,
               name: str | None = None) -> Iterator[None]:
    """Raise mlark's error (chained) for any API or network failure inside the block."""
    try:
        yield
    except KubeError:
        raise
    except (ApiException, *_NETWORK_ERRORS) as error:
        raise translate(error, verb=verb, resource=resource, namespace=namespace, name=name) from error
