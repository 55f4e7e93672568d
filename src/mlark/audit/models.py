"""The records the audit trail keeps: a drill's result, and the hash-chained entry that wraps it.

`DrillRecord` is what the drill orchestration fills; `AuditEntry` is what lands on disk. The entry's
hash covers every other field (the payload included) in a canonical JSON form, and names the hash of
the entry before it: editing, deleting or reordering a record breaks the chain.
"""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import datetime, timezone
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, computed_field


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(timezone.utc)


# Times are always timezone-aware and stored in UTC: records written on machines in different zones
# compare and sort correctly, and an auditor reads one clock.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_to_utc)]


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


class DrillOutcome(str, enum.Enum):
    passed = "passed"
    failed = "failed"


class CheckResult(BaseModel):
    """One verification check after the restore (a fingerprint compared, a cross-layer link resolved)."""

    name: str  # "iris golden request 1", "registry models"
    kind: str  # "inference", "model-registry", "pipelines", "files", "database", "artifacts", "consistency"
    passed: bool | None  # None: not applicable (nothing to check), neither a pass nor a failure
    message: str = ""
    diff: list[str] = []  # readable diff lines on failure: "- expected", "+ got"


class PhaseSeconds(BaseModel):
    """Where the RTO went, per restore phase (seconds)."""

    objects: float = 0.0
    volume_data: float = 0.0
    databases: float = 0.0
    readiness: float = 0.0  # waiting until the application is inference-ready
    verification: float = 0.0


class RestorePointRef(BaseModel):
    id: str
    created: UtcDatetime  # the consistency point the RPO is measured from


class DrillTarget(BaseModel):
    """Where the sandbox was: the kubeconfig context (cluster) and the namespaces restored into."""

    context: str = ""
    cluster: str = ""  # a human name for the cluster when the context name says little
    namespaces: dict[str, str] = {}  # source namespace -> sandbox namespace


class RestoreCounts(BaseModel):
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0


class Teardown(BaseModel):
    """Whether the sandbox was removed afterwards; a drill that leaves debris says so."""

    done: bool
    message: str = ""
    seconds: float = 0.0
    leftovers: list[str] = []  # namespaces or objects that could not be removed


class Objectives(BaseModel):
    """The plan's objectives in seconds; None when the plan sets none."""

    rpo_seconds: float | None = None
    rto_seconds: float | None = None


def objective_met(objective: float | None, measured: float | None) -> bool | None:
    """None when there is no objective; False when the measure is missing (the drill never got there)."""
    if objective is None:
        return None
    return measured is not None and measured <= objective


class DrillRecord(BaseModel):
    """The result of one recovery drill: restore into a sandbox, wait, verify, measure, tear down."""

    id: str
    plan: str
    started: UtcDatetime
    finished: UtcDatetime
    restore_point: RestorePointRef
    target: DrillTarget = DrillTarget()
    outcome: DrillOutcome
    causes: list[str] = []  # each names why the drill failed: "check 'iris golden request' failed: ..."
    # Start of the restore to all checks passing; None when the checks never all passed.
    rto_seconds: float | None = None
    phases: PhaseSeconds = PhaseSeconds()
    rpo_seconds: float  # age of the restore point at drill time
    objectives: Objectives = Objectives()
    checks: list[CheckResult] = []
    restore: RestoreCounts = RestoreCounts()
    teardown: Teardown | None = None  # None: not attempted (e.g. kept for inspection)

    # Derived, but dumped into the payload so the stored record states it plainly for an auditor.
    @computed_field  # type: ignore[prop-decorator]
    @property
    def rto_met(self) -> bool | None:
        return objective_met(self.objectives.rto_seconds, self.rto_seconds)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rpo_met(self) -> bool | None:
        return objective_met(self.objectives.rpo_seconds, self.rpo_seconds)

    def failed_checks(self) -> list[CheckResult]:
        return [check for check in self.checks if check.passed is False]


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same data always gives the same bytes (and hash)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def entry_hash(fields: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of every field of an entry except `hash` itself."""
    body = {key: value for key, value in fields.items() if key != "hash"}
    return hashlib.sha256(canonical_json(body)).hexdigest()


class AuditEntry(BaseModel):
    """One link of the chain, as stored in `NNNNNNNN-<hash[:12]>.json`."""

    model_config = ConfigDict(extra="forbid")  # an added field would be hashed by us but not by a reader

    sequence: int = Field(ge=1)
    previous_hash: str = ""  # "" for the first entry
    recorded_at: UtcDatetime
    type: str  # "drill"; later "backup", "restore"
    payload: dict[str, Any]
    # The digest of the report `<file stem>.md` beside the entry: an edited report no longer matches.
    report_sha256: str = ""
    hash: str = ""

    def computed_hash(self) -> str:
        return entry_hash(self.model_dump(mode="json"))

    @property
    def file_stem(self) -> str:
        return f"{self.sequence:08d}-{self.hash[:12]}"


class ProblemKind(str, enum.Enum):
    unreadable = "unreadable"  # not JSON, or not an audit entry
    edited = "edited"  # the content no longer matches its hash
    renamed = "renamed"  # the file name disagrees with the sequence or hash inside
    deleted = "deleted"  # a gap in the sequence
    inserted = "inserted"  # two entries claim one sequence number
    broken_link = "broken-link"  # previous_hash does not name the entry before (reordered, replaced, re-hashed)
    tail_deleted = "tail-deleted"  # HEAD names more entries than are present
    head_mismatch = "head-mismatch"  # HEAD names another hash for its entry
    head_missing = "head-missing"
    expected_head_missing = "expected-head-missing"  # the externally kept head hash is not in the log
    report_edited = "report-edited"
    report_missing = "report-missing"
    missing_directory = "missing-directory"


class Problem(BaseModel):
    kind: ProblemKind
    message: str  # names the entry and the file
    sequence: int | None = None
    file: str = ""


class AuditVerification(BaseModel):
    """The answer of `verify`: intact or not, and each problem named with its entry and file."""

    directory: str
    intact: bool
    entries: int  # entry files found
    last_sequence: int | None = None
    last_hash: str | None = None  # keep this somewhere else (object-locked bucket, ticket) to detect a deleted tail
    head: dict[str, Any] | None = None  # the HEAD file's content
    expected_head: str | None = None
    problems: list[Problem] = []
    warnings: list[str] = []  # odd but not tampering: an interrupted append, a stray file
