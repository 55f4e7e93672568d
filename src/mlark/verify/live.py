"""Verifying live namespaces against a restore point: the fingerprints recorded at backup time,
measured again now (in the original namespaces, or where a restore put them), and compared.

The same comparison a drill makes after its restore; here nothing is restored or torn down,
so it can check a restore made by hand, or whether the running application has drifted from
its last restore point.
"""

from __future__ import annotations

import fnmatch
import time
from collections.abc import Callable, Collection
from datetime import datetime
from typing import Any

from kubernetes.client import ApiClient
from pydantic import BaseModel

from mlark.kube.apply import get
from mlark.repo import Repository
from mlark.repo.errors import UsageError
from mlark.restorepoint.models import RestorePoint
from mlark.restorepoint.store import load_manifest, read_objects, resolve
from mlark.verify.compare import verify
from mlark.verify.consistency import check_consistency
from mlark.verify.models import CheckResult, Fingerprint
from mlark.verify.take import take_fingerprints

Obj = dict[str, Any]
Progress = Callable[[str], None]


class VerifyReport(BaseModel):
    """The outcome of one `mlark verify`: every check, and whether all of them passed."""

    restore_point: str
    plan: str
    created: datetime
    namespaces: dict[str, str]  # namespace in the restore point -> namespace checked
    fingerprints: int  # how many the backup recorded (the consistency checks come on top)
    skipped: list[str] = []  # checks left out on purpose (--skip): e.g. what a restore excluded
    passed: bool
    checks: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if check.failed]


def recorded_fingerprints(manifest: RestorePoint) -> list[Fingerprint]:
    """The fingerprints a backup took (the reference every check compares against)."""
    return [Fingerprint.model_validate(item) for item in manifest.fingerprints.get("taken", [])]


def check_against(api: ApiClient, objects: list[Obj], manifest: RestorePoint, expected: list[Fingerprint],
                  mapping: dict[str, str], left_out: Collection[tuple[str, str]] = ()) -> list[CheckResult]:
    """Measure `expected` again where `mapping` puts their namespaces, compare, and check that
    the layers still point at each other (model locations, Secrets, databases). `left_out`:
    workloads a restore did not bring back (named by the databases check, not asked)."""
    actual = take_fingerprints(api, objects, manifest, None, mapping, targets=expected)
    return verify(expected, actual) + check_consistency(api, objects, manifest, mapping, actual, left_out)


def namespace_mapping(manifest: RestorePoint, given: dict[str, str]) -> dict[str, str]:
    """Every namespace of the restore point to the one to check (itself unless mapped)."""
    unknown = sorted(set(given) - set(manifest.namespaces))
    if unknown:
        raise UsageError(f"--namespace-mapping names {', '.join(unknown)}, not in the restore point; "
                         f"its namespaces: {', '.join(manifest.namespaces)}")
    return {namespace: given.get(namespace, namespace) for namespace in manifest.namespaces}


def missing_namespaces(api: ApiClient, mapping: dict[str, str]) -> list[CheckResult]:
    """One failing check per namespace that is not on the cluster: the likely cause of every
    other failure, named first (a wrong context, or a restore under another name)."""
    return [CheckResult(name=f"namespace {target}", kind="namespace", passed=False,
                        message=f"namespace {target} does not exist on the cluster"
                                + (f" (restored from {source})" if source != target else
                                   "; if it was restored under another name, give --namespace-mapping"))
            for source, target in mapping.items() if get(api, "v1", "Namespace", target) is None]


def verify_live(api: ApiClient, repo: Repository, reference: str, given_mapping: dict[str, str], *,
                plan: str | None = None, wait_seconds: float = 0.0, skip: list[str] | None = None,
                progress: Progress = lambda message: None) -> VerifyReport:
    """Compare the live namespaces with restore point `reference`. With wait_seconds, failing
    checks are measured again until they pass or the time is up (a predictor still starting
    after a restore is not yet a failure)."""
    snapshot_id, _ = resolve(repo, reference, plan)
    manifest = load_manifest(repo, snapshot_id)
    mapping = namespace_mapping(manifest, given_mapping)
    progress(f"reading restore point {snapshot_id[:12]}")
    objects = list(read_objects(repo, snapshot_id, manifest))
    recorded = recorded_fingerprints(manifest)
    expected = [f for f in recorded if not _skipped(f.name, skip or [])]
    deadline = time.monotonic() + wait_seconds
    while True:
        progress(f"measuring {len(expected)} fingerprints in {', '.join(sorted(set(mapping.values())))}")
        measured = missing_namespaces(api, mapping) + check_against(api, objects, manifest, expected, mapping)
        checks = [check for check in measured if not _skipped(check.name, skip or [])]
        if not any(check.failed for check in checks) or time.monotonic() >= deadline:
            break
        progress(f"{sum(check.failed for check in checks)} checks fail; measuring again until they pass "
                 f"({deadline - time.monotonic():.0f} s left)")
        time.sleep(min(3.0, max(0.0, deadline - time.monotonic())))
    return VerifyReport(restore_point=snapshot_id, plan=manifest.plan, created=manifest.created, namespaces=mapping,
                        fingerprints=len(recorded),
                        skipped=[f.name for f in recorded if f not in expected] + [c.name for c in measured if c not in checks],
                        passed=not any(check.failed for check in checks), checks=checks)


def _skipped(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
