"""Human-readable Markdown reports of audit entries: the page a risk officer reads.

The report is written beside its JSON entry and its sha256 is part of the entry's hashed fields, so a
report edited after the fact no longer matches. It cannot show its own entry's hash (that hash covers
the report); it shows the previous entry's hash, which links it into the chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from mlark.audit.models import CheckResult, DrillRecord


def _cell(value: Any) -> str:
    # A pipe or newline inside a cell would break the table.
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return lines


def seconds(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.1f} s"
    minutes, rest = divmod(value, 60)
    if minutes < 120:
        return f"{int(minutes)} min {int(rest)} s"
    return f"{int(minutes // 60)} h {int(minutes % 60)} min"


def _time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def verdict(met: bool | None) -> str:
    return {None: "no objective", True: "met", False: "MISSED"}[met]


def _objectives(record: DrillRecord) -> list[str]:
    rows = [
        ("RTO", seconds(record.rto_seconds), seconds(record.objectives.rto_seconds), verdict(record.rto_met)),
        ("RPO", seconds(record.rpo_seconds), seconds(record.objectives.rpo_seconds), verdict(record.rpo_met)),
    ]
    return ["## Objectives", "", *_table(["", "measured", "objective", "verdict"], rows), ""]


def _phases(record: DrillRecord) -> list[str]:
    phases = record.phases
    rows = [("objects", phases.objects), ("volume data", phases.volume_data), ("databases", phases.databases),
            ("waiting for readiness", phases.readiness), ("verification", phases.verification)]
    return ["## Phase timings", "", *_table(["phase", "seconds"], [(name, f"{value:.1f}") for name, value in rows]), ""]


def _failure(check: CheckResult) -> list[str]:
    lines = [f"### ✗ {check.name} ({check.kind})", "", check.message or "failed", ""]
    if check.diff:
        lines += ["```diff", *check.diff, "```", ""]
    return lines


def _checks(record: DrillRecord) -> list[str]:
    if not record.checks:
        return ["## Checks", "", "No checks ran.", ""]
    rows = [(check.name, check.kind, {True: "pass", False: "FAIL", None: "not applicable"}[check.passed], check.message) for check in record.checks]
    lines = ["## Checks", "", *_table(["check", "kind", "result", "message"], rows), ""]
    for check in record.failed_checks():
        lines += _failure(check)
    return lines


def _teardown(record: DrillRecord) -> list[str]:
    teardown = record.teardown
    if teardown is None:
        return ["## Teardown", "", "Not attempted: the sandbox was kept.", ""]
    state = "done" if teardown.done else "FAILED"
    lines = ["## Teardown", "", f"{state} in {seconds(teardown.seconds)}" + (f": {teardown.message}" if teardown.message else ""), ""]
    lines += [f"- left over: {item}" for item in teardown.leftovers]
    return lines + ([""] if teardown.leftovers else [])


def _summary(record: DrillRecord) -> list[str]:
    target = record.target
    sandbox = ", ".join(f"{source} → {sandbox}" for source, sandbox in sorted(target.namespaces.items())) or "—"
    counts = record.restore
    lines = [
        f"- **Plan:** {record.plan}",
        f"- **Started:** {_time(record.started)} — **finished:** {_time(record.finished)}",
        f"- **Restore point:** `{record.restore_point.id}` taken {_time(record.restore_point.created)}",
        f"- **Target:** {target.cluster or target.context or '—'}"
        + (f" (context `{target.context}`)" if target.cluster and target.context else ""),
        f"- **Sandbox namespaces:** {sandbox}",
        f"- **Restored objects:** {counts.created} created, {counts.updated} updated, {counts.skipped} skipped, {counts.failed} failed",
        "",
    ]
    if record.causes:
        lines += ["**Causes of failure:**", "", *[f"- {cause}" for cause in record.causes], ""]
    return lines


def drill_markdown(record: DrillRecord) -> list[str]:
    result = "PASSED" if record.outcome.value == "passed" else "FAILED"
    lines = [f"# Recovery drill {record.id}: {result}", ""]
    return lines + _summary(record) + _objectives(record) + _phases(record) + _checks(record) + _teardown(record)


def _footer(sequence: int, recorded_at: datetime, entry_type: str, previous_hash: str) -> list[str]:
    previous = f"`{previous_hash}`" if previous_hash else "none (first entry)"
    return ["---", "", f"Audit entry {sequence} ({entry_type}), recorded {_time(recorded_at)}; previous entry hash: {previous}.",
            "Check the whole trail with `mlark audit verify`.", ""]


def render(sequence: int, recorded_at: datetime, entry_type: str, previous_hash: str, payload: dict[str, Any]) -> str:
    """The Markdown report of an entry; drills get their own page, other types a plain listing."""
    if entry_type == "drill":
        body = drill_markdown(DrillRecord.model_validate(payload))
    else:
        body = [f"# Audit entry {sequence}: {entry_type}", "", "```json", json.dumps(payload, indent=2, sort_keys=True), "```", ""]
    return "\n".join(body + _footer(sequence, recorded_at, entry_type, previous_hash))
