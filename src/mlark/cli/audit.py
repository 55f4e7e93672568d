"""`mlark audit ...`: check the tamper-evident audit trail, and show one of its entries."""

from __future__ import annotations

from pathlib import Path

import typer

from mlark.audit.chain import AuditLog
from mlark.audit.files import AuditError, default_audit_dir
from mlark.audit.models import AuditEntry, AuditVerification
from mlark.cli.output import OUTPUT_OPTION, OutputFormat, console, emit_machine, fail, print_table

app = typer.Typer(help="The audit trail: hash-chained records of drills, verifiable by anyone who can read them.",
                  no_args_is_help=True)
TAMPERED_EXIT = 10
USAGE_EXIT = 2
AUDIT_DIR = typer.Option(None, "--audit-dir", help="The audit log directory (default: $MLARK_AUDIT_DIR, else ~/.local/share/mlark/audit).")
EXPECTED_HEAD = typer.Option(None, "--expected-head", help=(
    "The last entry's hash as kept elsewhere (printed by the drill, stored in an object-locked bucket): "
    "catches a deleted tail with a rewritten HEAD. At least 12 hex digits."))
ENTRY = typer.Argument(..., help="The entry's sequence number, or `latest`.")


def audit_log(directory: Path | None) -> AuditLog:
    return AuditLog(directory if directory is not None else default_audit_dir())


def _print_verification(result: AuditVerification) -> None:
    if result.intact:
        last = f"; last entry {result.last_sequence}, hash {result.last_hash}" if result.last_hash else ""
        console.print(f"audit log {result.directory}: intact, {result.entries} entries{last}", highlight=False, markup=False)
    else:
        console.print(f"audit log {result.directory}: TAMPERED, {len(result.problems)} problems", highlight=False, markup=False)
        print_table(None, ["problem", "entry", "file", "message"],
                    [(p.kind.value, p.sequence, p.file, p.message) for p in result.problems])
    for warning in result.warnings:
        console.print(f"warning: {warning}", highlight=False, markup=False)


@app.command()
def verify(audit_dir: Path | None = AUDIT_DIR, expected_head: str | None = EXPECTED_HEAD,
           output: OutputFormat = OUTPUT_OPTION) -> None:
    """Check every entry's hash, every link of the chain, every report and HEAD.

    Exit codes: 0 intact, 10 tampered (each problem named with its entry and file), 2 bad input.

    Example: mlark audit verify --expected-head 3f2a9c0d1e4b
    """
    try:
        result = audit_log(audit_dir).verify(expected_head)
    except ValueError as error:
        raise fail(str(error), USAGE_EXIT) from None
    if not emit_machine(result, output):
        _print_verification(result)
    if not result.intact:
        raise typer.Exit(TAMPERED_EXIT)


def _entry(log: AuditLog, reference: str) -> AuditEntry:
    if reference == "latest":
        latest = log.latest()
        if latest is None:
            raise AuditError(f"no audit entries in {log.directory}")
        return latest
    if not reference.isdigit():
        raise fail(f"{reference!r}: give an entry's sequence number or `latest`", USAGE_EXIT)
    return log.entry(int(reference))


@app.command()
def show(reference: str = ENTRY, audit_dir: Path | None = AUDIT_DIR, output: OutputFormat = OUTPUT_OPTION) -> None:
    """One entry: its report for people, the entry itself with -o json|yaml."""
    log = audit_log(audit_dir)
    try:
        entry = _entry(log, reference)
    except AuditError as error:
        raise fail(str(error)) from None
    if emit_machine(entry, output):
        return
    report = log.report_path(entry)
    text = report.read_text(encoding="utf-8") if report.exists() else f"(report {report.name} is missing)\n"
    typer.echo(text.rstrip("\n"))
    typer.echo(f"\nentry {entry.sequence} ({entry.type}), hash {entry.hash}, file {entry.file_stem}.json")
