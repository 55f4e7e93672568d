"""Drill records: UTC times, objectives met or missed, and the Markdown report's content."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from mlark.audit import DrillRecord, Objectives
from mlark.audit.models import objective_met
from mlark.audit.report import drill_markdown, seconds
from tests.audit.conftest import drill_record


def test_times_are_utc_and_must_be_aware() -> None:
    record = drill_record().model_dump()
    record["started"] = datetime(2025, 3, 4, 15, 0, tzinfo=timezone(timedelta(hours=1)))
    assert DrillRecord.model_validate(record).started == datetime(2025, 3, 4, 14, 0, tzinfo=timezone.utc)
    assert DrillRecord.model_validate(record).started.tzinfo == timezone.utc
    record["started"] = datetime(2025, 3, 4, 15, 0)
    with pytest.raises(ValidationError):
        DrillRecord.model_validate(record)


def test_objectives() -> None:
    assert objective_met(None, 10) is None
    assert objective_met(300, 299.9) is True and objective_met(300, 300) is True and objective_met(300, 301) is False
    assert objective_met(300, None) is False  # the checks never all passed: no RTO, objective missed
    record = drill_record().model_copy(update={"objectives": Objectives(rto_seconds=30)})
    assert (record.rto_met, record.rpo_met) == (False, None)
    dumped = drill_record().model_dump(mode="json")
    assert dumped["rto_met"] is True and dumped["rpo_met"] is True
    assert DrillRecord.model_validate(dumped) == drill_record()  # the derived fields do not get in the way


def test_report_of_a_failed_drill() -> None:
    text = "\n".join(drill_markdown(drill_record(3, passed=False)))
    assert text.startswith("# Recovery drill drill-003: FAILED")
    assert "check 'iris golden request' failed: prediction differs" in text
    assert "| RTO | — | 5 min 0 s | MISSED |" in text and "| RPO | 3 h 0 min | 24 h 0 min | met |" in text
    assert "| waiting for readiness | 18.0 |" in text
    assert "```diff\n- [0, 1]\n+ [0, 2]\n```" in text
    assert "fraud-detection → drill-fraud-detection" in text and "57 created" in text
    assert "done in 7.5 s" in text


def test_seconds() -> None:
    assert [seconds(v) for v in (None, 41.46, 125, 7200 + 65)] == ["—", "41.5 s", "2 min 5 s", "2 h 1 min"]
