"""`mlark dev ...`: the local environment and the demo scenario."""

from __future__ import annotations

import typer

from mlark.cli import dev_scenario
from rich.markup import escape

from mlark.cli.output import OUTPUT_OPTION, OutputFormat, emit_machine, error_console, fail, print_table
from mlark.dev import environment
from mlark.dev.process import DevEnvironmentError

app = typer.Typer(
    help="Local development environment: Kubernetes, S3, databases, model server, scenario.", no_args_is_help=True
)
env_app = typer.Typer(
    help=(
        "The local environment: real kube-apiserver clusters (`primary`, `recovery`) with kwok nodes, "
        "SeaweedFS S3, PostgreSQL, MariaDB, Redis and an MLServer, all on 127.0.0.1.\n\n"
        "State lives under $MLARK_DEV_HOME; ports are offsets of $MLARK_DEV_PORT_BASE (default 17000)."
    ),
    no_args_is_help=True,
)
app.add_typer(env_app, name="env")
app.add_typer(dev_scenario.app, name="scenario")

CLUSTER_OPTION = typer.Option(
    None, "--cluster", "-c", help="Cluster to start (repeatable): primary, recovery. Default: both."
)


def _progress(message: str) -> None:
    # stderr: stdout holds only the result (`-o json` must parse); a long first build reports
    # every few seconds, so a log shows the wait and what is being built.
    error_console.print(f"[dim]•[/dim] {escape(message)}", highlight=False)


@env_app.command("up")
def env_up(clusters: list[str] = CLUSTER_OPTION, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Start everything that is not running yet. Running it twice is fine.

    The first run builds kube-apiserver, etcd and kwok from the Go module proxy (about 13
    minutes on 2 cores, progress on stderr); later runs reuse the binaries and start in seconds.
    """
    try:
        with error_console.status("starting the local environment") as live:  # drawn on a terminal only

            def progress(message: str) -> None:
                _progress(message)
                live.update(escape(message))

            status = environment.up(clusters or None, progress=progress)
    except DevEnvironmentError as error:
        raise fail(str(error))
    _show(status, output)


@env_app.command("down")
def env_down() -> None:
    """Stop every cluster and service. Data stays on disk; `up` brings it back."""
    try:
        environment.down(progress=_progress)
    except DevEnvironmentError as error:
        raise fail(str(error))


@env_app.command("status")
def env_status(output: OutputFormat = OUTPUT_OPTION) -> None:
    """What is running and how to reach it: kubeconfigs, S3 endpoint and keys, database DSNs."""
    _show(environment.status(), output)


def _show(status: environment.EnvironmentStatus, output: OutputFormat) -> None:
    if emit_machine(status, output):
        return
    print_table(
        "clusters",
        ["cluster", "running", "version", "api server", "kubeconfig"],
        [[c.name, _yes(c.running), c.version or "-", c.api_server, c.kubeconfig] for c in status.clusters],
    )
    print_table(
        "services",
        ["service", "running", "endpoint"],
        [[s.name, _yes(s.running), s.endpoint] for s in status.services],
    )


def _yes(value: bool) -> str:
    return "yes" if value else "no"
