"""An append-only, hash-chained audit log in a directory.

Layout (one directory, nothing else required):

    00000001-3f2a9c0d1e4b.json   the entry: sequence, previous_hash, recorded_at, type, payload, hash
    00000001-3f2a9c0d1e4b.md     its human-readable report (its sha256 is inside the entry)
    00000002-...                 the next entry names the hash of entry 1 as its previous_hash
    HEAD                         {"sequence": N, "hash": "..."} of the last entry, rewritten after each append

Every file is written to a temporary name, fsynced, renamed into place, and the directory fsynced: a
crash leaves either the whole file or nothing. The report and the entry are written before HEAD, so an
interrupted append leaves HEAD one entry behind (reported as a warning), never ahead.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from mlark.audit.files import (ENTRY_NAME, HEAD_NAME, AuditError, Head, atomic_write, default_audit_dir, directory_lock,
                               entry_files, read_entry, read_head)
from mlark.audit.integrity import verify_log
from mlark.audit.models import AuditEntry, AuditVerification, utc_now
from mlark.audit.report import render


def _plain(payload: BaseModel | dict[str, Any]) -> dict[str, Any]:
    # A JSON round trip: what we hash is exactly what a reader will parse back (tuples become lists ...).
    data = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else to_jsonable_python(payload)
    if not isinstance(data, dict):
        raise TypeError("an audit payload is a JSON object")
    plain: dict[str, Any] = json.loads(json.dumps(data, allow_nan=False))
    return plain


class AuditLog:
    """The audit trail in one directory. Appends are serialised by a lock; reads need none."""

    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_audit_dir()

    def append(self, entry_type: str, payload: BaseModel | dict[str, Any]) -> AuditEntry:
        """Write a new entry (and its report) chained to the last one; return it with its hash.

        A "drill" payload must be a DrillRecord (or its dump): its report is rendered from it, and a
        payload that is not one is refused (pydantic.ValidationError) before anything is written.
        """
        plain = _plain(payload)
        self.directory.mkdir(parents=True, exist_ok=True)
        with directory_lock(self.directory):
            tip = self._tip()
            sequence, previous = (tip.sequence + 1, tip.hash) if tip else (1, "")
            recorded_at = utc_now()
            report = render(sequence, recorded_at, entry_type, previous, plain).encode()
            entry = AuditEntry(sequence=sequence, previous_hash=previous, recorded_at=recorded_at, type=entry_type,
                               payload=plain, report_sha256=hashlib.sha256(report).hexdigest())
            entry.hash = entry.computed_hash()
            # Report first, entry second, HEAD last: an interrupted append never leaves HEAD ahead of the entries.
            atomic_write(self.directory / f"{entry.file_stem}.md", report)
            atomic_write(self.directory / f"{entry.file_stem}.json", _pretty(entry.model_dump(mode="json")))
            atomic_write(self.directory / HEAD_NAME, _pretty(Head(sequence=sequence, hash=entry.hash).model_dump()))
            return entry

    def _tip(self) -> Head | None:
        """The entry to chain to: HEAD, or a newer entry file when an append was interrupted before HEAD.

        HEAD wins over a shorter list of files on purpose: after a deleted tail the next entry keeps the
        sequence gap and the dangling link, so the deletion stays detectable.
        """
        try:
            head = read_head(self.directory)
        except AuditError:
            head = None  # a damaged HEAD must not stop a drill from being recorded; verify reports it
        files = entry_files(self.directory)
        if files and (head is None or int(ENTRY_NAME.match(files[-1].name).group(1)) > head.sequence):  # type: ignore[union-attr]
            _, last = read_entry(files[-1])
            return Head(sequence=last.sequence, hash=last.hash)
        return head

    def entries(self) -> list[AuditEntry]:
        """The readable entries in sequence order. Integrity is `verify()`'s job, not this one's."""
        entries = []
        for path in entry_files(self.directory):
            with contextlib.suppress(AuditError):
                entries.append(read_entry(path)[1])
        return sorted(entries, key=lambda entry: entry.sequence)

    def entry(self, sequence: int) -> AuditEntry:
        for entry in self.entries():
            if entry.sequence == sequence:
                return entry
        raise AuditError(f"no audit entry {sequence} in {self.directory}")

    def latest(self) -> AuditEntry | None:
        entries = self.entries()
        return entries[-1] if entries else None

    def report_path(self, entry: AuditEntry) -> Path:
        return self.directory / f"{entry.file_stem}.md"

    def head(self) -> Head | None:
        return read_head(self.directory)

    def verify(self, expected_head: str | None = None) -> AuditVerification:
        """Check every entry, link, report and HEAD; see `mlark.audit.integrity`."""
        return verify_log(self.directory, expected_head)


def _pretty(data: dict[str, Any]) -> bytes:
    # Indented for people; the hash is over the canonical form, not these bytes.
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()

