"""Fixtures of the Kubernetes access tests: a namespace per module and a shell pod in it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kubernetes.client import ApiClient

from mlark.kube.apply import create, delete, pod_running, wait_for
from mlark.kube.exec import exec_capture
from mlark.kube.listing import list_objects
from mlark.kube.discovery import resource_for


@pytest.fixture(scope="module")
def module_namespace(kube_primary: ApiClient) -> Iterator[str]:
    """A namespace shared by the tests of one module, deleted afterwards."""
    name = f"tk-{uuid.uuid4().hex[:10]}"
    create(kube_primary, {"apiVersion": "v1", "kind": "Namespace",
                          "metadata": {"name": name, "labels": {"mlark.dev/test": "true"}}}, "fail")
    yield name
    delete(kube_primary, "v1", "Namespace", name)


def deploy(api: ApiClient, namespace: str, name: str, image: str, volumes: list | None = None,
           **container: object) -> str:
    """A one-replica Deployment; the name of its Running pod."""
    labels = {"app": name}
    create(api, {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "containers": [{"name": "main", "image": image, **container}], "volumes": volumes or []}}},
    }, "fail")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pods = [p for p in list_objects(api, resource_for(api, "v1", "Pod"), namespace, label_selector=f"app={name}")
                if pod_running(p)]
        if pods:
            pod = pods[0]["metadata"]["name"]
            wait_for(api, "v1", "Pod", pod, namespace, pod_running, timeout=60)
            return pod
        time.sleep(0.5)
    raise AssertionError(f"no Running pod for {name}")


def wait_exec_ready(api: ApiClient, namespace: str, pod: str, container: str = "main") -> None:
    """kwok wires exec a moment after the pod runs."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if exec_capture(api, namespace, pod, container, ["true"]).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"exec into {namespace}/{pod} never worked")


@pytest.fixture(scope="module")
def shell_pod(kube_primary: ApiClient, module_namespace: str) -> str:
    """A Running pod (container `main`) whose exec works."""
    pod = deploy(kube_primary, module_namespace, "shell", "ubi9/ubi-minimal")
    wait_exec_ready(kube_primary, module_namespace, pod)
    return pod
