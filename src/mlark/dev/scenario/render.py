"""Turn the scenario's YAML templates into Kubernetes objects (pure: no cluster, no S3).

Templates carry `${name}` placeholders, always inside double-quoted YAML strings (or, for the
few booleans, bare), so each value is escaped as a JSON string body, which YAML's
double-quoted style accepts as is.
"""

from __future__ import annotations

import json
import string
from datetime import datetime, timedelta, timezone
from importlib import resources
from typing import Any
from urllib.parse import urlparse

import yaml

from mlark.dev.scenario.spec import IRIS_PATH, Facts, bucket_name, stable_id, workflow_name
from mlark.dev.services.s3 import S3Endpoint

Obj = dict[str, Any]


def _package_files(folder: str) -> list[Any]:
    root = resources.files("mlark.dev.scenario").joinpath(folder)
    return sorted((entry for entry in root.iterdir() if entry.name.endswith(".yaml")), key=lambda entry: entry.name)


def load_crds() -> list[Obj]:
    return [yaml.safe_load(entry.read_text()) for entry in _package_files("crds")]


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_context(s3: S3Endpoint, facts: Facts) -> dict[str, str]:
    """Every placeholder value, derived from the S3 endpoint and what the cluster told us."""
    endpoint = urlparse(s3.endpoint)
    secure = endpoint.scheme == "https"
    bucket = bucket_name(facts.cluster_id)
    start = facts.created_at
    return {
        "bucket": bucket,
        "model_uri": f"s3://{bucket}/{IRIS_PATH}",
        "s3_endpoint": s3.endpoint,
        "s3_host": endpoint.netloc,
        "s3_hostname": endpoint.hostname or "",
        "s3_port": str(endpoint.port or (443 if secure else 80)),
        "s3_scheme": endpoint.scheme,
        "s3_secure": "true" if secure else "false",
        "s3_use_https": "1" if secure else "0",
        "s3_region": s3.region,
        "s3_access_key": s3.access_key,
        "s3_secret_key": s3.secret_key,
        "dspa_db_password": facts.passwords.dspa_db,
        "registry_db_password": facts.passwords.registry_db,
        "registry_db_root_password": facts.passwords.registry_db_root,
        "catalog_db_password": facts.passwords.catalog_db,
        "created_at": rfc3339(start),
        # The pipeline ran a few minutes after the project was created (seed step 3).
        "run_created_at": rfc3339(start + timedelta(minutes=5)),
        "run_started_at": rfc3339(start + timedelta(minutes=5, seconds=3)),
        "run_trained_at": rfc3339(start + timedelta(minutes=7, seconds=41)),
        "run_finished_at": rfc3339(start + timedelta(minutes=9, seconds=2)),
        "workflow_name": workflow_name(),
        "run_id": stable_id("run/iris-run-1"),
        "pipeline_id": stable_id("pipeline/iris-classifier-training"),
        "pipeline_version_id": stable_id("pipeline-version/iris-classifier-training/v1"),
        "experiment_id": stable_id("experiment/Default"),
    }


def _escape(value: str) -> str:
    return json.dumps(value)[1:-1]


def render_text(text: str, context: dict[str, str]) -> list[Obj]:
    """Substitute placeholders (a missing one is an error) and parse the YAML documents."""
    escaped = {key: _escape(value) for key, value in context.items()}
    filled = string.Template(text).substitute(escaped)
    return [document for document in yaml.safe_load_all(filled) if document]


def render_objects(context: dict[str, str]) -> list[Obj]:
    """All scenario objects in apply order: owners before what they own, data before users."""
    objects: list[Obj] = []
    for entry in _package_files("templates"):
        objects.extend(render_text(entry.read_text(), context))
    return objects


def status_subresource_kinds(crds: list[Obj]) -> set[str]:
    """Kinds whose status is written through /status (the rest carry status in the object)."""
    return {
        crd["spec"]["names"]["kind"]
        for crd in crds
        if any("status" in (version.get("subresources") or {}) for version in crd["spec"]["versions"])
    }


def split_status(obj: Obj) -> tuple[Obj, Obj | None]:
    body = {key: value for key, value in obj.items() if key != "status"}
    return body, obj.get("status")


def owner_key(api_version: str, kind: str, namespace: str | None, name: str) -> str:
    return f"{api_version}/{kind}/{namespace or ''}/{name}"


def with_owner_uids(obj: Obj, uids: dict[str, str]) -> Obj:
    """Fill the uid of each ownerReference from objects applied earlier (same namespace)."""
    refs = obj["metadata"].get("ownerReferences")
    if not refs:
        return obj
    namespace = obj["metadata"].get("namespace")
    filled = []
    for ref in refs:
        key = owner_key(ref["apiVersion"], ref["kind"], namespace, ref["name"])
        if key not in uids:
            raise ValueError(f"{obj['kind']}/{obj['metadata']['name']}: owner {ref['kind']}/{ref['name']} is not applied before it")
        filled.append({**ref, "uid": uids[key]})
    return {**obj, "metadata": {**obj["metadata"], "ownerReferences": filled}}
