"""Pipeline servers (DataSciencePipelinesApplication): pipelines with their versions, and runs
with their states, read from the server's KFP database (pipelines, pipeline_versions,
experiments, run_details) by the database's own client in its pod.

Only a database the DSPA deploys itself (`spec.database.mariaDB`, Service mariadb-<name>) can be
reached by exec; an external database gets a fingerprint that says so.
"""

from __future__ import annotations

from typing import Any

from mlark.apps.base import dig
from mlark.verify.fingerprints.common import Context, FingerprintError, database_behind, pod_for, run_sql
from mlark.verify.models import Fingerprint

GROUP = "datasciencepipelinesapplications.opendatahub.io"
QUERY = (
    "SELECT 'P', Name, Status FROM pipelines; "
    "SELECT 'V', p.Name, v.Name, v.Status FROM pipeline_versions v JOIN pipelines p ON p.UUID = v.PipelineId; "
    "SELECT 'E', Name, StorageState FROM experiments; "
    "SELECT 'R', r.UUID, r.DisplayName, r.State, r.StorageState, r.PipelineName, COALESCE(e.Name, ''), r.FinishedAtInSec "
    "FROM run_details r LEFT JOIN experiments e ON e.UUID = r.ExperimentUUID;"
)


def targets(context: Context) -> list[Fingerprint]:
    found = []
    for dspa in context.of_kind("DataSciencePipelinesApplication", GROUP):
        namespace, name = dspa["metadata"].get("namespace", ""), dspa["metadata"]["name"]
        subject: dict[str, Any] = {"namespace": namespace, "dspa": name}
        try:
            subject.update(_database(context, dspa))
        except FingerprintError as error:
            subject["unreachable"] = str(error)
        found.append(Fingerprint(name=f"pipelines {namespace}/{name}", kind="pipelines", namespace=namespace,
                                 subject=subject, data={}))
    return found


def _database(context: Context, dspa: dict[str, Any]) -> dict[str, Any]:
    namespace, name = dspa["metadata"].get("namespace", ""), dspa["metadata"]["name"]
    database = dig(dspa, "spec", "database") or {}
    if isinstance(database.get("externalDB"), dict):
        raise FingerprintError(f"pipeline server {namespace}/{name} uses an external database, not reachable by exec")
    mariadb = database.get("mariaDB") or {}
    # The operator names the Service and its Deployment mariadb-<dspa name>.
    return {**database_behind(context, namespace, f"mariadb-{name}"), "database": mariadb.get("pipelineDBName", "mlpipeline")}


def measure(context: Context, fingerprint: Fingerprint) -> dict[str, Any]:
    subject = fingerprint.subject
    if subject.get("unreachable"):
        raise FingerprintError(str(subject["unreachable"]))
    namespace = str(subject["namespace"])
    pod = pod_for(context.api, namespace, subject["pod_labels"], f"pipeline database of {fingerprint.name}")
    rows = run_sql(context.api, namespace, pod, subject["container"], subject["engine"], QUERY, subject["database"])
    return assemble(rows)


def assemble(rows: list[list[str]]) -> dict[str, Any]:
    """{pipelines: {name: {status, versions: {name: status}}}, experiments: {name: state},
    runs: {"<display name> <uuid>": {state, storage, pipeline, experiment, finished}}}"""
    pipelines: dict[str, Any] = {row[1]: {"status": row[2], "versions": {}} for row in rows if row[0] == "P"}
    for row in rows:
        if row[0] == "V" and row[1] in pipelines:
            pipelines[row[1]]["versions"][row[2]] = row[3]
    experiments = {row[1]: row[2] for row in rows if row[0] == "E"}
    runs = {f"{row[2]} {row[1]}": {"state": row[3], "storage": row[4], "pipeline": row[5], "experiment": row[6],
                                   "finished": row[7]} for row in rows if row[0] == "R"}
    return {"pipelines": pipelines, "experiments": experiments, "runs": dict(sorted(runs.items()))}
