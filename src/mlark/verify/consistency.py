"""Cross-layer consistency: do the layers of the application still point at each other?

- every model file location (InferenceService storage paths, model-registry artifact URIs)
  resolves to at least one existing S3 object;
- every Secret a workload or ML object references (the restore point's edges) exists;
- every database of the restore point (dumped, or named by a model registry or pipeline
  server) answers a query.

A check with nothing to look at is "not applicable", never a pass; a check that cannot look
(no credentials, a registry that does not answer) fails with the reason.
The caller decides the severity: warnings at backup time, failures after a restore.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from kubernetes.client import ApiClient

from mlark.apps.base import ArtifactLocation
from mlark.apps.buckets import BucketAccess, CredentialsUnavailable
from mlark.apps.databases import _login
from mlark.kube.apply import get
from mlark.kube.exec import exec_capture
from mlark.restorepoint.models import ObjectRef, RestorePoint
from mlark.verify.fingerprints import artifacts, database, pipelines, registry
from mlark.verify.fingerprints.common import SQL_TIMEOUT, Context, FingerprintError, pod_for, run_sql
from mlark.verify.models import CheckResult, Fingerprint
from mlark.verify.spec import parse_verification

Obj = dict[str, Any]


def check_consistency(api: ApiClient, objects: list[Obj], manifest: RestorePoint,
                      namespace_map: dict[str, str] | None = None,
                      fingerprints: list[Fingerprint] | None = None,
                      left_out: Collection[tuple[str, str]] = ()) -> list[CheckResult]:
    """Three checks: model locations, referenced Secrets, databases. `fingerprints` (already
    taken) give the registries' artifact URIs without querying them again. `left_out` are the
    (namespace, name) of workloads a restore did not bring back: their databases are not asked.
    A check with nothing to look at is "not applicable" (passed None), never a pass."""
    context = Context(api=api, objects=objects, manifest=manifest, spec=parse_verification(None))
    mapping = namespace_map or {}
    return [_model_locations(context, fingerprints or []), _secrets(context, mapping), _databases(context, mapping, left_out)]


def _result(name: str, problems: list[str], passed_message: str, checked: int, nothing: str) -> CheckResult:
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return CheckResult(name=name, kind="consistency", passed=False, message=problems[0] + more, diff=problems)
    if not checked:
        return CheckResult(name=name, kind="consistency", passed=None, message=f"not applicable: {nothing}")
    return CheckResult(name=name, kind="consistency", passed=True, message=passed_message)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _model_locations(context: Context, fingerprints: list[Fingerprint]) -> CheckResult:
    access = BucketAccess(context.objects)
    wanted: dict[str, tuple[str, ArtifactLocation | None]] = {}  # s3 uri -> (who points at it, how to open it)
    for location in artifacts.locations(context):
        owners = [ref for ref in access.locations.get(location, []) if ref.kind == "InferenceService"]
        wanted.setdefault(location.uri, (", ".join(f"InferenceService {r.namespace}/{r.name}" for r in owners), location))
    uris, problems = registry_uris(context, fingerprints)
    for uri, owner in uris.items():
        bucket = uri[len("s3://"):].partition("/")[0]
        wanted.setdefault(uri, (owner, access.find_bucket(bucket)))
    for uri, (owner, location) in sorted(wanted.items()):
        bucket, _, prefix = uri[len("s3://"):].partition("/")
        if location is None:
            problems.append(f"{uri} ({owner}): not checked, no captured object gives credentials for bucket {bucket}")
            continue
        try:
            found = artifacts.list_objects(access.client(location), bucket, prefix)
        except CredentialsUnavailable as error:
            problems.append(f"{uri} ({owner}): not checked, no credentials: {error}")
            continue
        except Exception as error:
            problems.append(f"{uri} ({owner}): {error}")
            continue
        if not found:
            problems.append(f"{uri} ({owner}): no object under this location")
    return _result("consistency model locations", problems, f"{_plural(len(wanted), 'model location')} hold objects",
                   len(wanted), "no InferenceService or registered model points at S3")


def registry_uris(context: Context, fingerprints: list[Fingerprint]) -> tuple[dict[str, str], list[str]]:
    """s3 URIs of the model-registry artifacts (from the given fingerprints, else queried now),
    and the registries whose URIs could not be read: an error is a problem, not "no URI"."""
    given = {f.name: f for f in fingerprints if f.kind == "model-registry"}
    uris: dict[str, str] = {}
    problems: list[str] = []
    for target in registry.targets(context):
        fingerprint = given.get(target.name)
        if fingerprint is None:
            try:
                fingerprint = target.model_copy(update={"data": dict(registry.measure(context, target))})
            except Exception as error:
                problems.append(f"{target.name}: its artifact URIs cannot be read: {error}")
                continue
        if fingerprint.error is not None:
            problems.append(f"{target.name}: its artifact URIs cannot be read: {fingerprint.error}")
            continue
        for model, entry in (fingerprint.data.get("models") or {}).items():
            for version, details in (entry.get("versions") or {}).items():
                for artifact in (details.get("artifacts") or {}).values():
                    if str(artifact.get("uri", "")).startswith("s3://"):
                        uris.setdefault(artifact["uri"], f"{fingerprint.name}: {model} {version}")
    return uris, problems


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
    return _result("consistency secrets", problems, f"{_plural(len(seen), 'referenced Secret')} exist{'s' if len(seen) == 1 else ''}", len(seen),
                   "no object references a Secret")


def _databases(context: Context, mapping: dict[str, str], left_out: Collection[tuple[str, str]]) -> CheckResult:
    """Every database of the restore point answers: the dumped ones (auto-detected or declared)
    and those a model registry or pipeline server names, logged in as the dumps are."""
    from mlark.verify.take import relocate

    asked: dict[tuple[str, str, str], str] = {}  # (namespace, pod selector, container) -> name
    problems, external, not_restored = [], [], []
    for fingerprint in database.targets(context) + registry.targets(context) + pipelines.targets(context):
        workload = fingerprint.subject.get("workload") or {}
        if (fingerprint.namespace, workload.get("name")) in set(left_out):
            not_restored.append(fingerprint.name)  # the restore left it out: nothing to ask
            continue
        subject = relocate(fingerprint, mapping).subject
        if subject.get("unreachable"):
            external.append(fingerprint.name)  # an external database: not reachable by exec, not checked here
            continue
        labels = ",".join(f"{k}={v}" for k, v in sorted((subject.get("pod_labels") or {}).items()))
        key = (str(subject["namespace"]), labels, str(subject["container"]))
        if key in asked:
            continue  # the registry's database is also a dumped one: asked once
        asked[key] = fingerprint.name
        try:
            _ask(context, subject)
        except Exception as error:
            problems.append(f"{fingerprint.name}: database does not answer: {error}")
    skipped = f"; {len(external)} external not asked ({', '.join(external)})" if external else ""
    skipped += f"; {len(not_restored)} left out of the restore ({', '.join(not_restored)})" if not_restored else ""
    return _result("consistency databases", problems, f"{_plural(len(asked), 'database')} answer{'s' if len(asked) == 1 else ''}"
                   + skipped, len(asked), "the restore point has no database" + skipped)


def _ask(context: Context, subject: dict[str, Any]) -> None:
    """One trivial query (SELECT 1, or PING for Redis) in the database's own container."""
    namespace, container, engine = str(subject["namespace"]), str(subject["container"]), subject["engine"]
    pod = pod_for(context.api, namespace, subject.get("pod_labels") or {}, f"container {container}")
    if engine == "redis":
        result = exec_capture(context.api, namespace, pod, container, ["sh", "-c", _login("redis", None) + "exec redis-cli PING"],
                              timeout=SQL_TIMEOUT)
        if result.returncode != 0 or "PONG" not in result.text:
            error = result.stderr.decode("utf-8", "replace").strip()[-400:] or result.text.strip() or result.message
            raise FingerprintError(f"PING in pod {namespace}/{pod} (container {container}) failed: {error}")
        return
    databases = list(subject.get("databases") or []) or ([subject["database"]] if subject.get("database") else [])
    # A PostgreSQL dumped whole names no database; psql would default to one named as the user.
    default = "postgres" if engine == "postgres" else None
    run_sql(context.api, namespace, pod, container, engine, "SELECT 1", databases[0] if databases else default)
