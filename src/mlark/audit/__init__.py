"""The audit trail: drill records (and later backup/restore records) in a tamper-evident, hash-chained log.

Pure and file-based: nothing here talks to a cluster. `AuditLog(directory).append("drill", record)` writes
an entry and its Markdown report; `AuditLog(directory).verify()` says whether anything was edited,
deleted, inserted or reordered.
"""

from mlark.audit.chain import AuditLog
from mlark.audit.files import AuditError, Head, default_audit_dir
from mlark.audit.models import (AuditEntry, AuditVerification, CheckResult, DrillOutcome, DrillRecord, DrillTarget,
                                Objectives, PhaseSeconds, Problem, ProblemKind, RestoreCounts, RestorePointRef, Teardown)

__all__ = [
    "AuditEntry", "AuditError", "AuditLog", "AuditVerification", "CheckResult", "DrillOutcome", "DrillRecord",
    "DrillTarget", "Head", "Objectives", "PhaseSeconds", "Problem", "ProblemKind", "RestoreCounts", "RestorePointRef",
    "Teardown", "default_audit_dir",
]
