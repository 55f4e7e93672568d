"""Model registries: registered models, their versions, and each version's artifacts with URIs,
read from the registry's ML-Metadata database (Context, ContextProperty, ParentContext,
Attribution, Artifact) by the database's own client in its pod.

The database is the one the ModelRegistry's spec names (`spec.mysql.host` is a Service).
Row ids and timestamps are left out: what a user recognises is names, states and URIs.
"""

from __future__ import annotations

from typing import Any

from mlark.apps.base import service_host
from mlark.apps.modelregistry import GROUP
from mlark.verify.fingerprints.common import Context, FingerprintError, database_behind, pod_for, run_sql, strip_id_prefix
from mlark.verify.models import Fingerprint

_VALUE = "COALESCE(p.string_value, p.int_value, p.double_value, p.bool_value)"
QUERY = (
    "SELECT 'M', c.id, c.name, '' FROM Context c JOIN Type t ON t.id = c.type_id WHERE t.name = 'kf.RegisteredModel'; "
    "SELECT 'V', c.id, c.name, COALESCE(pc.parent_context_id, '') FROM Context c JOIN Type t ON t.id = c.type_id "
    "LEFT JOIN ParentContext pc ON pc.context_id = c.id WHERE t.name = 'kf.ModelVersion'; "
    f"SELECT 'P', p.context_id, p.name, {_VALUE} FROM ContextProperty p; "
    "SELECT 'A', a.context_id, r.name, r.uri, r.state, t.name FROM Attribution a JOIN Artifact r ON r.id = a.artifact_id "
    "JOIN Type t ON t.id = r.type_id;"
)


def targets(context: Context) -> list[Fingerprint]:
    found = []
    for registry in context.of_kind("ModelRegistry", GROUP):
        namespace, name = registry["metadata"].get("namespace", ""), registry["metadata"]["name"]
        subject: dict[str, Any] = {"namespace": namespace, "modelRegistry": name}
        try:
            subject.update(_database(context, registry))
        except FingerprintError as error:
            subject["unreachable"] = str(error)
        found.append(Fingerprint(name=f"registry {namespace}/{name}", kind="model-registry", namespace=namespace,
                                 subject=subject, data={}))
    return found


def _database(context: Context, registry: dict[str, Any]) -> dict[str, Any]:
    namespace = registry["metadata"].get("namespace", "")
    mysql = (registry.get("spec") or {}).get("mysql")
    if not isinstance(mysql, dict):
        raise FingerprintError("only a MySQL/MariaDB registry database is fingerprinted (spec.mysql)")
    service = service_host(str(mysql.get("host", "")), namespace)
    if service is None or service[1] != namespace:
        raise FingerprintError(f"the registry database {mysql.get('host')} is not a Service of namespace {namespace}")
    return {**database_behind(context, namespace, service[0]), "database": mysql.get("database") or "model_registry"}


def measure(context: Context, fingerprint: Fingerprint) -> dict[str, Any]:
    subject = fingerprint.subject
    if subject.get("unreachable"):
        raise FingerprintError(str(subject["unreachable"]))
    namespace = str(subject["namespace"])
    pod = pod_for(context.api, namespace, subject["pod_labels"], f"registry database of {fingerprint.name}")
    rows = run_sql(context.api, namespace, pod, subject["container"], subject["engine"], QUERY, subject["database"])
    return {"models": assemble(rows)}


def assemble(rows: list[list[str]]) -> dict[str, Any]:
    """{model: {properties, versions: {version: {properties, artifacts: {name: {uri, state, type}}}}}}"""
    properties: dict[str, dict[str, str]] = {}
    artifacts: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row[0] == "P":
            properties.setdefault(row[1], {})[row[2]] = row[3]
        elif row[0] == "A":
            artifacts.setdefault(row[1], {})[strip_id_prefix(row[2])] = {"uri": row[3], "state": row[4], "type": row[5]}
    models = {row[1]: {"name": row[2], "properties": properties.get(row[1], {}), "versions": {}} for row in rows if row[0] == "M"}
    for row in rows:
        if row[0] != "V":
            continue
        version = {"properties": properties.get(row[1], {}), "artifacts": artifacts.get(row[1], {})}
        # A version without its registered model is itself a finding: keep it visible.
        orphans = {"name": "(no registered model)", "properties": {}, "versions": {}}
        parent = models.get(row[3]) or models.setdefault("orphans", orphans)
        parent["versions"][properties.get(row[1], {}).get("version") or strip_id_prefix(row[2])] = version
    return {model.pop("name"): model for model in models.values()}
