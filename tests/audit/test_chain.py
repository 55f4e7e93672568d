"""Appending and reading back: files, links, HEAD, and an intact verification."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mlark.audit import AuditError, AuditLog, DrillRecord, default_audit_dir
from mlark.audit.models import canonical_json, entry_hash
from tests.audit.conftest import drill_record


def test_round_trip(log: AuditLog) -> None:
    entries = log.entries()
    assert [entry.sequence for entry in entries] == [1, 2, 3, 4, 5]
    assert entries[0].previous_hash == ""
    assert all(later.previous_hash == earlier.hash for earlier, later in zip(entries, entries[1:]))
    assert DrillRecord.model_validate(entries[2].payload) == drill_record(3, passed=False)
    assert log.head() is not None and log.head().hash == entries[-1].hash  # type: ignore[union-attr]
    result = log.verify()
    assert result.intact and not result.problems and not result.warnings
    assert (result.entries, result.last_sequence, result.last_hash) == (5, 5, entries[-1].hash)


def test_files_are_named_by_sequence_and_hash(log: AuditLog) -> None:
    names = sorted(path.name for path in log.directory.iterdir())
    entry = log.entry(2)
    assert f"00000002-{entry.hash[:12]}.json" in names and f"00000002-{entry.hash[:12]}.md" in names
    assert "HEAD" in names and len(names) == 11  # nothing else: no temporary files left behind


def test_hash_is_sha256_of_canonical_json_without_hash(log: AuditLog) -> None:
    path = log.directory / f"{log.entry(1).file_stem}.json"
    raw = json.loads(path.read_text())
    body = {key: value for key, value in raw.items() if key != "hash"}
    assert canonical_json(body) == json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert entry_hash(raw) == raw["hash"] == log.entry(1).computed_hash()


def test_plain_dict_payload_is_normalised(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    moment = datetime(2025, 1, 1, tzinfo=timezone.utc)
    entry = log.append("backup", {"at": moment, "sizes": (1, 2), "ratio": 0.1})
    assert entry.payload == {"at": "2025-01-01T00:00:00Z", "sizes": [1, 2], "ratio": 0.1}
    assert log.verify().intact
    assert "```json" in log.report_path(entry).read_text()


def test_recorded_at_is_utc(log: AuditLog) -> None:
    entry = log.latest()
    assert entry is not None and entry.recorded_at.utcoffset() == timedelta(0)


def test_not_json_payload_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        AuditLog(tmp_path).append("drill", {"rto": float("nan")})
    assert list(tmp_path.iterdir()) == []


def test_empty_and_missing_logs(tmp_path: Path) -> None:
    assert AuditLog(tmp_path).verify().intact
    assert AuditLog(tmp_path).entries() == [] and AuditLog(tmp_path).latest() is None
    missing = AuditLog(tmp_path / "nowhere").verify()
    assert not missing.intact and missing.problems[0].kind.value == "missing-directory"
    with pytest.raises(AuditError):
        AuditLog(tmp_path).entry(1)


def test_default_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLARK_AUDIT_DIR", str(tmp_path / "x"))
    assert default_audit_dir() == tmp_path / "x" and AuditLog().directory == tmp_path / "x"
    monkeypatch.delenv("MLARK_AUDIT_DIR")
    assert default_audit_dir() == Path.home() / ".local" / "share" / "mlark" / "audit"


def test_interrupted_append_leaves_head_behind_and_next_append_repairs(log: AuditLog) -> None:
    head = (log.directory / "HEAD").read_text()
    log.append("drill", drill_record(6))
    (log.directory / "HEAD").write_text(head)  # as if the append died before writing HEAD
    result = log.verify()
    assert result.intact and "entry 6 recorded after HEAD" in result.warnings[0]
    entry = log.append("drill", drill_record(7))
    assert entry.sequence == 7 and entry.previous_hash == log.entry(6).hash
    assert log.verify().intact and not log.verify().warnings


def test_stray_files_and_temporaries(log: AuditLog) -> None:
    (log.directory / ".tmp-00000009-abc.json-123").write_text("{")
    (log.directory / "notes.txt").write_text("hello")
    result = log.verify()
    assert result.intact and result.warnings == ["notes.txt is not part of the audit log"]
