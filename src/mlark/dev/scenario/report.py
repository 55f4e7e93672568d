"""`show`: what of the scenario is running and how to reach it, read from the cluster."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client import ApiClient
from pydantic import BaseModel

from mlark.dev.scenario.describe import describe
from mlark.dev.scenario.facts import gather_facts
from mlark.dev.scenario.kube import Obj, get
from mlark.dev.scenario.predict import Prediction, predict_iris
from mlark.dev.scenario.render import build_context, render_objects
from mlark.dev.scenario.spec import NAMESPACES, ScenarioInfo
from mlark.dev.services.s3 import S3Endpoint


class ObjectState(BaseModel):
    kind: str
    namespace: str | None
    name: str
    present: bool
    state: str


class PvcState(BaseModel):
    namespace: str
    name: str
    phase: str
    storage_class: str | None
    capacity: str | None
    access_modes: list[str]
    volume: str | None


class PodState(BaseModel):
    namespace: str
    name: str
    phase: str
    ready: str
    node: str | None


class Hint(BaseModel):
    what: str
    how: str


class ScenarioReport(BaseModel):
    info: ScenarioInfo
    deployed: bool
    objects: list[ObjectState]
    pvcs: list[PvcState]
    pods: list[PodState]
    prediction: Prediction | None
    prediction_error: str | None
    reach: list[Hint]


def summarize(obj: Obj) -> str:
    """One word or two on how an object is doing, from whatever its status offers."""
    status: dict[str, Any] = obj.get("status") or {}
    if obj["kind"] in ("Deployment", "StatefulSet"):
        return f"ready {status.get('readyReplicas', 0)}/{obj.get('spec', {}).get('replicas', 1)}"
    if "progress" in status and "phase" in status:
        return f"{status['phase']} {status['progress']}"
    if "phase" in status:
        return str(status["phase"])
    for wanted in ("Ready", "Available"):
        for entry in status.get("conditions") or []:
            if entry.get("type") == wanted:
                return f"{wanted}={entry.get('status')}"
    return ""


def object_states(api: ApiClient, objects: list[Obj]) -> list[ObjectState]:
    states = []
    for obj in objects:
        meta = obj["metadata"]
        live = get(api, obj["apiVersion"], obj["kind"], meta["name"], meta.get("namespace"))
        states.append(ObjectState(kind=obj["kind"], namespace=meta.get("namespace"), name=meta["name"],
                                  present=live is not None, state=summarize(live) if live else "missing"))
    return states


def pvc_states(api: ApiClient) -> list[PvcState]:
    core = client.CoreV1Api(api)
    rows = []
    for namespace in NAMESPACES:
        for pvc in core.list_namespaced_persistent_volume_claim(namespace).items:
            rows.append(PvcState(namespace=namespace, name=pvc.metadata.name, phase=pvc.status.phase or "",
                                 storage_class=pvc.spec.storage_class_name, capacity=(pvc.status.capacity or {}).get("storage"),
                                 access_modes=pvc.spec.access_modes or [], volume=pvc.spec.volume_name))
    return rows


def pod_states(api: ApiClient) -> list[PodState]:
    core = client.CoreV1Api(api)
    rows = []
    for namespace in NAMESPACES:
        for pod in core.list_namespaced_pod(namespace).items:
            statuses = pod.status.container_statuses or []
            ready = f"{sum(1 for status in statuses if status.ready)}/{len(pod.spec.containers)}"
            rows.append(PodState(namespace=namespace, name=pod.metadata.name, phase=pod.status.phase or "",
                                 ready=ready, node=pod.spec.node_name))
    return rows


def hints(info: ScenarioInfo, prediction: Prediction | None) -> list[Hint]:
    """kubectl commands that reach each stateful part, the way the tests and mlark do."""
    pod = prediction.pod if prediction else "<iris-predictor pod>"
    login = "mariadb --user=\"$MYSQL_USER\" --password=\"$MYSQL_PASSWORD\" \"$MYSQL_DATABASE\""
    pipelines, registry, catalog = info.pipelines_db, info.registry_db, info.catalog_db
    return [
        Hint(what="iris predictor (V2)", how=f"kubectl -n rhoai-demo port-forward pod/{pod} 8080:8080 && "
             "curl -s -X POST localhost:8080/v2/models/iris/infer -H 'Content-Type: application/json' -d @request.json"),
        Hint(what="pipeline server database", how=f"kubectl -n {pipelines.namespace} exec -it deploy/{pipelines.deployment} "
             f"-c {pipelines.container} -- sh -c '{login}'"),
        Hint(what="model registry database", how=f"kubectl -n {registry.namespace} exec -it deploy/{registry.deployment} "
             f"-c {registry.container} -- sh -c '{login}'"),
        Hint(what="model catalog database", how=f"kubectl -n {catalog.namespace} exec -it deploy/{catalog.deployment} "
             f"-c {catalog.container} -- sh -c 'psql -U \"$POSTGRES_USER\" \"$POSTGRES_DB\"'"),
        Hint(what="workbench notebook", how=f"kubectl -n rhoai-demo exec rodolfo-workbench-0 -c rodolfo-workbench -- cat {info.notebook_file}"),
        Hint(what="model artifact", how=f"{info.model_uri}/ on {info.s3_endpoint}"),
    ]


def build_report(api: ApiClient, s3: S3Endpoint, with_prediction: bool = True) -> ScenarioReport:
    context = build_context(s3, gather_facts(api))
    info = describe(context)
    objects = object_states(api, render_objects(context))
    prediction, error = None, None
    if with_prediction:
        try:
            prediction = predict_iris(api)
        except Exception as failure:  # reported, not raised: show must work on a half-deployed scenario
            error = str(failure)
    return ScenarioReport(info=info, deployed=all(state.present for state in objects), objects=objects,
                          pvcs=pvc_states(api), pods=pod_states(api), prediction=prediction, prediction_error=error,
                          reach=hints(info, prediction))
