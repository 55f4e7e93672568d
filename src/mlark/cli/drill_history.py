"""`mlark drill list|describe`: the history of recovery drills, read from the audit log."""

from __future__ import annotations

from pathlib import Path

import typer

from mlark.audit.files import AuditError
from mlark.audit.history import drill_entries, find_drill, summary
from mlark.cli.audit import AUDIT_DIR, audit_log
from mlark.cli.output import OUTPUT_OPTION, OutputFormat, emit_machine, fail, print_table

app = typer.Typer(help="Recovery drills: restore into a sandbox, verify, measure RTO/RPO, tear down, record.",
                  no_args_is_help=True)
DRILL = typer.Argument(..., help="The drill's id (a unique prefix is enough) or `latest`.")
COLUMNS = ["id", "plan", "started", "restore_point", "outcome", "rto", "rto_objective", "rpo", "rpo_objective", "entry"]


@app.command("list")
def list_(plan: str | None = typer.Option(None, "--plan", help="Only the drills of this plan (its name)."),
          audit_dir: Path | None = AUDIT_DIR, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Drills recorded in the audit log, oldest first: when, which restore point, pass or fail, RTO, RPO."""
    rows = [summary(entry, record) for entry, record in drill_entries(audit_log(audit_dir))
            if plan is None or record.plan == plan]
    if emit_machine(rows, output):
        return
    print_table("drills (times in UTC)", [column.replace("_", " ") for column in COLUMNS],
                [[row[column] for column in COLUMNS] for row in rows])


@app.command()
def describe(reference: str = DRILL, audit_dir: Path | None = AUDIT_DIR, output: OutputFormat = OUTPUT_OPTION) -> None:
    """One drill's report: objectives, phase timings, checks with diffs, teardown."""
    log = audit_log(audit_dir)
    try:
        entry, record = find_drill(log, reference)
    except AuditError as error:
        raise fail(str(error)) from None
    if emit_machine(record, output):
        return
    report = log.report_path(entry)
    text = report.read_text(encoding="utf-8") if report.exists() else f"(report {report.name} is missing)\n"
    typer.echo(text.rstrip("\n"))
