"""Pre- and post-capture hooks: commands run by exec in the pods a plan names."""

from __future__ import annotations

from kubernetes.client import ApiClient

from mlark.kube.apply import pod_running
from mlark.kube.discovery import resource_for
from mlark.kube.errors import KubeError
from mlark.kube.exec import exec_capture
from mlark.kube.listing import list_objects
from mlark.plan.labels import selector_matches
from mlark.plan.models import Hook
from mlark.restorepoint.models import ItemResult


class HookFailed(RuntimeError):
    """A hook with onError: fail did not succeed; no data was captured after it."""


def run_hooks(api: ApiClient, hooks: list[Hook], phase: str) -> list[ItemResult]:
    """Run each hook in every running pod it selects; raise HookFailed on a failing `fail` hook."""
    results: list[ItemResult] = []
    for index, hook in enumerate(hooks):
        name = hook.name or f"{phase}[{index}]"
        pods = [pod for pod in list_objects(api, resource_for(api, "v1", "Pod"), hook.namespace)
                if pod_running(pod) and selector_matches(hook.pod_selector, pod["metadata"].get("labels"))]
        if not pods:
            results.append(_outcome(hook, f"hook {name}", "no running pod matches its selector"))
            continue
        for pod in pods:
            results.append(_run_one(api, hook, f"hook {name} in {hook.namespace}/{pod['metadata']['name']}", pod))
    return results


def _run_one(api: ApiClient, hook: Hook, item: str, pod: dict) -> ItemResult:
    containers = pod["spec"]["containers"]
    container = hook.container or containers[0]["name"]
    try:
        result = exec_capture(api, hook.namespace, pod["metadata"]["name"], container, hook.command,
                              timeout=hook.timeout.total_seconds())
    except KubeError as error:
        return _outcome(hook, item, str(error))
    if result.returncode != 0:
        return _outcome(hook, item, f"exit {result.returncode}: {result.stderr.decode(errors='replace').strip()[-300:]}")
    return ItemResult(item=item, status="ok")


def _outcome(hook: Hook, item: str, problem: str) -> ItemResult:
    if hook.on_error == "fail":
        raise HookFailed(f"{item}: {problem}")
    return ItemResult(item=item, status="warning", message=problem)
