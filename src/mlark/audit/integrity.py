"""Checking an audit log: every entry's hash, every link, every report, HEAD and an external head hash.

What is detected, and how:
- an edited entry: its content no longer hashes to its `hash` field;
- an edited report: its sha256 no longer matches `report_sha256` inside the (hashed) entry;
- a renamed or swapped file: the name's sequence or hash prefix disagrees with the content;
- a deleted entry: a gap in the sequence numbers (and a dangling link from the entry after it);
- an inserted, reordered or re-hashed entry: two entries with one sequence, or a `previous_hash` that does
  not name the entry before;
- a deleted last entry: HEAD names a sequence beyond the last entry present.
A deleted tail together with a rewritten HEAD leaves a valid shorter chain: only a head hash kept
elsewhere (`expected_head`) catches that.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlark.audit.files import ENTRY_NAME, HEAD_NAME, REPORT_NAME, AuditError, Head, entry_files, read_entry, read_head
from mlark.audit.models import AuditEntry, AuditVerification, Problem, ProblemKind, entry_hash

MIN_EXPECTED_HEAD = 12  # hex digits: as short as the file names, as long as a full sha256


@dataclass
class _Loaded:
    file: str
    raw: dict[str, Any]
    entry: AuditEntry


def _short(value: str) -> str:
    return value[:12] if value else '""'


def _load(directory: Path, problems: list[Problem]) -> list[_Loaded]:
    """Read every entry file; the ones that do not parse are problems, the rest are checked further."""
    loaded = []
    for path in entry_files(directory):
        try:
            raw, entry = read_entry(path)
        except AuditError as error:
            problems.append(Problem(kind=ProblemKind.unreadable, message=str(error), file=path.name))
            continue
        loaded.append(_Loaded(path.name, raw, entry))
        _check_content(loaded[-1], problems)
    return loaded


def _check_content(item: _Loaded, problems: list[Problem]) -> None:
    entry, name = item.entry, item.file
    actual = entry_hash(item.raw)
    if actual != entry.hash:
        problems.append(Problem(kind=ProblemKind.edited, sequence=entry.sequence, file=name, message=(
            f"entry {entry.sequence} ({name}) was edited: its content hashes to {_short(actual)}, "
            f"not to its recorded hash {_short(entry.hash)}")))
    match = ENTRY_NAME.match(name)
    assert match is not None  # entry_files only lists matching names
    if int(match.group(1)) != entry.sequence or not entry.hash.startswith(match.group(2)):
        problems.append(Problem(kind=ProblemKind.renamed, sequence=entry.sequence, file=name, message=(
            f"{name} holds entry {entry.sequence} with hash {_short(entry.hash)}: the file was renamed, "
            f"swapped or replaced (expected {entry.file_stem}.json)")))


def _missing_ranges(present: list[int]) -> list[tuple[int, int]]:
    ranges, expected = [], 1
    for sequence in present:
        if sequence > expected:
            ranges.append((expected, sequence - 1))
        expected = sequence + 1
    return ranges


def _span(first: int, last: int) -> str:
    return f"entry {first}" if first == last else f"entries {first}..{last}"


def _check_order(loaded: list[_Loaded], problems: list[Problem]) -> dict[int, _Loaded]:
    """Sequence numbers 1..N without gaps or doubles, each entry linked to the one before."""
    by_sequence: dict[int, list[_Loaded]] = {}
    for item in loaded:
        by_sequence.setdefault(item.entry.sequence, []).append(item)
    for sequence, items in sorted(by_sequence.items()):
        if len(items) > 1:
            files = ", ".join(item.file for item in items)
            problems.append(Problem(kind=ProblemKind.inserted, sequence=sequence, file=items[0].file,
                                    message=f"{len(items)} entries claim sequence {sequence}: {files}"))
    unique = {sequence: items[0] for sequence, items in by_sequence.items()}
    for first, last in _missing_ranges(sorted(unique)):
        after = unique.get(last + 1)
        where = f" (before {after.file})" if after else ""
        problems.append(Problem(kind=ProblemKind.deleted, sequence=first, file=after.file if after else "",
                                message=f"{_span(first, last)} missing{where}: deleted"))
    for sequence, item in sorted(unique.items()):
        _check_link(item, unique.get(sequence - 1), problems)
    return unique


def _check_link(item: _Loaded, before: _Loaded | None, problems: list[Problem]) -> None:
    entry = item.entry
    if entry.sequence == 1 and entry.previous_hash:
        problems.append(Problem(kind=ProblemKind.broken_link, sequence=1, file=item.file, message=(
            f"entry 1 ({item.file}) names a previous entry {_short(entry.previous_hash)}: "
            "the start of the chain was removed and the rest renumbered")))
    if before is None or entry.previous_hash == before.entry.hash:
        return  # a missing predecessor is reported as a gap
    problems.append(Problem(kind=ProblemKind.broken_link, sequence=entry.sequence, file=item.file, message=(
        f"entry {entry.sequence} ({item.file}) links to previous hash {_short(entry.previous_hash)}, but entry "
        f"{before.entry.sequence} ({before.file}) has hash {_short(before.entry.hash)}: reordered, replaced or re-hashed")))


def _check_reports(directory: Path, loaded: list[_Loaded], problems: list[Problem], warnings: list[str]) -> None:
    stems = set()
    for item in loaded:
        stem = item.file.removesuffix(".json")
        stems.add(stem)
        report = directory / f"{stem}.md"
        where = f"entry {item.entry.sequence} ({item.file})"
        if not report.exists():
            problems.append(Problem(kind=ProblemKind.report_missing, sequence=item.entry.sequence, file=report.name,
                                    message=f"the report {report.name} of {where} is missing"))
        elif hashlib.sha256(report.read_bytes()).hexdigest() != item.entry.report_sha256:
            problems.append(Problem(kind=ProblemKind.report_edited, sequence=item.entry.sequence, file=report.name,
                                    message=f"the report {report.name} was edited: it no longer matches {where}"))
    for path in sorted(directory.iterdir()):
        if REPORT_NAME.match(path.name) and path.name.removesuffix(".md") not in stems:
            warnings.append(f"{path.name} is a report without its entry (its entry deleted, or an append interrupted)")
        elif not (path.name.startswith(".") or path.name == HEAD_NAME or REPORT_NAME.match(path.name)
                  or ENTRY_NAME.match(path.name)):
            warnings.append(f"{path.name} is not part of the audit log")


def _check_head(directory: Path, unique: dict[int, _Loaded], problems: list[Problem], warnings: list[str]) -> Head | None:
    try:
        head = read_head(directory)
    except AuditError as error:
        problems.append(Problem(kind=ProblemKind.head_missing, file=HEAD_NAME, message=str(error)))
        return None
    last = max(unique, default=0)
    if head is None:
        if unique:
            problems.append(Problem(kind=ProblemKind.head_missing, file=HEAD_NAME, message=(
                f"{HEAD_NAME} is missing: deleted entries at the end of the log cannot be ruled out")))
        return None
    if head.sequence > last:
        problems.append(Problem(kind=ProblemKind.tail_deleted, sequence=last + 1, file=HEAD_NAME, message=(
            f"{HEAD_NAME} names entry {head.sequence} (hash {_short(head.hash)}) but the last entry present is {last}: "
            f"{_span(last + 1, head.sequence)} deleted")))
    elif head.sequence in unique and unique[head.sequence].entry.hash != head.hash:
        item = unique[head.sequence]
        problems.append(Problem(kind=ProblemKind.head_mismatch, sequence=head.sequence, file=item.file, message=(
            f"{HEAD_NAME} names hash {_short(head.hash)} for entry {head.sequence}, but {item.file} has "
            f"{_short(item.entry.hash)}: the entry was replaced")))
    if head.sequence < last:
        warnings.append(f"{_span(head.sequence + 1, last)} recorded after {HEAD_NAME} was last written "
                        "(an interrupted append); the next append brings HEAD up to date")
    return head


def normalise_head(expected: str) -> str:
    """`sha256:ABC...` or `abc...`; at least 12 hex digits. ValueError otherwise."""
    value = expected.strip().lower().removeprefix("sha256:")
    if len(value) < MIN_EXPECTED_HEAD or any(char not in "0123456789abcdef" for char in value):
        raise ValueError(f"expected head {expected!r}: give the hex hash of an entry (at least {MIN_EXPECTED_HEAD} digits)")
    return value


def _check_expected(expected: str, loaded: list[_Loaded], problems: list[Problem]) -> None:
    if not any(item.entry.hash.startswith(expected) for item in loaded):
        problems.append(Problem(kind=ProblemKind.expected_head_missing, message=(
            f"no entry has the expected head hash {expected[:12]}: the entries up to it were deleted or rewritten")))


def verify_log(directory: Path, expected_head: str | None = None) -> AuditVerification:
    """Verify the audit log in directory. Raises ValueError for a malformed expected_head."""
    expected = normalise_head(expected_head) if expected_head else None
    problems: list[Problem] = []
    warnings: list[str] = []
    if not directory.is_dir():
        problems.append(Problem(kind=ProblemKind.missing_directory, message=f"no audit log at {directory}"))
        return AuditVerification(directory=str(directory), intact=False, entries=0, expected_head=expected, problems=problems)
    loaded = _load(directory, problems)
    unique = _check_order(loaded, problems)
    _check_reports(directory, loaded, problems, warnings)
    head = _check_head(directory, unique, problems, warnings)
    if expected:
        _check_expected(expected, loaded, problems)
    last = unique[max(unique)].entry if unique else None
    return AuditVerification(
        directory=str(directory), intact=not problems, entries=len(loaded),
        last_sequence=last.sequence if last else None, last_hash=last.hash if last else None,
        head=head.model_dump() if head else None, expected_head=expected, problems=problems, warnings=warnings)
