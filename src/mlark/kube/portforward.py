"""A connection to a pod's port through the API server (like `kubectl port-forward`, one connection).

    port_forward(api, namespace, pod, port, *, timeout=30) -> context manager yielding a socket
        connected to the pod's port (sendall/recv/makefile; closed on exit)
    http_request(api, namespace, pod, port, method, path, *, json_body=None, body=None,
                 headers=None, timeout=30) -> HttpResponse(status, headers, body) with .json()
        one HTTP request (e.g. to a model server behind a predictor pod)

Each call opens its own websocket; nothing listens on a local port.
"""

from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient
from kubernetes.stream.ws_client import PortForward

from mlark.kube.errors import KubeError
from mlark.kube.rest import Target
from mlark.kube.websocket import open_websocket

PROTOCOLS = ["v4.channel.k8s.io"]


class PortForwardError(KubeError):
    """The forwarded connection failed (nothing listens on the pod's port, the pod went away ...)."""


@contextmanager
def port_forward(api: ApiClient, namespace: str, pod: str, port: int, *,
                 timeout: float | None = 30.0) -> Iterator[socket.socket]:
    """A socket connected to `port` of the pod, through the API server."""
    sock, _ = open_websocket(api, f"/api/v1/namespaces/{namespace}/pods/{pod}/portforward", [("ports", str(port))],
                             PROTOCOLS, Target("create", "pods/portforward", namespace, pod))
    forward = PortForward(sock, [port])
    connection = forward.socket(port)
    connection.settimeout(timeout)
    try:
        yield connection
    finally:
        forward.close()


@dataclass
class HttpResponse:
    """An HTTP answer: status, headers (lower-case names), body bytes."""

    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def http_request(api: ApiClient, namespace: str, pod: str, port: int, method: str, path: str, *,
                 json_body: Any = None, body: bytes | None = None, headers: dict[str, str] | None = None,
                 timeout: float = 30.0) -> HttpResponse:
    """One HTTP/1.1 request to the pod's port (JSON body encoded when json_body is given)."""
    request_headers = {"Connection": "close", **(headers or {})}
    if json_body is not None:
        body = json.dumps(json_body).encode()
        request_headers.setdefault("Content-Type", "application/json")
    with port_forward(api, namespace, pod, port, timeout=timeout) as sock:
        connection = http.client.HTTPConnection("localhost", port, timeout=timeout)
        connection.sock = sock  # type: ignore[assignment]
        try:
            connection.request(method, path, body=body, headers=request_headers)
            response = connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as error:
            raise PortForwardError(f"{method} {path} to pod {namespace}/{pod} port {port} through a port-forward "
                                   f"failed: {error or type(error).__name__} (is anything listening on the port?)"
                                   ) from error
        return HttpResponse(response.status, data, {k.lower(): v for k, v in response.getheaders()})
