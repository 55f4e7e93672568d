"""Reaching into pods through the API server, as mlark will on a real cluster: find a running
pod, `kubectl exec` into it (with stdin), and forward a port to it for one HTTP request."""

from __future__ import annotations

import http.client
import json
from typing import Any

from kubernetes import client
from kubernetes.client import ApiClient
from kubernetes.stream import portforward, stream
from pydantic import BaseModel

from mlark.dev.scenario.kube import ScenarioError, wait_for

EXEC_TIMEOUT = 300.0


class ExecResult(BaseModel):
    returncode: int
    stdout: str
    stderr: str


def running_pods(api: ApiClient, namespace: str, selector: str) -> list[client.V1Pod]:
    pods = client.CoreV1Api(api).list_namespaced_pod(namespace, label_selector=selector).items
    return [pod for pod in pods if pod.status and pod.status.phase == "Running" and not pod.metadata.deletion_timestamp]


def running_pod(api: ApiClient, namespace: str, selector: str) -> str:
    pods = running_pods(api, namespace, selector)
    if not pods:
        raise ScenarioError(f"no Running pod matches {selector!r} in namespace {namespace}")
    return str(pods[0].metadata.name)


def wait_running(api: ApiClient, namespace: str, selector: str, timeout: float = 180.0) -> str:
    wait_for(f"a Running pod ({selector}) in {namespace}", lambda: bool(running_pods(api, namespace, selector)), timeout)
    return running_pod(api, namespace, selector)


def with_sized_stdin(command: list[str], size: int) -> list[str]:
    """Make command read exactly `size` bytes of stdin and then see end-of-file.

    kwok's exec (v0.8) never closes the process's stdin when the client closes the stream,
    so a reader waiting for EOF would hang; `head -c` stops on its own and closes the pipe.
    The same argv works unchanged in a real container."""
    return ["sh", "-c", 'head -c "$0" | "$@"', str(size), *command]


def pod_exec(api: ApiClient, namespace: str, pod: str, container: str, command: list[str],
             stdin: str | None = None, timeout: float = EXEC_TIMEOUT) -> ExecResult:
    """Run command in the container; stdin, if given, is sent in full before it runs to the end."""
    data = stdin.encode() if stdin is not None else b""
    argv = with_sized_stdin(command, len(data)) if stdin is not None else command
    session = stream(
        client.CoreV1Api(api).connect_get_namespaced_pod_exec, pod, namespace, container=container, command=argv,
        stdin=stdin is not None, stdout=True, stderr=True, tty=False, _preload_content=False,
    )
    try:
        if stdin is not None:
            session.write_stdin(stdin)
            session.close_channel(0)  # v5 protocol: end-of-file where the runtime honours it
        session.run_forever(timeout=timeout)
        if session.is_open():
            raise ScenarioError(f"exec {command[0]} in {namespace}/{pod} did not finish within {timeout:.0f}s")
        stdout, stderr = session.read_stdout() or "", session.read_stderr() or ""
        try:
            returncode = session.returncode or 0
        except (ValueError, KeyError, IndexError, TypeError) as error:
            # The error channel carried a failure without an exit code (e.g. no such container).
            return ExecResult(returncode=-1, stdout=stdout, stderr=stderr + str(error))
        return ExecResult(returncode=returncode, stdout=stdout, stderr=stderr)
    finally:
        session.close()


def exec_checked(api: ApiClient, namespace: str, pod: str, container: str, command: list[str],
                 stdin: str | None = None) -> str:
    result = pod_exec(api, namespace, pod, container, command, stdin)
    if result.returncode != 0:
        raise ScenarioError(f"exec {' '.join(command)} in {namespace}/{pod} failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return result.stdout


def forward_http(api: ApiClient, namespace: str, pod: str, port: int, method: str, path: str,
                 body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    """One HTTP request to the pod's port through a port-forward via the API server."""
    forward = portforward(client.CoreV1Api(api).connect_get_namespaced_pod_portforward, pod, namespace, ports=str(port))
    try:
        sock = forward.socket(port)
        sock.settimeout(timeout)
        connection = http.client.HTTPConnection("localhost", port, timeout=timeout)
        connection.sock = sock  # type: ignore[assignment]
        payload = json.dumps(body).encode() if body is not None else None
        connection.request(method, path, body=payload, headers={"Content-Type": "application/json", "Connection": "close"})
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None
    finally:
        forward.close()
