"""`mlark verify`: compare live namespaces with the fingerprints a restore point recorded."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from mlark.cli.backup import PLAN_FILE, _repository
from mlark.cli.common import CONTEXT, KUBECONFIG, PASSWORD_FILE, REPO, VERIFY_FAILED_EXIT, cluster, errors
from mlark.cli.output import OUTPUT_OPTION, OutputFormat, console, emit_machine, print_table
from mlark.cli.restore import _pairs

HELP = "Verify: compare live namespaces (restored, or the originals) with what a restore point recorded."
_DIFF_COLOURS = {"-": "red", "+": "green", "~": "yellow"}


def command(
    reference: str = typer.Option(..., "--from-backup", "-b", help="Restore point to compare with: id, unique prefix, or `latest`."),
    namespace_mapping: list[str] = typer.Option([], "--namespace-mapping", help="RECORDED=LIVE: check namespace RECORDED of the "
                                                "restore point in LIVE (repeatable; as given to `mlark restore create`)."),
    skip: list[str] = typer.Option([], "--skip", help="Leave out the checks whose name matches this glob (repeatable), e.g. "
                                   "what the restore excluded: --skip '*model-catalog*'."),
    wait: float = typer.Option(0.0, "--wait", help="Seconds to keep measuring failing checks until they pass (a restored "
                               "predictor may still be starting); 0 checks once."),
    plan_file: Path | None = PLAN_FILE, repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
    kubeconfig: Path | None = KUBECONFIG, context: str | None = CONTEXT, output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Compare the application running now with a restore point. Nothing is changed.

    Every fingerprint the backup took (golden inference requests, workbench
    files, database tables, model registry, pipeline runs, model artifacts)
    is measured again in the live namespaces and compared; then the layers
    are checked to still point at each other (model locations, Secrets,
    databases). Use it after a restore (map the namespaces as the restore
    did), or on the original namespaces to see what changed since a backup.

    Each check passes or fails with a readable diff: `- path: value` is in
    the restore point and missing now, `+ path: value` is new,
    `~ path: old → new` changed.

    Examples:

      mlark verify --from-backup latest --plan plan.yaml

      mlark verify -b 3f2a9c --plan plan.yaml --context recovery
        --namespace-mapping rhoai-demo=rhoai-demo-restored --wait 120 -o json

    Exit codes: 0 every check passed, 7 at least one check failed,
    2 bad options or no such restore point, 20 cluster unreachable;
    repository errors as in `mlark repo`.
    """
    from mlark.verify.live import verify_live

    mapping = _pairs(namespace_mapping, "--namespace-mapping")
    with errors():
        plan = None
        if plan_file is not None:
            from mlark.plan.loader import load_plan

            plan = load_plan(plan_file).name
        repository = _repository(repo, password_file, plan_file, None, kubeconfig, context)
        api = cluster(kubeconfig, context)
        with console.status("verifying") as status:
            report = verify_live(api, repository, reference, mapping, plan=plan, wait_seconds=wait,
                                 skip=skip, progress=lambda message: status.update(message))
    if not emit_machine(report, output):
        _print(report)
    if not report.passed:
        raise typer.Exit(VERIFY_FAILED_EXIT)


def _print(report) -> None:  # type: ignore[no-untyped-def]
    mapped = ", ".join(source if source == target else f"{source} → {target}" for source, target in report.namespaces.items())
    print_table(None, ["", ""], [("restore point", report.restore_point[:12]), ("plan", report.plan),
                                 ("created", f"{report.created:%Y-%m-%d %H:%M:%S %Z}"), ("namespaces", mapped),
                                 ("fingerprints", report.fingerprints),
                                 ("skipped", ", ".join(report.skipped) or "-")])
    print_table("checks", ["check", "kind", "result", "message"],
                [(check.name, check.kind, "FAIL" if check.failed else check.outcome, check.message) for check in report.checks])
    for check in report.failed:
        if check.diff:
            console.print(f"\n[bold]{escape(check.name)}[/bold]", highlight=False)
            for line in check.diff:
                colour = _DIFF_COLOURS.get(line[:1], "default")
                console.print(f"  [{colour}]{escape(line)}[/{colour}]", highlight=False)
    if report.fingerprints == 0:
        console.print("[yellow]the restore point holds no fingerprints[/yellow] (the plan's spec.verification chose none, "
                      "or the backup predates them): only the consistency checks ran", highlight=False)
    failed = len(report.failed)
    verdict = f"[green]PASSED[/green]: all {len(report.checks)} checks" if not failed else \
        f"[red]FAILED[/red]: {failed} of {len(report.checks)} checks failed ({escape(', '.join(c.name for c in report.failed[:3]))}" \
        + (", ..." if failed > 3 else "") + ")"
    console.print("\n" + verdict, highlight=False)
