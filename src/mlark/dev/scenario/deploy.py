"""Deploy and destroy the scenario on a cluster (the only module that sequences cluster work).

deploy: CRDs (Established) → bucket + model → objects in template order (owners first, status
written where the CRD keeps it) → PVCs Bound, workload pods Running → database rows and the
notebook file written through exec → the iris predictor answering. Every step is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable

from kubernetes.client import ApiClient

from mlark.dev.scenario.bucket import delete_bucket, ensure_bucket_with_model
from mlark.dev.scenario.facts import cluster_id, gather_facts
from mlark.dev.scenario.kube import Obj, ScenarioError, apply, condition, delete, get, wait_for
from mlark.dev.scenario.pods import wait_running
from mlark.dev.scenario.render import (
    build_context,
    load_crds,
    owner_key,
    render_objects,
    split_status,
    status_subresource_kinds,
    with_owner_uids,
)
from mlark.dev.scenario.describe import describe
from mlark.dev.scenario.predict import wait_for_prediction
from mlark.dev.scenario.seeding import seed_all
from mlark.dev.scenario.spec import DSC_NAME, NAMESPACES, ScenarioInfo, bucket_name
from mlark.dev.services.s3 import S3Endpoint

Progress = Callable[[str], None]
CRD_API = "apiextensions.k8s.io/v1"


def _quiet(message: str) -> None:
    pass


def install_crds(api: ApiClient, progress: Progress = _quiet) -> list[Obj]:
    crds = load_crds()
    for crd in crds:
        apply(api, crd)
    for crd in crds:
        name = crd["metadata"]["name"]
        wait_for(f"CRD {name} to be Established",
                 lambda name=name: condition(get(api, CRD_API, "CustomResourceDefinition", name), "Established") == "True", 60)
    progress(f"{len(crds)} CRDs established")
    return crds


def wait_namespaces_gone(api: ApiClient) -> None:
    """A namespace still terminating from a destroy cannot take new objects yet."""
    def settled() -> bool:
        for name in NAMESPACES:
            namespace = get(api, "v1", "Namespace", name)
            if namespace and namespace.get("status", {}).get("phase") == "Terminating":
                return False
        return True
    wait_for("scenario namespaces to finish terminating", settled, 300, 2)


def apply_objects(api: ApiClient, objects: list[Obj], status_kinds: set[str], progress: Progress = _quiet) -> None:
    uids: dict[str, str] = {}
    for obj in objects:
        body, status = split_status(obj) if obj["kind"] in status_kinds else (obj, None)
        applied = apply(api, with_owner_uids(body, uids))
        meta = applied["metadata"]
        uids[owner_key(obj["apiVersion"], obj["kind"], meta.get("namespace"), meta["name"])] = meta["uid"]
        if status is not None:
            apply(api, {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                        "metadata": {"name": meta["name"], **({"namespace": meta["namespace"]} if "namespace" in meta else {})},
                        "status": status}, "status")
    progress(f"{len(objects)} objects applied")


def _selector(labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def wait_storage_and_pods(api: ApiClient, objects: list[Obj], progress: Progress = _quiet) -> None:
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] == "PersistentVolumeClaim":
            wait_for(f"PVC {meta['namespace']}/{meta['name']} to be Bound",
                     lambda meta=meta: ((get(api, "v1", "PersistentVolumeClaim", meta["name"], meta["namespace"]) or {})
                                        .get("status", {}).get("phase") == "Bound"), 120)
    progress("PVCs bound")
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            wait_running(api, obj["metadata"]["namespace"], _selector(obj["spec"]["selector"]["matchLabels"]))
    progress("workload pods running")


def deploy(api: ApiClient, s3: S3Endpoint, progress: Progress = _quiet) -> ScenarioInfo:
    """Bring the scenario up (or complete it) on the cluster; return how to reach its parts."""
    crds = install_crds(api, progress)
    wait_namespaces_gone(api)
    context = build_context(s3, gather_facts(api))
    progress(f"bucket {context['bucket']}: ensuring it holds the iris model")
    ensure_bucket_with_model(s3, context["bucket"])
    objects = render_objects(context)
    apply_objects(api, objects, status_subresource_kinds(crds), progress)
    wait_storage_and_pods(api, objects, progress)
    info = describe(context)
    seed_all(api, context, objects, info, progress)
    wait_for_prediction(api, progress)
    return info


def destroy(api: ApiClient, s3: S3Endpoint, progress: Progress = _quiet) -> None:
    """Remove exactly the scenario: its namespaces, the DataScienceCluster and its bucket (not the CRDs)."""
    bucket = bucket_name(cluster_id(api))
    if delete(api, "datasciencecluster.opendatahub.io/v1", "DataScienceCluster", DSC_NAME):
        progress(f"DataScienceCluster {DSC_NAME} deleted")
    for namespace in NAMESPACES:
        if delete(api, "v1", "Namespace", namespace):
            progress(f"namespace {namespace} deleting")
    wait_for("scenario namespaces to be gone",
             lambda: all(get(api, "v1", "Namespace", name) is None for name in NAMESPACES), 300, 2)
    if delete_bucket(s3, bucket):
        progress(f"bucket {bucket} deleted")
    progress("scenario removed")
