"""The seed's iris request, sent to the predictor pod through a port-forward via the API server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient
from pydantic import BaseModel

from mlark.dev.modelserver import SEED_REQUEST
from mlark.dev.scenario.kube import ScenarioError, wait_for
from mlark.dev.scenario.pods import forward_http, running_pod
from mlark.dev.scenario.spec import DEMO_NS, PREDICTOR_PORT, PREDICTOR_SELECTOR

MODEL = "iris"


class Prediction(BaseModel):
    pod: str
    path: str
    request: dict[str, Any]
    classes: list[int]
    response: dict[str, Any]


def predict_iris(api: ApiClient) -> Prediction:
    pod = running_pod(api, DEMO_NS, PREDICTOR_SELECTOR)
    path = f"/v2/models/{MODEL}/infer"
    status, body = forward_http(api, DEMO_NS, pod, PREDICTOR_PORT, "POST", path, SEED_REQUEST)
    if status != 200 or not isinstance(body, dict):
        raise ScenarioError(f"iris predictor {pod} answered HTTP {status}: {body}")
    classes = [int(value) for value in body["outputs"][0]["data"]]
    return Prediction(pod=pod, path=path, request=SEED_REQUEST, classes=classes, response=body)


def wait_for_prediction(api: ApiClient, progress: Callable[[str], None], timeout: float = 180.0) -> Prediction:
    """The model server loads after the storage-initializer copied the model: retry until it answers."""
    answers: list[Prediction] = []

    def answered() -> bool:
        try:
            answers.append(predict_iris(api))
        except Exception:
            return False
        return True

    wait_for("the iris predictor to answer the seed's request", answered, timeout, 2)
    progress(f"iris predictor {answers[-1].pod}: {answers[-1].classes}")
    return answers[-1]
