"""One restore: resolve the restore point, plan against the target's facts, preflight, execute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from kubernetes.client import ApiClient
from pydantic import BaseModel

from mlark.repo import Repository
from mlark.restore.artifacts import ArtifactStores
from mlark.restore.executor import Executor
from mlark.restore.facts import ClusterFacts
from mlark.restore.options import RestoreOptions
from mlark.restore.planner import build_plan
from mlark.restore.preflight import Finding, blocking, preflight
from mlark.restore.steps import RestorePlan
from mlark.restore.summary import RestoreResult
from mlark.restore.target import gather_facts
from mlark.restorepoint.store import load_manifest, read_objects, resolve

Progress = Callable[[str], None]


class PreflightBlocked(RuntimeError):
    """The target lacks what the restore needs; nothing was changed on it."""

    def __init__(self, findings: list[Finding]) -> None:
        self.findings = findings
        lines = "\n  ".join(f"{finding.code}: {finding.message}" for finding in findings)
        super().__init__(f"preflight found {len(findings)} blocking problem(s) on the target; nothing was changed:\n  {lines}\n"
                         "(fix the target, map names with --namespace-mapping/--storage-class-mapping, or pass --force)")


class PreparedRestore(BaseModel):
    snapshot_id: str
    plan: RestorePlan
    facts: ClusterFacts
    findings: list[Finding]


def prepare(api: ApiClient, repo: Repository, reference: str, options: RestoreOptions,
            reconciled: list[str] | None = None) -> tuple[PreparedRestore, list[dict]]:
    """Plan and preflight a restore without changing anything (also the dry run)."""
    snapshot_id, _ = resolve(repo, reference)
    manifest = load_manifest(repo, snapshot_id)
    objects = list(read_objects(repo, snapshot_id, manifest))
    facts = gather_facts(api, reconciled)
    plan = build_plan(manifest, objects, options.model_copy(update={"restore_point": snapshot_id}), facts)
    findings = preflight(plan, facts, manifest.cluster.get("version"))
    return PreparedRestore(snapshot_id=snapshot_id, plan=plan, facts=facts, findings=findings), objects


def execute(api: ApiClient, repo: Repository, prepared: PreparedRestore, objects: list[dict], *, target: str = "",
            force: bool = False, progress: Progress = lambda message: None) -> RestoreResult:
    """Run a prepared restore; refuses (changing nothing) on blocking findings unless forced."""
    stop = blocking(prepared.findings)
    if stop and not force:
        raise PreflightBlocked(stop)
    result = RestoreResult(restore_point=prepared.snapshot_id, target=target, started=datetime.now(timezone.utc),
                           preflight=prepared.findings, planned_skips=prepared.plan.skipped)
    executor = Executor(api, repo, prepared.snapshot_id, ArtifactStores(objects), result, progress, prepared.facts.reconciles,
                        assigns_ranges=bool(prepared.facts.serves_kind("security.openshift.io", "SecurityContextConstraints")))
    return executor.run(prepared.plan)
