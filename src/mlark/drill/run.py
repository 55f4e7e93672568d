"""One drill, end to end, against a target cluster (a sandbox beside the source, or another cluster)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from kubernetes.client import ApiClient
from pydantic import BaseModel

from mlark.audit import AuditLog, CheckResult, DrillOutcome, DrillRecord, DrillTarget
from mlark.audit.models import Objectives, RestoreCounts, RestorePointRef, Teardown
from mlark.drill.timing import restore_phases
from mlark.kube.apply import delete, get, wait_for
from mlark.plan.models import Plan
from mlark.repo import Repository
from mlark.restore.options import RestoreOptions
from mlark.restore.run import execute, prepare
from mlark.restore.summary import Outcome
from mlark.restorepoint.store import load_manifest, resolve
from mlark.verify.compare import verify
from mlark.verify.live import check_against, recorded_fingerprints
from mlark.verify.models import Fingerprint
from mlark.verify.take import take_fingerprints

Progress = Callable[[str], None]


class DrillRefused(RuntimeError):
    """The drill would touch something that is not its own sandbox; nothing was changed."""


class DrillSettings(BaseModel):
    reference: str = "latest"
    sandbox_suffix: str = "-drill"  # "" keeps the names: for a dedicated drill cluster
    restore: RestoreOptions  # exclusions, storage-class mapping ...; namespace mapping is set here
    without_operators: bool = False
    readiness_timeout: float = 300.0
    keep: bool = False  # leave the sandbox for inspection instead of tearing it down
    context: str = ""


def run_drill(api: ApiClient, repo: Repository, plan: Plan, settings: DrillSettings, log: AuditLog,
              progress: Progress = lambda message: None) -> tuple[DrillRecord, str]:
    """Run the drill; return its record and the hash of the audit entry that holds it."""
    started = datetime.now(timezone.utc)
    snapshot_id, _ = resolve(repo, settings.reference, plan.name)
    manifest = load_manifest(repo, snapshot_id)
    mapping = {namespace: namespace + settings.sandbox_suffix for namespace in manifest.namespaces}
    _refuse_existing(api, mapping)
    options = settings.restore.model_copy(update={"namespace_mapping": mapping, "restore_point": snapshot_id})
    clock = time.monotonic()
    progress(f"restoring {snapshot_id[:12]} into {', '.join(mapping.values())}")
    prepared, objects = prepare(api, repo, snapshot_id, options, reconciled=[] if settings.without_operators else None)
    result = execute(api, repo, prepared, objects, target=settings.context, progress=progress)
    restored_at = time.monotonic()
    expected = _restored_only(recorded_fingerprints(manifest), prepared.plan.skipped)
    progress("waiting until the application is inference-ready")
    ready_at = _wait_inference_ready(api, objects, manifest, expected, mapping, settings.readiness_timeout)
    progress("verifying every fingerprint")
    checks = _checks(api, objects, manifest, expected, mapping, _left_out(prepared.plan.skipped))
    verified_at = time.monotonic()
    failures = _causes(result, checks)
    teardown = None if settings.keep else _teardown(api, mapping, progress)
    record = DrillRecord(
        id=f"{plan.name}-{started:%Y%m%dT%H%M%SZ}", plan=plan.name, started=started, finished=datetime.now(timezone.utc),
        restore_point=RestorePointRef(id=snapshot_id, created=manifest.created),
        target=DrillTarget(context=settings.context, cluster=str(api.configuration.host), namespaces=mapping),
        outcome=DrillOutcome.failed if failures else DrillOutcome.passed, causes=failures,
        rto_seconds=None if failures else round(verified_at - clock, 3),
        phases=restore_phases(result, ready_at - restored_at, verified_at - ready_at),
        rpo_seconds=round((started - manifest.created).total_seconds(), 3), objectives=_objectives(plan), checks=checks,
        restore=_counts(result), teardown=teardown,
    )
    entry = log.append("drill", record)
    return record, entry.hash


def _left_out(skipped: list[Any]) -> set[tuple[str, str]]:
    """(namespace, name) of the workloads and volumes this drill does not restore."""
    return {(item.ref.namespace, item.ref.name) for item in skipped
            if item.ref.kind in ("Deployment", "StatefulSet", "PersistentVolumeClaim")}


def _restored_only(fingerprints: list[Fingerprint], skipped: list[Any]) -> list[Fingerprint]:
    """Fingerprints of what this drill restores: an excluded database or volume is not checked."""
    left_out = _left_out(skipped)

    def subject_names(fingerprint: Fingerprint) -> set[tuple[str | None, str]]:
        subject = fingerprint.subject
        names = {(fingerprint.namespace, str(subject.get(key))) for key in ("claim", "name") if subject.get(key)}
        workload = subject.get("workload")
        if isinstance(workload, dict) and workload.get("name"):
            names.add((fingerprint.namespace, str(workload["name"])))
        return names

    return [f for f in fingerprints if f.kind not in ("database", "files") or not subject_names(f) & left_out]


def _refuse_existing(api: ApiClient, mapping: dict[str, str]) -> None:
    existing = [target for target in mapping.values() if get(api, "v1", "Namespace", target) is not None]
    if existing:
        raise DrillRefused(f"sandbox namespace(s) {', '.join(existing)} already exist on the target; a drill restores "
                           "into fresh namespaces only and tears them down afterwards (choose another --sandbox-suffix)")


def _wait_inference_ready(api: ApiClient, objects: list[dict[str, Any]], manifest: Any, expected: list[Fingerprint],
                          mapping: dict[str, str], timeout: float) -> float:
    """The moment every golden request answers as it did at backup time (or the timeout)."""
    golden = [fingerprint for fingerprint in expected if fingerprint.kind == "inference"]
    deadline = time.monotonic() + timeout
    while golden and time.monotonic() < deadline:
        actual = take_fingerprints(api, objects, manifest, None, mapping, targets=golden)
        if all(check.passed for check in verify(golden, actual)):
            break
        time.sleep(2)
    return time.monotonic()


def _checks(api: ApiClient, objects: list[dict[str, Any]], manifest: Any, expected: list[Fingerprint],
            mapping: dict[str, str], left_out: set[tuple[str, str]]) -> list[CheckResult]:
    results = check_against(api, objects, manifest, expected, mapping, left_out)
    return [CheckResult.model_validate(result.model_dump()) for result in results]


def _causes(result: Any, checks: list[CheckResult]) -> list[str]:
    causes = [f"restore: {getattr(f, 'ref', None) or getattr(f, 'subject', '')}: {f.reason}" for f in result.failures()]
    causes += [f"{check.kind} {check.name}: {check.message}" for check in checks if check.passed is False]
    return causes


def _counts(result: Any) -> RestoreCounts:
    counts = result.counts()
    return RestoreCounts(**{outcome.value: counts.get(outcome.value, 0) for outcome in Outcome})


def _objectives(plan: Plan) -> Objectives:
    objectives = plan.spec.objectives
    return Objectives(
        rpo_seconds=objectives.rpo.total_seconds() if objectives and objectives.rpo else None,
        rto_seconds=objectives.rto.total_seconds() if objectives and objectives.rto else None,
    )


def _teardown(api: ApiClient, mapping: dict[str, str], progress: Progress) -> Teardown:
    started = time.monotonic()
    progress(f"tearing down {', '.join(mapping.values())}")
    for namespace in mapping.values():
        delete(api, "v1", "Namespace", namespace)
    leftovers = []
    for namespace in mapping.values():
        try:
            wait_for(api, "v1", "Namespace", namespace, None, lambda obj: obj is None, timeout=180)
        except Exception:  # reported in the record, not raised: the drill's verdict stands
            leftovers.append(namespace)
    message = f"leftovers: {', '.join(leftovers)}" if leftovers else "sandbox namespaces deleted"
    return Teardown(done=not leftovers, message=message, seconds=round(time.monotonic() - started, 3), leftovers=leftovers)
