"""Restore records: what each restore did, kept in the repository beside the restore points."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from mlark.repo import BackupOptions, Repository, StreamSource, backup, read_file
from mlark.repo.models import Snapshot
from mlark.restore.options import RestoreOptions
from mlark.restore.summary import RestoreResult

RECORD_TAG = "mlark:restore-record"
RECORD_STREAM = "restore.json"
SUMMARY_KEY = "restore"


class RestoreRecord(BaseModel):
    options: RestoreOptions
    result: RestoreResult


class RecordNotFound(LookupError):
    """No restore record matches the reference given."""


def save(repo: Repository, record: RestoreRecord) -> str:
    result = record.result
    summary = {
        "restore_point": result.restore_point, "target": result.target, "phase": result.phase.value,
        "started": result.started.isoformat(), "rto_seconds": round(result.rto_seconds, 3), "counts": result.counts(),
        "failures": len(result.failures()),
    }
    options = BackupOptions(tags=[RECORD_TAG], host="mlark/restores", parent="none", metadata={SUMMARY_KEY: summary})
    return backup(repo, streams=[StreamSource(RECORD_STREAM, [record.model_dump_json().encode()])], options=options).snapshot_id


def records(repo: Repository) -> list[tuple[str, Snapshot, dict[str, Any]]]:
    found = [(sid, snap, snap.metadata.get(SUMMARY_KEY, {})) for sid, snap in repo.snapshots() if RECORD_TAG in snap.tags]
    return sorted(found, key=lambda item: item[1].time)


def load(repo: Repository, reference: str) -> tuple[str, RestoreRecord]:
    found = records(repo)
    if reference == "latest" and found:
        matches = [found[-1][0]]
    else:
        matches = [sid for sid, _, _ in found if sid.startswith(reference)]
    if len(matches) != 1:
        raise RecordNotFound(f"{'no' if not matches else len(matches)} restore record(s) match {reference!r}")
    return matches[0], RestoreRecord.model_validate_json(b"".join(read_file(repo, matches[0], RECORD_STREAM)))
