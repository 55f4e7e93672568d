"""Taking fingerprints: at backup time (decide what to fingerprint, then measure it) or after a
restore (measure the same subjects again, in their mapped namespaces).

Nothing here raises for one fingerprint that cannot be taken: its data records the error, so
the comparison fails with the cause and every other fingerprint is still taken.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubernetes.client import ApiClient

from mlark.restorepoint.models import RestorePoint
from mlark.verify.fingerprints import artifacts, database, files, inference, pipelines, registry
from mlark.verify.fingerprints.common import Context
from mlark.verify.models import ERROR_KEY, Fingerprint, Kind
from mlark.verify.spec import parse_verification

Obj = dict[str, Any]
Targets = Callable[[Context], list[Fingerprint]]
Measure = Callable[[Context, Fingerprint], dict[str, Any]]
PLUGINS: dict[Kind, tuple[Targets, Measure]] = {
    "inference": (inference.targets, inference.measure),
    "files": (files.targets, files.measure),
    "database": (database.targets, database.measure),
    "model-registry": (registry.targets, registry.measure),
    "pipelines": (pipelines.targets, pipelines.measure),
    "artifacts": (artifacts.targets, artifacts.measure),
}


def take_fingerprints(api: ApiClient, objects: list[Obj], manifest: RestorePoint, verification: dict[str, Any] | None,
                      namespace_map: dict[str, str] | None = None,
                      targets: list[Fingerprint] | None = None) -> list[Fingerprint]:
    """Fingerprints of what `objects`/`manifest` hold (targets None), or of `targets` again,
    relocated by namespace_map. Every returned fingerprint has data (or data["error"])."""
    spec = parse_verification(verification)
    context = Context(api=api, objects=objects, manifest=manifest, spec=spec)
    if targets is None:
        subjects = [fingerprint for kind in spec.kinds for fingerprint in _targets(kind, context)]
    else:
        # A target without a subject only carried an error: it stays as it was.
        subjects = [relocate(fingerprint, namespace_map or {}) if fingerprint.subject else fingerprint
                    for fingerprint in targets]
    return [_measured(context, fingerprint) for fingerprint in subjects]


def _targets(kind: Kind, context: Context) -> list[Fingerprint]:
    try:
        return PLUGINS[kind][0](context)
    except Exception as error:  # a bad verification section or an odd object: one failing check
        return [Fingerprint(name=f"{kind} (choosing what to check)", kind=kind, namespace=None, subject={},
                            data={ERROR_KEY: f"{type(error).__name__}: {error}"})]


def _measured(context: Context, fingerprint: Fingerprint) -> Fingerprint:
    if fingerprint.error is not None and not fingerprint.subject:
        return fingerprint  # nothing to measure: the error is the answer
    try:
        data = PLUGINS[fingerprint.kind][1](context, fingerprint)
    except Exception as error:  # pod not running, exec failed, object missing: recorded, not raised
        data = {ERROR_KEY: str(error) or type(error).__name__}
    return fingerprint.model_copy(update={"data": data})


def relocate(fingerprint: Fingerprint, namespace_map: dict[str, str]) -> Fingerprint:
    """The same subject in its mapped namespace; the name stays, so results match by name."""
    if fingerprint.namespace is None or fingerprint.namespace not in namespace_map:
        return fingerprint.model_copy(update={"data": {}})
    target = namespace_map[fingerprint.namespace]
    subject = {**fingerprint.subject}
    if "namespace" in subject:
        subject["namespace"] = target
    if isinstance(subject.get("workload"), dict):
        subject["workload"] = {**subject["workload"], "namespace": target}
    return fingerprint.model_copy(update={"namespace": target, "subject": subject, "data": {}})
