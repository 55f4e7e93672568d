"""Opening a websocket to a pod subresource (exec, portforward) with the ApiClient's credentials.

    open_websocket(api, path, query, protocols, target) -> (websocket.WebSocket, negotiated subprotocol)

Internal to mlark.kube: exec.py and portforward.py build on it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import websocket
from kubernetes.client import ApiClient
from kubernetes.stream.ws_client import create_websocket

from mlark.kube.errors import KubeError, KubeUnreachable, from_status
from mlark.kube.rest import Target


def open_websocket(api: ApiClient, path: str, query: list[tuple[str, Any]], protocols: list[str],
                   target: Target) -> tuple[websocket.WebSocket, str]:
    """Connect; handshake refusals become mlark errors naming the target (e.g. forbidden pods/exec)."""
    _, url, headers, _, _ = api.param_serialize("GET", path, header_params={}, auth_settings=["BearerToken"])
    scheme, netloc, url_path, _, _ = urlsplit(url)
    ws_url = urlunsplit(("wss" if scheme == "https" else "ws", netloc, url_path, urlencode(query), ""))
    ws_headers = {key.lower(): value for key, value in headers.items()}
    ws_headers["sec-websocket-protocol"] = ",".join(protocols)
    names = {"verb": target.verb, "resource": target.resource, "namespace": target.namespace, "name": target.name}
    try:
        sock = create_websocket(api.configuration, ws_url, ws_headers)
    except websocket.WebSocketBadStatusException as error:
        body = error.resp_body.decode("utf-8", "replace") if isinstance(error.resp_body, bytes) else error.resp_body
        raise from_status(error.status_code, str(error), body, **names) from error
    except (OSError, websocket.WebSocketException) as error:
        raise KubeUnreachable(f"API server unreachable (cannot {target.verb} {target.resource}/{target.name} "
                              f"in namespace {target.namespace}): {error}") from error
    subprotocol = ""
    for key, value in (sock.getheaders() or {}).items():
        if key.lower() == "sec-websocket-protocol":
            subprotocol = value
    if protocols and subprotocol and subprotocol not in protocols:
        sock.close()
        raise KubeError(f"the API server chose an unknown websocket protocol {subprotocol!r}")
    return sock, subprotocol
