"""SQL that fills the scenario's databases with the state the seed builds by hand (pure).

Schemas are static files (sql/); rows are generated here with proper quoting. Every row goes
in with INSERT IGNORE so re-seeding keeps what is there (including a restored database).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from importlib import resources
from typing import Any

from mlark.dev.scenario.spec import DEMO_NS, IRIS_PATH, stable_id

SqlValue = str | int | float | None

PIPELINE = "iris-classifier-training"
RUN_NAME = "iris-run-1"
TRAIN_OUTPUT = "trained-acc-1.0000"
REGISTERED_MODEL = "iris-classifier"
MODEL_VERSION = "v1.0.0"
ARTIFACT_NAME = "iris-model-artifact"
STORAGE_KEY = "aws-connection-rhoai-demo-bucket"


def sql_literal(value: SqlValue) -> str:
    """A MariaDB literal (default sql_mode: backslash escapes are on)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float)):
        return repr(value)
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\r", "\\r")
    return f"'{escaped.replace(chr(0), '')}'"


def insert(table: str, columns: Sequence[str], rows: Sequence[Sequence[SqlValue]]) -> str:
    names = ", ".join(f"`{column}`" for column in columns)
    values = ",\n  ".join("(" + ", ".join(sql_literal(value) for value in row) + ")" for row in rows)
    return f"INSERT IGNORE INTO `{table}` ({names}) VALUES\n  {values};\n"


def schema(name: str) -> str:
    return resources.files("mlark.dev.scenario").joinpath("sql", name).read_text()


def pipeline_spec() -> str:
    return resources.files("mlark.dev.scenario").joinpath("data", "iris_pipeline.yaml").read_text()


def _seconds(stamp: str) -> int:
    return int(datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").timestamp() - datetime(1970, 1, 1).timestamp())


def _history(*states: tuple[str, int]) -> str:
    return json.dumps([{"UpdateTimeInSec": at, "State": state} for state, at in states])


def kfp_rows(ctx: dict[str, str], workflow: dict[str, Any]) -> str:
    """The pipeline, its version, the Default experiment and run iris-run-1 with its tasks."""
    created, started = _seconds(ctx["run_created_at"]), _seconds(ctx["run_started_at"])
    trained, finished = _seconds(ctx["run_trained_at"]), _seconds(ctx["run_finished_at"])
    uploaded = created - 120
    pid, vid, eid, rid = ctx["pipeline_id"], ctx["pipeline_version_id"], ctx["experiment_id"], ctx["run_id"]
    spec = pipeline_spec()
    history = _history(("PENDING", created), ("RUNNING", started), ("SUCCEEDED", finished))
    sql = [
        insert("pipelines", ["UUID", "CreatedAtInSec", "Name", "DisplayName", "Description", "Parameters", "Status", "DefaultVersionId", "Namespace"],
               [[pid, uploaded, PIPELINE, PIPELINE, "Trains a RandomForest on iris and registers it", "", "READY", vid, DEMO_NS]]),
        insert("pipeline_versions", ["UUID", "CreatedAtInSec", "Name", "DisplayName", "Parameters", "PipelineId", "Status", "CodeSourceUrl", "Description", "PipelineSpec", "PipelineSpecURI"],
               [[vid, uploaded, PIPELINE, PIPELINE, "", pid, "READY", "", "", spec, ""]]),
        insert("experiments", ["UUID", "Name", "Description", "CreatedAtInSec", "LastRunCreatedAtInSec", "Namespace", "StorageState"],
               [[eid, "Default", "All runs created without specifying an experiment will be grouped here.", uploaded, created, DEMO_NS, "AVAILABLE"]]),
        insert("default_experiments", ["DefaultExperimentId"], [[eid]]),
        insert("db_statuses", ["HaveSamplesLoaded"], [[1]]),
        insert("run_details", ["UUID", "ExperimentUUID", "DisplayName", "Name", "StorageState", "Namespace", "ServiceAccount", "Description",
                               "CreatedAtInSec", "ScheduledAtInSec", "FinishedAtInSec", "Conditions", "JobUUID", "PipelineId", "PipelineName",
                               "PipelineVersionId", "PipelineSpecManifest", "WorkflowSpecManifest", "Parameters", "RuntimeParameters",
                               "PipelineRoot", "PipelineRuntimeManifest", "WorkflowRuntimeManifest", "State", "StateHistory",
                               "PipelineContextId", "PipelineRunContextId"],
               [[rid, eid, RUN_NAME, RUN_NAME, "AVAILABLE", DEMO_NS, "pipeline-runner-dspa", "", created, created, finished, "Succeeded",
                 None, pid, PIPELINE, vid, spec, "", "", json.dumps({"accuracy_threshold": 0.9}), f"s3://{ctx['bucket']}",
                 "", json.dumps(workflow, sort_keys=True), "SUCCEEDED", history, 1, 2]]),
        insert("tasks", ["UUID", "Namespace", "PipelineName", "RunUUID", "PodName", "MLMDExecutionID", "CreatedTimestamp", "StartedTimestamp",
                         "FinishedTimestamp", "Fingerprint", "Name", "ParentTaskUUID", "State", "StateHistory", "MLMDInputs", "MLMDOutputs",
                         "ChildrenPods", "Payload"],
               _task_rows(ctx, started, trained, finished)),
    ]
    return "".join(sql)


def _task_rows(ctx: dict[str, str], started: int, trained: int, finished: int) -> list[list[SqlValue]]:
    run, wf = ctx["run_id"], ctx["workflow_name"]
    root = stable_id("task/root")
    tasks = [
        (root, "root", None, "3", f"{wf}-system-dag-driver-1", started, finished, "{}", "{}"),
        (stable_id("task/train-iris"), "train-iris", root, "4", f"{wf}-system-container-impl-3", started, trained,
         json.dumps({"accuracy_threshold": 0.9}), json.dumps({"Output": TRAIN_OUTPUT})),
        (stable_id("task/register"), "register", root, "5", f"{wf}-system-container-impl-5", trained, finished,
         json.dumps({"model_info": TRAIN_OUTPUT}), json.dumps({"Output": f"registered:{TRAIN_OUTPUT}"})),
    ]
    return [
        [uid, DEMO_NS, f"namespace/{DEMO_NS}/pipeline/{PIPELINE}", run, pod, execution, begin, begin, end, "", name, parent,
         "SUCCEEDED", _history(("RUNNING", begin), ("SUCCEEDED", end)), inputs, outputs, "[]", ""]
        for uid, name, parent, execution, pod, begin, end, inputs, outputs in tasks
    ]


def kfp_seed_sql(ctx: dict[str, str], workflow: dict[str, Any]) -> str:
    return schema("kfp_schema.sql") + "\n" + kfp_rows(ctx, workflow)


# MLMD type kinds and property data types, as ML Metadata numbers them.
EXECUTION, ARTIFACT, CONTEXT = 0, 1, 2
STRING, INT = 3, 1
LIVE = 2  # Artifact.state
TYPES: list[tuple[int, str, int, list[str]]] = [
    (1, "kf.RegisteredModel", CONTEXT, ["description", "owner", "state", "language", "license", "provider", "readme"]),
    (2, "kf.ModelVersion", CONTEXT, ["author", "description", "model_name", "state", "version"]),
    (3, "kf.DocArtifact", ARTIFACT, ["description"]),
    (4, "kf.ModelArtifact", ARTIFACT, ["description", "model_format_name", "model_format_version", "storage_key",
                                       "storage_path", "service_account_name", "model_source_kind"]),
    (5, "kf.ServingEnvironment", CONTEXT, ["description"]),
    (6, "kf.InferenceService", CONTEXT, ["description", "desired_state", "model_version_id", "registered_model_id",
                                         "runtime", "serving_environment_id"]),
    (7, "kf.ServeModel", EXECUTION, ["description", "model_version_id"]),
]


def _type_rows() -> str:
    types = [[type_id, name, None, kind, None, None, None, None] for type_id, name, kind, _ in TYPES]
    props = [[type_id, prop, STRING] for type_id, _, _, names in TYPES for prop in names]
    return (insert("Type", ["id", "name", "version", "type_kind", "description", "input_type", "output_type", "external_id"], types)
            + insert("TypeProperty", ["type_id", "name", "data_type"], props))


def _string_props(owner_id: int, values: dict[str, str]) -> list[list[SqlValue]]:
    return [[owner_id, name, 0, None, None, value, None, None, None] for name, value in values.items()]


PROPERTY_COLUMNS = ["name", "is_custom_property", "int_value", "double_value", "string_value", "byte_value", "proto_value", "bool_value"]


def registry_rows(ctx: dict[str, str]) -> str:
    """RegisteredModel iris-classifier (context 1), ModelVersion v1.0.0 (context 2, child of 1) and
    its ModelArtifact (artifact 1) pointing at the iris model in the scenario's bucket."""
    registered = (_seconds(ctx["run_finished_at"]) + 180) * 1000
    model = _string_props(1, {"description": "RandomForest iris classifier for the Trilio demo", "owner": "rodolfo", "state": "LIVE"})
    version = _string_props(2, {"author": "rodolfo", "model_name": REGISTERED_MODEL, "state": "LIVE", "version": MODEL_VERSION})
    artifact = _string_props(1, {"model_format_name": "sklearn", "model_format_version": "1", "storage_key": STORAGE_KEY,
                                 "storage_path": IRIS_PATH})
    return "".join([
        _type_rows(),
        insert("Context", ["id", "type_id", "name", "external_id", "create_time_since_epoch", "last_update_time_since_epoch"],
               [[1, 1, REGISTERED_MODEL, None, registered, registered],
                [2, 2, f"1:{MODEL_VERSION}", None, registered + 1500, registered + 1500]]),
        insert("ContextProperty", ["context_id", *PROPERTY_COLUMNS], model + version),
        insert("ParentContext", ["context_id", "parent_context_id"], [[2, 1]]),
        insert("Artifact", ["id", "type_id", "uri", "state", "name", "external_id", "create_time_since_epoch", "last_update_time_since_epoch"],
               [[1, 4, ctx["model_uri"], LIVE, f"2:{ARTIFACT_NAME}", None, registered + 3100, registered + 3100]]),
        insert("ArtifactProperty", ["artifact_id", *PROPERTY_COLUMNS], artifact),
        insert("Attribution", ["id", "context_id", "artifact_id"], [[1, 2, 1]]),
        insert("MLMDEnv", ["schema_version"], [[10]]),
    ])


def registry_seed_sql(ctx: dict[str, str]) -> str:
    return schema("mlmd_schema.sql") + "\n" + registry_rows(ctx)
