"""The drill history, read from the audit log: list, find, and one summary line per drill."""

from __future__ import annotations

from pydantic import ValidationError

from mlark.audit.chain import AuditLog
from mlark.audit.files import AuditError
from mlark.audit.models import AuditEntry, DrillRecord
from mlark.audit.report import seconds, verdict

DRILL = "drill"


def drill_entries(log: AuditLog) -> list[tuple[AuditEntry, DrillRecord]]:
    """Each drill entry with its record, oldest first. Payloads that are not drill records are left out."""
    found = []
    for entry in log.entries():
        if entry.type != DRILL:
            continue
        try:
            found.append((entry, DrillRecord.model_validate(entry.payload)))
        except ValidationError:
            continue  # written by a future format; `mlark audit show` still shows it raw
    return found


def drills(log: AuditLog) -> list[DrillRecord]:
    """The drill records, newest last."""
    return [record for _, record in drill_entries(log)]


def find_drill(log: AuditLog, reference: str) -> tuple[AuditEntry, DrillRecord]:
    """A drill by id, by a unique id prefix, or `latest`. AuditError when none or several match."""
    found = drill_entries(log)
    if not found:
        raise AuditError(f"no drills recorded in {log.directory}")
    if reference == "latest":
        return found[-1]
    exact = [item for item in found if item[1].id == reference]
    if exact:
        return exact[-1]
    matches = [item for item in found if item[1].id.startswith(reference)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise AuditError(f"{reference!r} names {len(matches)} drills: give more of the id")
    raise AuditError(f"no drill {reference!r} in {log.directory}")


def summary(entry: AuditEntry, record: DrillRecord) -> dict[str, object]:
    """One row of `mlark drill list`: when, which restore point, pass or fail, RTO, RPO."""
    return {
        "id": record.id,
        "plan": record.plan,
        "started": record.started.strftime("%Y-%m-%d %H:%M:%S"),
        "restore_point": record.restore_point.id,
        "outcome": record.outcome.value,
        "rto": seconds(record.rto_seconds),
        "rto_objective": verdict(record.rto_met),
        "rpo": seconds(record.rpo_seconds),
        "rpo_objective": verdict(record.rpo_met),
        "entry": entry.sequence,
    }
