"""Reaching into pods through the API server, as mlark will on a real cluster: find a running
pod, `kubectl exec` into it (with stdin), and forward a port to it for one HTTP request."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client import ApiClient
from pydantic import BaseModel

from mlark.dev.scenario.kube import ScenarioError, wait_for
from mlark.kube.errors import KubeError
from mlark.kube.exec import exec_capture, sized_stdin, wait_exec_ready
from mlark.kube.portforward import http_request

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


def pod_exec(api: ApiClient, namespace: str, pod: str, container: str, command: list[str],
             stdin: str | None = None, timeout: float = EXEC_TIMEOUT) -> ExecResult:
    """Run command in the container; stdin, if given, is sent in full (sized: kwok never closes
    a process's stdin) before it runs to the end. A failure without an exit code gives -1 and
    the runtime's message as stderr."""
    data = stdin.encode() if stdin is not None else None
    argv = sized_stdin(command, len(data)) if data is not None else command
    try:
        result = exec_capture(api, namespace, pod, container, argv, stdin=data, timeout=timeout)
    except KubeError as error:
        raise ScenarioError(str(error)) from error
    stderr = result.stderr.decode("utf-8", "replace")
    if result.returncode < 0:
        stderr = (stderr + "\n" + result.message).strip()
    return ExecResult(returncode=result.returncode, stdout=result.text, stderr=stderr)


def exec_checked(api: ApiClient, namespace: str, pod: str, container: str, command: list[str],
                 stdin: str | None = None) -> str:
    """stdout of a command that must succeed, once exec into the (perhaps just started) pod works."""
    try:
        wait_exec_ready(api, namespace, pod, container)
    except KubeError as error:
        raise ScenarioError(str(error)) from error
    result = pod_exec(api, namespace, pod, container, command, stdin)
    if result.returncode != 0:
        raise ScenarioError(f"exec {' '.join(command)} in {namespace}/{pod} failed ({result.returncode}): {result.stderr.strip()[-800:]}")
    return result.stdout


def forward_http(api: ApiClient, namespace: str, pod: str, port: int, method: str, path: str,
                 body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
    """One HTTP request to the pod's port through a port-forward via the API server."""
    response = http_request(api, namespace, pod, port, method, path, json_body=body, timeout=timeout)
    return response.status, response.json()
