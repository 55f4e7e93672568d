"""The description of a deployed scenario handed to callers (pure)."""

from __future__ import annotations

from mlark.dev.scenario.spec import (
    CATALOG_DB,
    NAMESPACES,
    NOTEBOOK_FILE,
    PIPELINES_DB,
    PREDICTOR_SELECTOR,
    REGISTRY_DB,
    WORKBENCH_SELECTOR,
    ScenarioInfo,
)


def describe(context: dict[str, str]) -> ScenarioInfo:
    return ScenarioInfo(
        name="rhoai-demo",
        namespaces=list(NAMESPACES),
        bucket=context["bucket"],
        s3_endpoint=context["s3_endpoint"],
        model_uri=context["model_uri"],
        predictor_selector=PREDICTOR_SELECTOR,
        workbench_selector=WORKBENCH_SELECTOR,
        notebook_file=NOTEBOOK_FILE,
        pipelines_db=PIPELINES_DB,
        registry_db=REGISTRY_DB,
        catalog_db=CATALOG_DB,
        workflow=context["workflow_name"],
        run_id=context["run_id"],
    )
