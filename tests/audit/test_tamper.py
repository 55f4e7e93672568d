"""Each kind of tampering is detected, and the problem names the entry and its file."""

from __future__ import annotations

import json
from pathlib import Path

from mlark.audit import AuditLog, AuditVerification, ProblemKind
from mlark.audit.models import entry_hash
from tests.audit.conftest import drill_record


def _path(log: AuditLog, sequence: int, suffix: str = ".json") -> Path:
    return log.directory / f"{log.entry(sequence).file_stem}{suffix}"


def _kinds(result: AuditVerification) -> set[ProblemKind]:
    assert not result.intact
    return {problem.kind for problem in result.problems}


def _edit(path: Path, change: dict[str, object], rehash: bool = False) -> None:
    raw = json.loads(path.read_text())
    raw.update(change)
    if rehash:
        raw["hash"] = entry_hash(raw)
    path.write_text(json.dumps(raw, indent=2))


def test_edited_field(log: AuditLog) -> None:
    path = _path(log, 3)
    raw = json.loads(path.read_text())
    raw["payload"]["outcome"] = "passed"  # turn the failed drill into a pass
    path.write_text(json.dumps(raw, indent=2))
    result = log.verify()
    assert _kinds(result) == {ProblemKind.edited}
    problem = result.problems[0]
    assert problem.sequence == 3 and problem.file == path.name
    assert f"entry 3 ({path.name}) was edited" in problem.message


def test_edited_and_rehashed_breaks_the_next_link(log: AuditLog) -> None:
    path = _path(log, 3)
    _edit(path, {"type": "restore"}, rehash=True)
    result = log.verify()
    assert _kinds(result) == {ProblemKind.renamed, ProblemKind.broken_link}
    link = next(p for p in result.problems if p.kind is ProblemKind.broken_link)
    assert link.sequence == 4 and "entry 4" in link.message and path.name in link.message


def test_deleted_middle_entry(log: AuditLog) -> None:
    path, after = _path(log, 3), _path(log, 4)
    path.unlink()
    result = log.verify()
    assert ProblemKind.deleted in _kinds(result)
    problem = next(p for p in result.problems if p.kind is ProblemKind.deleted)
    assert problem.sequence == 3 and problem.message == f"entry 3 missing (before {after.name}): deleted"
    assert any(path.with_suffix(".md").name in warning for warning in result.warnings)  # its orphaned report


def test_deleted_first_entries(log: AuditLog) -> None:
    _path(log, 1).unlink()
    _path(log, 2).unlink()
    assert "entries 1..2 missing" in log.verify().problems[0].message


def test_deleted_last_entry_with_head_intact(log: AuditLog) -> None:
    path = _path(log, 5)
    path.unlink()
    path.with_suffix(".md").unlink()
    result = log.verify()
    assert _kinds(result) == {ProblemKind.tail_deleted}
    problem = result.problems[0]
    assert problem.sequence == 5 and problem.file == "HEAD"
    assert "HEAD names entry 5" in problem.message and "last entry present is 4: entry 5 deleted" in problem.message


def test_append_after_a_deleted_tail_keeps_the_gap(log: AuditLog) -> None:
    _path(log, 5).unlink()
    entry = log.append("drill", drill_record(6))
    assert entry.sequence == 6
    assert ProblemKind.deleted in _kinds(log.verify())


def test_deleted_tail_with_rewritten_head_needs_the_external_head(log: AuditLog) -> None:
    kept = log.entry(5).hash  # what the drill printed, or what sits in an object-locked bucket
    entry_4 = log.entry(4)
    for leftover in log.directory.glob("00000005-*"):  # the entry and its report
        leftover.unlink()
    (log.directory / "HEAD").write_text(json.dumps({"sequence": 4, "hash": entry_4.hash}))
    assert log.verify().intact  # a shorter, valid chain: nothing inside the directory contradicts it
    result = log.verify(expected_head=kept[:12])
    assert _kinds(result) == {ProblemKind.expected_head_missing}
    assert kept[:12] in result.problems[0].message
    assert log.verify(expected_head=f"sha256:{entry_4.hash.upper()}").intact


def test_swapped_files(log: AuditLog) -> None:
    second, third = _path(log, 2), _path(log, 3)
    temporary = second.with_name("swap")
    second.rename(temporary)
    third.rename(second)
    temporary.rename(third)
    result = log.verify()
    assert ProblemKind.renamed in _kinds(result)
    named = {p.file for p in result.problems if p.kind is ProblemKind.renamed}
    assert named == {second.name, third.name}


def test_reordered_and_rehashed(log: AuditLog) -> None:
    """Entries 2 and 3 swapped in the chain, each re-hashed and renamed to look consistent on its own."""
    second, third = _path(log, 2), _path(log, 3)
    for path, sequence in ((second, 3), (third, 2)):
        _edit(path, {"sequence": sequence}, rehash=True)
        raw = json.loads(path.read_text())
        path.rename(path.with_name(f"{sequence:08d}-{raw['hash'][:12]}.json.new"))
    for path in log.directory.glob("*.new"):
        path.rename(path.with_name(path.name.removesuffix(".new")))
    result = log.verify()
    assert ProblemKind.broken_link in _kinds(result)
    assert {p.sequence for p in result.problems if p.kind is ProblemKind.broken_link} >= {2, 3}


def test_inserted_entry(log: AuditLog) -> None:
    raw = json.loads(_path(log, 3).read_text())
    raw["payload"]["id"] = "drill-forged"
    raw["hash"] = entry_hash(raw)
    forged = log.directory / f"00000003-{raw['hash'][:12]}.json"
    forged.write_text(json.dumps(raw))
    result = log.verify()
    assert ProblemKind.inserted in _kinds(result)
    assert forged.name in next(p for p in result.problems if p.kind is ProblemKind.inserted).message


def test_edited_report(log: AuditLog) -> None:
    report = _path(log, 3, ".md")
    report.write_text(report.read_text().replace("FAILED", "PASSED"))
    result = log.verify()
    assert _kinds(result) == {ProblemKind.report_edited}
    problem = result.problems[0]
    assert problem.file == report.name and problem.sequence == 3 and "entry 3" in problem.message


def test_deleted_report(log: AuditLog) -> None:
    _path(log, 2, ".md").unlink()
    assert _kinds(log.verify()) == {ProblemKind.report_missing}


def test_head_replaced_or_missing(log: AuditLog) -> None:
    (log.directory / "HEAD").write_text(json.dumps({"sequence": 5, "hash": "0" * 64}))
    assert _kinds(log.verify()) == {ProblemKind.head_mismatch}
    (log.directory / "HEAD").unlink()
    assert _kinds(log.verify()) == {ProblemKind.head_missing}


def test_unreadable_entry(log: AuditLog) -> None:
    path = _path(log, 2)
    path.write_text("{not json")
    result = log.verify()
    assert ProblemKind.unreadable in _kinds(result) and result.problems[0].file == path.name
    assert [entry.sequence for entry in log.entries()] == [1, 3, 4, 5]  # readers skip it; verify names it
