"""`mlark drill ...`: run a recovery drill, and read the history of drills (`list`, `describe`)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mlark.cli.audit import AUDIT_DIR, audit_log
from mlark.cli.backup import _repository
from mlark.cli.common import CONTEXT, KUBECONFIG, PASSWORD_FILE, REPO, cluster, errors
from mlark.cli.drill_history import app
from mlark.cli.output import OUTPUT_OPTION, OutputFormat, console, dump_manifests, emit_machine, fail, print_table
from mlark.cli.restore import USAGE_EXIT, _exclusion, _pairs

FAILED_EXIT = 11
PLAN_OPTION = typer.Option(..., "--plan", "-p", help="The plan whose latest (or named) restore point is drilled.")


@app.command("run")
def run(
    plan_file: Path = PLAN_OPTION,
    reference: str = typer.Option("latest", "--from-backup", "-b", help="Restore point to drill (default: the plan's latest)."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, kubeconfig: Path | None = KUBECONFIG,
    context: str | None = CONTEXT,
    sandbox_suffix: str = typer.Option("-drill", "--sandbox-suffix", help="Sandbox namespace = source + suffix; '' on a dedicated drill cluster."),
    storage_class_mapping: list[str] = typer.Option([], "--storage-class-mapping", help="CAPTURED=TARGET (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Leave out NS:Kind.group/NAME,NAME (repeatable)."),
    without_operators: bool = typer.Option(False, "--without-operators", help="The target runs no operator for the captured custom resources."),
    readiness_timeout: float = typer.Option(300.0, "--readiness-timeout", help="Seconds to wait for inference readiness."),
    keep: bool = typer.Option(False, "--keep", help="Keep the sandbox for inspection (no teardown)."),
    audit_dir: Path | None = AUDIT_DIR,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Restore a restore point into a sandbox, wait until inference-ready, verify every
    fingerprint, measure RTO and RPO against the plan's objectives, tear down, and append a
    hash-chained audit record. Schedule it (cron, a Kubernetes CronJob) to prove recovery
    without a human.

    Exit codes: 0 passed, 11 failed (the causes are printed and recorded), 2 bad options.
    """
    from mlark.drill.run import DrillRefused, DrillSettings, run_drill
    from mlark.plan.loader import load_plan
    from mlark.restore.options import RestoreOptions

    try:
        options = RestoreOptions(restore_point=reference, storage_class_mapping=_pairs(storage_class_mapping, "--storage-class-mapping"),
                                 exclude=[_exclusion(item) for item in exclude])
    except ValueError as error:
        raise fail(f"invalid drill options: {error}", USAGE_EXIT) from None
    settings = DrillSettings(reference=reference, sandbox_suffix=sandbox_suffix, restore=options, without_operators=without_operators,
                             readiness_timeout=readiness_timeout, keep=keep, context=context or "")
    with errors():
        plan = load_plan(plan_file)
        api = cluster(kubeconfig, context)
        repository = _repository(repo, password_file, plan_file, None, kubeconfig, context)
        try:
            with console.status(f"drill of plan {plan.name}") as status:
                record, entry_hash = run_drill(api, repository, plan, settings, audit_log(audit_dir),
                                               progress=lambda message: status.update(message))
        except DrillRefused as refused:
            raise fail(str(refused), USAGE_EXIT) from None
    if not emit_machine({"audit_entry": entry_hash, **record.model_dump(mode="json")}, output):
        _print(record, entry_hash)
    if record.outcome.value != "passed":
        raise typer.Exit(FAILED_EXIT)


def _print(record, entry_hash: str) -> None:  # type: ignore[no-untyped-def]
    objective = record.objectives
    rto = f"{record.rto_seconds:.1f} s" if record.rto_seconds is not None else "not reached"
    rto += f" (objective {objective.rto_seconds:.0f} s)" if objective.rto_seconds else ""
    rpo = f"{record.rpo_seconds:.0f} s" + (f" (objective {objective.rpo_seconds:.0f} s)" if objective.rpo_seconds else "")
    print_table(None, ["", ""], [
        ("drill", record.id), ("outcome", record.outcome.value.upper()), ("restore point", record.restore_point.id[:12]),
        ("RTO", rto), ("RPO", rpo), ("audit entry", entry_hash),
    ])
    print_table("checks", ["check", "kind", "result", "message"],
                [(c.name, c.kind, {True: "pass", False: "FAIL", None: "not applicable"}[c.passed], c.message) for c in record.checks])
    for cause in record.causes:
        console.print(f"[red]cause[/red]: {cause}", highlight=False)


@app.command("schedule")
def schedule(
    plan_file: Path = typer.Option(..., "--plan", "-p", help="The plan to drill; it is stored in a ConfigMap beside the CronJob."),
    cron: str = typer.Option(..., "--cron", help="When to drill, as cron: '0 4 * * 0' is Sundays at 04:00."),
    image: str = typer.Option(..., "--image", help="The container image with mlark in it (from your registry)."),
    namespace: str = typer.Option("mlark", "--namespace", "-n", help="Namespace of the CronJob, its plan and its audit log."),
    name: str | None = typer.Option(None, "--name", help="Name of the CronJob (default: drill-<plan name>)."),
    service_account: str = typer.Option("mlark", "--service-account", help="Service account of the drill pods; it needs the rights of a restore."),
    password_secret: str | None = typer.Option(None, "--password-secret", help="NAME[:KEY] of the Secret with the repository password (key default: password)."),
    time_zone: str | None = typer.Option(None, "--time-zone", help="IANA time zone of the schedule (default: the controller's, usually UTC)."),
    storage_class: str | None = typer.Option(None, "--storage-class", help="Storage class of the audit log's claim."),
    drill_arg: list[str] = typer.Option([], "--drill-arg", help="An argument for `mlark drill run` (repeatable), e.g. --drill-arg=--without-operators."),
    apply: bool = typer.Option(False, "--apply", help="Create or update the objects on the cluster instead of printing them."),
    kubeconfig: Path | None = KUBECONFIG, context: str | None = CONTEXT,
    output: OutputFormat | None = typer.Option(None, "--output", "-o", help="Printed objects: yaml (default, for kubectl apply -f -) or json. With --apply: table (default), json or yaml."),
) -> None:
    """Run the plan's drill on a schedule, in the cluster, without a human: a CronJob (never two
    drills at once), a ConfigMap with the plan, a claim that keeps the audit log between runs.

    Prints the objects as YAML for `kubectl apply -f -`, or creates them with --apply.

      mlark drill schedule --plan plan.yaml --cron '0 4 * * 0' --image IMAGE --password-secret mlark-repository

    Exit codes: 0 done, 2 bad options (an invalid cron, a missing password Secret for an env/file target).
    """
    from pydantic import ValidationError

    from mlark.drill.schedule import ScheduleError, ScheduleOptions, render_schedule
    from mlark.plan.loader import load_plan

    with errors():
        plan = load_plan(plan_file)
        try:
            options = ScheduleOptions(name=name or f"drill-{plan.name}", namespace=namespace, cron=cron, image=image,
                                      service_account=service_account, time_zone=time_zone, password_secret=password_secret,
                                      storage_class=storage_class, drill_args=drill_arg)
            objects = render_schedule(plan, plan_file.read_text(), options)
        except ValidationError as error:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}" for e in error.errors())
            raise fail(f"invalid schedule: {problems}", USAGE_EXIT) from None
        except ScheduleError as error:
            raise fail(f"invalid schedule: {error}", USAGE_EXIT) from None
        if apply:
            _apply_schedule(cluster(kubeconfig, context), objects, output or OutputFormat.table)
            return
    if output is OutputFormat.json:
        emit_machine(objects, output)
    else:
        sys.stdout.write(dump_manifests(objects))


def _apply_schedule(api, objects: list[dict], output: OutputFormat) -> None:  # type: ignore[no-untyped-def]
    from mlark.kube.apply import create

    results = [create(api, obj, "update") for obj in objects]
    rows = [{"kind": r.kind, "namespace": r.namespace, "name": r.name, "action": r.action.value, "reason": r.reason} for r in results]
    if not emit_machine(rows, output):
        print_table(None, ["kind", "namespace", "name", "action", "reason"], [tuple(row.values()) for row in rows])
    failed = [r for r in results if not r.ok]
    if failed:
        raise fail("; ".join(f"{r.kind} {r.namespace}/{r.name}: {r.reason}" for r in failed), 1)
