"""`mlark dev scenario ...`: deploy, show and destroy the demo scenario on a local cluster."""

from __future__ import annotations

from typing import Any

import typer

from mlark.cli.output import OUTPUT_OPTION, OutputFormat, emit_machine, error_console, fail, print_table
from mlark.dev.scenario import UnknownScenario, check_name

app = typer.Typer(help="The demo scenario: an OpenShift AI data science project (seed 000).", no_args_is_help=True)

NAME_ARGUMENT = typer.Argument(..., help="Scenario name (only: rhoai-demo).")
CLUSTER_OPTION = typer.Option("primary", "--cluster", "-c", help="Local cluster to use: primary or recovery.")


def _progress(message: str) -> None:
    error_console.print(f"[dim]·[/dim] {message}", highlight=False)


def _connect(name: str, cluster: str) -> tuple[Any, Any]:
    """Validate the name first (one clear error), then reach the cluster and the S3 service."""
    try:
        check_name(name)
    except UnknownScenario as error:
        raise fail(str(error)) from None
    from mlark.dev.cluster import kubeconfig_path
    from mlark.dev.services.s3 import s3_endpoint, s3_ready
    from mlark.kube.client import api_client

    try:
        path = kubeconfig_path(cluster)
    except Exception as error:  # an unknown cluster name, reported as such
        raise fail(str(error)) from None
    if not path.exists():
        raise fail(f"cluster {cluster!r} is not up (no kubeconfig at {path}); run `mlark dev env up` first")
    endpoint = s3_endpoint()
    if not s3_ready(endpoint):
        raise fail(f"the local S3 service does not answer at {endpoint.endpoint}; run `mlark dev env up` first")
    return api_client(path), endpoint


def _guarded(action: Any) -> Any:
    from mlark.dev.scenario.kube import ScenarioError

    try:
        return action()
    except ScenarioError as error:
        raise fail(str(error)) from None


@app.command()
def deploy(name: str = NAME_ARGUMENT, cluster: str = CLUSTER_OPTION, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Deploy the scenario (idempotent: completes or refreshes what is there)."""
    from mlark.dev.scenario.deploy import deploy as run_deploy

    api, s3 = _connect(name, cluster)
    info = _guarded(lambda: run_deploy(api, s3, _progress))
    if not emit_machine(info, output):
        print_table(f"scenario {name} on {cluster}", ["what", "where"], [
            ("namespaces", ", ".join(info.namespaces)), ("bucket", info.bucket), ("model", info.model_uri),
            ("pipelines db", f"{info.pipelines_db.namespace}/{info.pipelines_db.deployment}"),
            ("registry db", f"{info.registry_db.namespace}/{info.registry_db.deployment}"),
            ("workflow", info.workflow)])


@app.command()
def destroy(name: str = NAME_ARGUMENT, cluster: str = CLUSTER_OPTION) -> None:
    """Remove the scenario's namespaces, DataScienceCluster and bucket (the CRDs stay)."""
    from mlark.dev.scenario.deploy import destroy as run_destroy

    api, s3 = _connect(name, cluster)
    _guarded(lambda: run_destroy(api, s3, _progress))


@app.command()
def show(name: str = NAME_ARGUMENT, cluster: str = CLUSTER_OPTION, output: OutputFormat = OUTPUT_OPTION,
         predict: bool = typer.Option(True, "--predict/--no-predict", help="Ask the iris predictor for the seed's prediction.")) -> None:
    """What is running and how to reach it, with a real iris prediction through a port-forward."""
    from mlark.dev.scenario.report import build_report

    api, s3 = _connect(name, cluster)
    report = _guarded(lambda: build_report(api, s3, with_prediction=predict))
    if emit_machine(report, output):
        return
    print_table("objects", ["kind", "namespace", "name", "state"],
                [(row.kind, row.namespace or "", row.name, row.state) for row in report.objects])
    print_table("volumes", ["namespace", "pvc", "phase", "class", "size", "modes"],
                [(row.namespace, row.name, row.phase, row.storage_class, row.capacity, ",".join(row.access_modes)) for row in report.pvcs])
    print_table("pods", ["namespace", "pod", "phase", "ready", "node"],
                [(row.namespace, row.name, row.phase, row.ready, row.node) for row in report.pods])
    if report.prediction:
        typer.echo(f"iris prediction via {report.prediction.pod}:8080{report.prediction.path} → {report.prediction.classes}")
    elif predict:
        typer.echo(f"iris prediction failed: {report.prediction_error}")
    print_table("how to reach it", ["what", "how"], [(hint.what, hint.how) for hint in report.reach])
