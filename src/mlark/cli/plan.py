"""`mlark plan ...`: check a plan, and see what it selects on a cluster right now."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from mlark.cli.common import CONTEXT, KUBECONFIG, cluster, errors
from mlark.cli.output import OUTPUT_OPTION, OutputFormat, console, emit_machine, print_table
from mlark.plan.loader import load_plan
from mlark.plan.models import Plan

app = typer.Typer(help="Plans as code: what to protect, where to, how often, how fast it must come back.",
                  no_args_is_help=True)
PLAN_ARGUMENT = typer.Argument(..., help="The plan's YAML file.", exists=False)


@app.command()
def validate(plan_file: Path = PLAN_ARGUMENT, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Check a plan file: every problem named with its field and line. Exit 2 if invalid.

    Example: mlark plan validate examples/plans/rhoai-demo.yaml
    """
    with errors():
        plan = load_plan(plan_file)
    if emit_machine(plan.to_manifest(), output):
        return
    spec = plan.spec
    console.print(f"plan [bold]{plan.name}[/bold] is valid: namespaces {spec.namespaces.names + spec.namespaces.globs or 'by selector'}, "
                  f"targets {', '.join(t.name for t in spec.targets)}, schedule {spec.schedule or 'none'}", highlight=False)


@app.command()
def show(plan_file: Path = PLAN_ARGUMENT, kubeconfig: Path | None = KUBECONFIG, context: str | None = CONTEXT,
         list_artifacts: bool = typer.Option(False, "--list-artifacts", help="Also list the objects under each model "
                                             "artifact location (contacts the application's object storage)."),
         output: OutputFormat = OUTPUT_OPTION) -> None:
    """What the plan selects on the cluster right now: namespaces (and why), objects by kind,
    volumes, databases and model artifact locations. Changes nothing, and asks only the
    Kubernetes API: the artifacts' storage is contacted only with --list-artifacts."""
    from mlark.backup.collect import collect
    from mlark.backup.data import artifact_uris, plan_data
    from mlark.backup.streams import Recorder

    with errors():
        plan = load_plan(plan_file)
        api = cluster(kubeconfig, context)
        collection = collect(api, plan)
        # Without --list-artifacts the artifacts are located from the objects, never listed.
        captures = plan_data(api, plan if list_artifacts else _without_artifacts(plan), collection.objects, Recorder())
    selection = collection.namespaces
    report = {
        "plan": plan.name,
        "namespaces": {name: selection.reasons.get(name, []) for name in selection.selected},
        "missing_namespaces": selection.missing,
        "objects": dict(Counter(obj["kind"] for obj in collection.objects)),
        "artifact_locations": artifact_uris(collection.objects) if plan.spec.artifacts.capture else {},
        "artifacts_listed": list_artifacts,
        "streams": [stream.name for stream in captures.streams],
    }
    if emit_machine(report, output):
        return
    print_table(f"namespaces selected by {plan.name}", ["namespace", "why"],
                [(name, ", ".join(why)) for name, why in report["namespaces"].items()])
    if selection.missing:
        console.print(f"[yellow]not on the cluster:[/yellow] {', '.join(selection.missing)}")
    print_table("objects", ["kind", "count"], sorted(report["objects"].items()))
    print_table("model artifact locations", ["location", "referenced by"],
                [(uri, ", ".join(referrers)) for uri, referrers in report["artifact_locations"].items()])
    print_table("data to capture", ["stream"], [[name] for name in report["streams"]])
    if report["artifact_locations"] and not list_artifacts:
        console.print("artifact files are not listed (that needs their object storage): add --list-artifacts", highlight=False)


def _without_artifacts(plan: Plan) -> Plan:
    spec = plan.spec.model_copy(update={"artifacts": plan.spec.artifacts.model_copy(update={"capture": False})})
    return plan.model_copy(update={"spec": spec})
