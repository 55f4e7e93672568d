"""Cross-layer consistency: do the layers of the application still point at each other?

- every model file location (InferenceService storage paths, model-registry artifact URIs)
  resolves to at least one existing S3 object;
- every Secret a workload or ML object references (the restore point's edges) exists;
- every database a model registry or pipeline server needs answers a query.

The caller decides the severity: warnings at backup time, failures after a restore.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client import ApiClient

from mlark.kube.apply import get
from mlark.restore.artifacts import ArtifactStores
from mlark.restorepoint.models import ObjectRef, RestorePoint
from mlark.verify.fingerprints import artifacts, pipelines, registry
from mlark.verify.fingerprints.common import Context, pod_for, run_sql
from mlark.verify.models import CheckResult, Fingerprint
from mlark.verify.spec import parse_verification

Obj = dict[str, Any]


def check_consistency(api: ApiClient, objects: list[Obj], manifest: RestorePoint,
                      namespace_map: dict[str, str] | None = None,
                      fingerprints: list[Fingerprint] | None = None) -> list[CheckResult]:
    """Three checks: model locations, referenced Secrets, databases. `fingerprints` (already
    taken) give the registries' artifact URIs without querying them again."""
    context = Context(api=api, objects=objects, manifest=manifest, spec=parse_verification(None))
    mapping = namespace_map or {}
    return [_model_locations(context, fingerprints or []), _secrets(context, mapping), _databases(context, mapping)]


def _result(name: str, problems: list[str], passed_message: str) -> CheckResult:
    if not problems:
        return CheckResult(name=name, kind="consistency", passed=True, message=passed_message)
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return CheckResult(name=name, kind="consistency", passed=False, message=problems[0] + more, diff=problems)


def _model_locations(context: Context, fingerprints: list[Fingerprint]) -> CheckResult:
    stores = ArtifactStores(context.objects)
    wanted: dict[str, str] = {}  # s3 uri -> who points at it
    for location in artifacts.locations(context):
        wanted.setdefault(location.uri, "InferenceService storage path")
    for uri, owner in registry_uris(context, fingerprints).items():
        wanted.setdefault(uri, owner)
    problems = []
    for uri, owner in sorted(wanted.items()):
        bucket, _, prefix = uri[len("s3://"):].partition("/")
        endpoint = next((e for e, b in stores.locations if b == bucket), None)
        try:
            found = artifacts.list_objects(stores.client(endpoint, bucket), bucket, prefix)
        except Exception as error:
            problems.append(f"{uri} ({owner}): {error}")
            continue
        if not found:
            problems.append(f"{uri} ({owner}): no object under this location")
    return _result("consistency model locations", problems, f"{len(wanted)} model locations hold objects")


def registry_uris(context: Context, fingerprints: list[Fingerprint]) -> dict[str, str]:
    """s3 URIs of the model-registry artifacts: from the given fingerprints, else queried now."""
    taken = [f for f in fingerprints if f.kind == "model-registry" and f.error is None]
    if not taken:
        taken = [f.model_copy(update={"data": _try(registry.measure, context, f)}) for f in registry.targets(context)]
    uris: dict[str, str] = {}
    for fingerprint in taken:
        for model, entry in (fingerprint.data.get("models") or {}).items():
            for version, details in (entry.get("versions") or {}).items():
                for artifact in (details.get("artifacts") or {}).values():
                    if str(artifact.get("uri", "")).startswith("s3://"):
                        uris.setdefault(artifact["uri"], f"{fingerprint.name}: {model} {version}")
    return uris


def _try(measure: Any, context: Context, fingerprint: Fingerprint) -> dict[str, Any]:
    try:
        return dict(measure(context, fingerprint))
    except Exception:  # the registry's own check reports why; here its URIs are just unknown
        return {}


def _secrets(context: Context, mapping: dict[str, str]) -> CheckResult:
    """Each referenced Secret exists now (live), in its mapped namespace."""
    seen: dict[tuple[str, str], list[str]] = {}
    for edge in context.manifest.edges:
        target = edge.target
        if isinstance(target, ObjectRef) and target.kind == "Secret" and target.namespace:
            seen.setdefault((mapping.get(target.namespace, target.namespace), target.name), []).append(str(edge.source))
    problems = [f"Secret {namespace}/{name} is missing (referenced by {', '.join(sorted(set(sources))[:3])})"
                for (namespace, name), sources in sorted(seen.items())
                if get(context.api, "v1", "Secret", name, namespace) is None]
    return _result("consistency secrets", problems, f"{len(seen)} referenced Secrets exist")


def _databases(context: Context, mapping: dict[str, str]) -> CheckResult:
    """The registry and pipeline databases answer SELECT 1, logged in as the dumps are."""
    from mlark.verify.take import relocate

    problems, count = [], 0
    for fingerprint in registry.targets(context) + pipelines.targets(context):
        subject = relocate(fingerprint, mapping).subject
        if subject.get("unreachable"):
            continue  # external database: not reachable by exec, not checked here
        count += 1
        try:
            pod = pod_for(context.api, subject["namespace"], subject["pod_labels"], f"database of {fingerprint.name}")
            run_sql(context.api, subject["namespace"], pod, subject["container"], subject["engine"], "SELECT 1", subject["database"])
        except Exception as error:
            problems.append(f"{fingerprint.name}: database does not answer: {error}")
    return _result("consistency databases", problems, f"{count} databases answer")
