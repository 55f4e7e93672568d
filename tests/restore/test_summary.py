"""The restore result: outcome counts, overall phase, RTO."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from mlark.restore.summary import DataResult, ObjectResult, Outcome, RestoreResult
from mlark.restorepoint.models import ObjectRef, Phase

START = datetime(2026, 1, 5, tzinfo=timezone.utc)
REF = ObjectRef(kind="Secret", namespace="n", name="s")


def test_conclude_sets_phase_and_rto() -> None:
    result = RestoreResult(restore_point="rp", started=START)
    result.objects.append(ObjectResult(ref=REF, source=REF, outcome=Outcome.created))
    result.objects.append(ObjectResult(ref=REF, source=REF, outcome=Outcome.skipped, reason="exists (policy skip)"))
    result.conclude(START + timedelta(minutes=4, seconds=30))
    assert result.phase == Phase.completed and result.rto_seconds == 270.0
    assert result.counts() == {"created": 1, "skipped": 1}
    result.data.append(DataResult(type="database", subject="n/db", outcome=Outcome.failed, reason="exit 1"))
    result.conclude(START + timedelta(minutes=5))
    assert result.phase == Phase.partially_failed and len(result.failures()) == 1
    assert RestoreResult.model_validate_json(result.model_dump_json()) == result
