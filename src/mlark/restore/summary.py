"""The result of one restore, filled by the executor step by step and rendered by the CLI.

Per object: created / updated / skipped / failed with a reason; per volume, database dump,
artifact and re-own: the same with bytes; per phase: its duration. The total duration is the RTO
this restore achieved.
"""

from __future__ import annotations

import enum
from collections import Counter
from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from mlark.restore.preflight import Finding
from mlark.restore.steps import PhaseName, Skipped
from mlark.restorepoint.models import ObjectRef, Phase


class Outcome(str, enum.Enum):
    created = "created"
    updated = "updated"
    skipped = "skipped"
    failed = "failed"


class ObjectResult(BaseModel):
    ref: ObjectRef  # target
    source: ObjectRef
    outcome: Outcome
    reason: str = ""  # "exists (policy skip)", the API server's message on failure ...
    seconds: float = 0.0


class DataResult(BaseModel):
    type: Literal["volume", "database", "artifact", "reown", "wait", "link"]
    subject: str  # "ns/claim", "ns/workload db", "bucket/key"
    outcome: Outcome  # created = data restored
    reason: str = ""
    bytes: int = 0
    seconds: float = 0.0


class PhaseResult(BaseModel):
    name: PhaseName
    started: datetime
    finished: datetime | None = None
    failed: int = 0

    @property
    def seconds(self) -> float:
        return (self.finished - self.started).total_seconds() if self.finished else 0.0


class RestoreResult(BaseModel):
    restore_point: str
    target: str = ""  # the kubeconfig context restored into
    started: datetime
    finished: datetime | None = None
    phase: Phase = Phase.completed
    preflight: list[Finding] = []
    phases: list[PhaseResult] = []
    objects: list[ObjectResult] = []
    data: list[DataResult] = []
    planned_skips: list[Skipped] = []  # excluded, regenerated, out of scope: copied from the plan

    @property
    def rto_seconds(self) -> float:
        """Wall-clock time from the first step to the last: the recovery time of this restore."""
        return (self.finished - self.started).total_seconds() if self.finished else 0.0

    def counts(self) -> dict[str, int]:
        return dict(Counter(result.outcome.value for result in self.objects))

    def failures(self) -> list[ObjectResult | DataResult]:
        return [r for r in [*self.objects, *self.data] if r.outcome == Outcome.failed]

    def conclude(self, finished: datetime) -> None:
        """Set the end time and the overall phase from the per-item outcomes."""
        self.finished = finished
        failed = len(self.failures())
        done = sum(1 for r in [*self.objects, *self.data] if r.outcome != Outcome.failed)
        if failed == 0:
            self.phase = Phase.completed
        else:
            self.phase = Phase.partially_failed if done else Phase.failed
