"""InferenceServices: golden requests replayed against the predictor pod, and their answers.

The request goes through a port-forward via the API server (no route or network path needed).
Volatile fields of the answer (request ids, timestamps) are dropped so that the same model gives
the same fingerprint; generative answers keep their text for the `similar:X` rule.
"""

from __future__ import annotations

import json
from typing import Any

from mlark.apps.kserve import model_spec
from mlark.kube.portforward import http_request
from mlark.restore.workloads import running_pods
from mlark.verify.fingerprints.common import Context, FingerprintError, Obj
from mlark.verify.models import Fingerprint
from mlark.verify.spec import GoldenRequest, annotated_requests

GROUP = "serving.kserve.io"
VOLATILE = ("id", "created", "system_fingerprint")
DEFAULT_PORT = 8080
TIMEOUT = 60.0


def targets(context: Context) -> list[Fingerprint]:
    services = {f"{o['metadata'].get('namespace')}/{o['metadata']['name']}": o for o in context.of_kind("InferenceService", GROUP)}
    requests = list(context.spec.inference)
    for isvc in services.values():
        requests += annotated_requests(isvc)
    found: list[Fingerprint] = []
    for request in requests:
        reference = request.inference_service or ""
        namespace, _, name = reference.partition("/")
        if not name:
            raise ValueError(f"verification.inference: inferenceService must be namespace/name, not {reference!r}")
        label = f"inference {reference}" + (f" {request.name}" if request.name else "")
        if any(f.name == label for f in found):
            label += f" #{sum(f.name.startswith(label) for f in found) + 1}"
        subject = {"namespace": namespace, "inferenceService": name, **request.model_dump(exclude={"inference_service", "name", "rule"})}
        subject["generative"] = _generative(services.get(reference), request)
        found.append(Fingerprint(name=label, kind="inference", namespace=namespace, subject=subject, data={}, rule=request.rule))
    return found


def _generative(isvc: Obj | None, request: GoldenRequest) -> bool:
    """vLLM-style servers and OpenAI paths answer with text."""
    format_name = str((model_spec(isvc).get("modelFormat") or {}).get("name", "")) if isvc else ""
    return format_name.lower() == "vllm" or "/v1/" in request.path or request.rule.startswith("similar:")


def predictor_pod(context: Context, namespace: str, name: str) -> Obj:
    """A running predictor pod: KServe labels it with its InferenceService (the component label
    tells the predictor from a transformer); RawDeployment pods also carry app=isvc.<name>-predictor."""
    for labels in ({"serving.kserve.io/inferenceservice": name, "component": "predictor"},
                   {"serving.kserve.io/inferenceservice": name}, {"app": f"isvc.{name}-predictor"}):
        pods = running_pods(context.api, namespace, labels)
        if pods:
            return pods[0]
    raise FingerprintError(f"InferenceService {namespace}/{name}: no running predictor pod")


def _port(pod: Obj) -> int:
    containers = (pod.get("spec") or {}).get("containers") or []
    ordered = sorted(containers, key=lambda c: c.get("name") != "kserve-container")
    for container in ordered:
        for port in container.get("ports") or []:
            if port.get("containerPort"):
                return int(port["containerPort"])
    return DEFAULT_PORT


def measure(context: Context, fingerprint: Fingerprint) -> dict[str, Any]:
    subject = fingerprint.subject
    namespace, name = str(subject["namespace"]), str(subject["inferenceService"])
    pod = predictor_pod(context, namespace, name)
    port = int(subject.get("port") or _port(pod))
    response = http_request(context.api, namespace, pod["metadata"]["name"], port, str(subject.get("method", "POST")),
                            str(subject["path"]), json_body=subject.get("request"), timeout=TIMEOUT)
    try:
        output: Any = response.json()
    except ValueError:
        output = response.body.decode("utf-8", "replace")
    output = strip_volatile(output, set(VOLATILE) | set(subject.get("ignore") or []))
    data: dict[str, Any] = {"status": response.status, "output": output}
    if subject.get("generative"):
        data["text"] = generated_text(output)
    return data


def strip_volatile(value: Any, names: set[str]) -> Any:
    """The answer without fields that change on every call (at any depth)."""
    if isinstance(value, dict):
        return {k: strip_volatile(v, names) for k, v in value.items() if k not in names}
    if isinstance(value, list):
        return [strip_volatile(item, names) for item in value]
    return value


def generated_text(output: Any) -> str:
    """Text of an OpenAI-style completion or chat answer, or of a V2 text output."""
    if isinstance(output, str):
        return output
    if isinstance(output, dict):
        choices = output.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            first = choices[0]
            message = first.get("message") or {}
            return str(first.get("text") or (message.get("content") if isinstance(message, dict) else "") or "")
        for item in output.get("outputs") or []:
            if isinstance(item, dict) and item.get("datatype") == "BYTES":
                return " ".join(str(value) for value in item.get("data") or [])
    return json.dumps(output, sort_keys=True)
