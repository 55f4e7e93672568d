"""The seed's disaster (step 7 of ../shared/seeds/000): what the story deletes, and nothing more.

Workload objects, PVCs and the registry database go; the namespaces and the bucket stay (the
seed keeps them so that the ObjectBucketClaim does not take the bucket with it).
"""

from __future__ import annotations

import time

from kubernetes.client import ApiClient

from mlark.kube.apply import delete, get, pod_running
from mlark.kube.discovery import resource_for
from mlark.kube.listing import list_objects

DEMO, REGISTRIES = "rhoai-demo", "rhoai-model-registries"
DEMO_KINDS = [
    ("kubeflow.org/v1", "Notebook"),
    ("datasciencepipelinesapplications.opendatahub.io/v1", "DataSciencePipelinesApplication"),
    ("serving.kserve.io/v1beta1", "InferenceService"),
    ("serving.kserve.io/v1alpha1", "ServingRuntime"),
    ("argoproj.io/v1alpha1", "Workflow"),
    ("apps/v1", "StatefulSet"),
]


def seed_disaster(api: ApiClient, timeout: float = 120.0) -> None:
    """Delete what the seed deletes, then wait until the claims and database pods are gone."""
    for api_version, kind in DEMO_KINDS:
        for obj in list_objects(api, resource_for(api, api_version, kind), DEMO):
            delete(api, api_version, kind, obj["metadata"]["name"], DEMO)
    for claim in list_objects(api, resource_for(api, "v1", "PersistentVolumeClaim"), DEMO):
        delete(api, "v1", "PersistentVolumeClaim", claim["metadata"]["name"], DEMO)
    delete(api, "modelregistry.opendatahub.io/v1beta1", "ModelRegistry", "rhoai-registry", REGISTRIES)
    for api_version, kind in (("apps/v1", "Deployment"), ("v1", "Service"), ("v1", "PersistentVolumeClaim")):
        delete(api, api_version, kind, "model-registry-db", REGISTRIES)
    deadline = time.monotonic() + timeout
    while _leftovers(api):
        if time.monotonic() > deadline:
            raise TimeoutError(f"still present after the disaster: {', '.join(_leftovers(api))}")
        time.sleep(1)


def _leftovers(api: ApiClient) -> list[str]:
    claims = [c["metadata"]["name"] for c in list_objects(api, resource_for(api, "v1", "PersistentVolumeClaim"), DEMO)]
    registry = get(api, "v1", "PersistentVolumeClaim", "model-registry-db", REGISTRIES)
    pods = [pod["metadata"]["name"] for namespace in (DEMO, REGISTRIES)
            for pod in list_objects(api, resource_for(api, "v1", "Pod"), namespace)
            if pod_running(pod) and pod["metadata"]["name"].startswith(("model-registry-db", "mariadb-dspa"))]
    return claims + (["model-registry-db"] if registry else []) + pods
