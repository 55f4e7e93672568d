"""Fixtures: one real backup of the seed scenario (objects + manifest), the verification section
of the example plan, and fingerprints taken from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from mlark.backup.run import create_backup
from mlark.plan.loader import load_plan
from mlark.plan.models import Plan
from mlark.repo import Repository
from mlark.repo.backend.local import LocalBackend
from mlark.repo.crypto import KdfParams
from mlark.restorepoint.models import RestorePoint
from mlark.restorepoint.store import read_objects
from mlark.verify.models import Fingerprint
from mlark.verify.take import take_fingerprints

EXAMPLE_PLAN = Path(__file__).resolve().parents[2] / "examples" / "plans" / "rhoai-demo.yaml"
PASSWORD = "verify-tests"


class Captured:
    """What a backup of the scenario recorded: the objects, the manifest, the plan."""

    def __init__(self, plan: Plan, objects: list[dict[str, Any]], manifest: RestorePoint) -> None:
        self.plan, self.objects, self.manifest = plan, objects, manifest

    @property
    def verification(self) -> dict[str, Any] | None:
        return self.plan.spec.verification

    def take(self, api: ApiClient, targets: list[Fingerprint] | None = None,
             namespace_map: dict[str, str] | None = None) -> list[Fingerprint]:
        return take_fingerprints(api, self.objects, self.manifest, self.verification, namespace_map, targets)


@pytest.fixture(scope="session")
def captured(kube_primary: ApiClient, scenario: Any, tmp_path_factory: pytest.TempPathFactory) -> Captured:
    plan = load_plan(EXAMPLE_PLAN)
    repo = Repository.init(LocalBackend(tmp_path_factory.mktemp("verify-repo")), PASSWORD,
                           kdf=KdfParams(time_cost=1, memory_kib=1024, parallelism=1))
    result = create_backup(kube_primary, plan, repo)
    objects = list(read_objects(repo, result.snapshot_id, result.restore_point))
    return Captured(plan, objects, result.restore_point)


@pytest.fixture(scope="session")
def baseline(kube_primary: ApiClient, captured: Captured) -> list[Fingerprint]:
    """Fingerprints of the scenario as deployed."""
    return captured.take(kube_primary)
