"""Waiting for restored workloads: their pods Running, found by label selector."""

from __future__ import annotations

import time

from kubernetes.client import ApiClient

from mlark.kube.apply import KubeTimeout, pod_running
from mlark.kube.discovery import resource_for
from mlark.kube.listing import list_objects
from mlark.plan.labels import selector_matches
from mlark.plan.models import LabelSelector


def running_pods(api: ApiClient, namespace: str, labels: dict[str, str]) -> list[dict]:
    selector = LabelSelector(match_labels=labels)
    pods = list_objects(api, resource_for(api, "v1", "Pod"), namespace)
    return [pod for pod in pods if pod_running(pod) and selector_matches(selector, pod["metadata"].get("labels"))]


def wait_workload_running(api: ApiClient, namespace: str, labels: dict[str, str], timeout: float) -> dict:
    """The first Running pod matching labels; KubeTimeout naming the selector if none comes."""
    deadline = time.monotonic() + timeout
    while True:
        pods = running_pods(api, namespace, labels)
        if pods:
            return pods[0]
        if time.monotonic() > deadline:
            raise KubeTimeout(f"no pod with labels {labels} Running in {namespace} after {timeout:.0f}s")
        time.sleep(0.5)
