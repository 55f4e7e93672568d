"""Drill records and filled audit logs in temporary directories: no cluster, no network."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mlark.audit import (AuditLog, CheckResult, DrillOutcome, DrillRecord, DrillTarget, Objectives, PhaseSeconds,
                         RestoreCounts, RestorePointRef, Teardown)

START = datetime(2025, 3, 3, 14, 0, tzinfo=timezone.utc)


def drill_record(number: int = 1, passed: bool = True) -> DrillRecord:
    checks = [CheckResult(name="iris golden request", kind="inference", passed=passed,
                          message="" if passed else "prediction differs",
                          diff=[] if passed else ["- [0, 1]", "+ [0, 2]"]),
              CheckResult(name="registry models", kind="model-registry", passed=True)]
    return DrillRecord(
        id=f"drill-{number:03d}", plan="rhoai-demo", started=START + timedelta(days=number),
        finished=START + timedelta(days=number, minutes=2),
        restore_point=RestorePointRef(id=f"rp{number:03d}abcdef", created=START + timedelta(days=number, hours=-3)),
        target=DrillTarget(context="recovery", namespaces={"fraud-detection": "drill-fraud-detection"}),
        outcome=DrillOutcome.passed if passed else DrillOutcome.failed,
        causes=[] if passed else ["check 'iris golden request' failed: prediction differs"],
        rto_seconds=41.5 if passed else None,
        phases=PhaseSeconds(objects=6.1, volume_data=9.4, databases=3.2, readiness=18.0, verification=4.8),
        rpo_seconds=3 * 3600, objectives=Objectives(rpo_seconds=24 * 3600, rto_seconds=300),
        checks=checks, restore=RestoreCounts(created=57, skipped=3), teardown=Teardown(done=True, seconds=7.5))


@pytest.fixture
def log(tmp_path: Path) -> AuditLog:
    """A log of five drills; the third failed."""
    audit = AuditLog(tmp_path / "audit")
    for number in range(1, 6):
        audit.append("drill", drill_record(number, passed=number != 3))
    return audit
