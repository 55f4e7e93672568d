"""The `verification` section of a plan (`spec.verification`), parsed.

    verification:
      kinds: [inference, files, database, model-registry, pipelines, artifacts]   # default: all
      inference:                        # golden requests (also: annotation mlark.io/golden-requests)
        - inferenceService: rhoai-demo/iris
          path: /v2/models/iris/infer
          request: {inputs: [...]}
          rule: equal                   # or similar:0.9 for generative models
          ignore: [id]                  # extra volatile response fields (id, created are always ignored)
      files:
        exclude: ["*/.cache/*"]         # glob patterns of paths (./...) left out of file manifests
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlark.verify.models import KINDS, Kind

GOLDEN_ANNOTATION = "mlark.io/golden-requests"
_RULE = re.compile(r"^(equal|similar:(0(\.\d+)?|1(\.0+)?))$")


class GoldenRequest(BaseModel):
    """One request replayed against a predictor; its answer is the fingerprint."""

    model_config = ConfigDict(populate_by_name=True, extra="forbid")

    inference_service: str | None = Field(None, alias="inferenceService")  # "namespace/name"; implied in the annotation
    name: str | None = None  # tells several requests of one InferenceService apart
    path: str
    method: str = "POST"
    port: int | None = None  # default: the predictor container's first port, else 8080
    request: Any = None  # JSON body
    rule: str = "equal"
    ignore: list[str] = []

    @field_validator("rule")
    @classmethod
    def _known_rule(cls, rule: str) -> str:
        if not _RULE.match(rule):
            raise ValueError(f"rule must be 'equal' or 'similar:<0..1>', not {rule!r}")
        return rule


class FilesSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exclude: list[str] = []


class VerificationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kinds: list[Kind] = list(KINDS)
    inference: list[GoldenRequest] = []
    files: FilesSettings = FilesSettings()


def parse_verification(section: dict[str, Any] | None) -> VerificationSpec:
    return VerificationSpec.model_validate(section or {})


def annotated_requests(isvc: dict[str, Any]) -> list[GoldenRequest]:
    """Golden requests an InferenceService carries in its annotation (a JSON list)."""
    text = ((isvc.get("metadata") or {}).get("annotations") or {}).get(GOLDEN_ANNOTATION)
    if not text:
        return []
    namespace, name = isvc["metadata"].get("namespace"), isvc["metadata"]["name"]
    items = json.loads(text)
    if isinstance(items, dict):
        items = [items]
    return [GoldenRequest.model_validate({**item, "inferenceService": f"{namespace}/{name}"}) for item in items]
