"""The `mlark` command: subcommands are registered here and live in their own modules."""

from __future__ import annotations

import typer

from mlark import __version__
from mlark.cli import backup, dev, plan, repo, restore

app = typer.Typer(
    name="mlark",
    help=(
        "Back up, restore and prove the recovery of AI/ML platforms on Kubernetes as one unit.\n\n"
        "Start with `mlark dev env up` for a local environment, or `mlark repo --help` for the repository."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(plan.app, name="plan")
app.add_typer(backup.app, name="backup")
app.add_typer(restore.app, name="restore")
app.add_typer(repo.app, name="repo")
app.add_typer(dev.app, name="dev")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlark {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """mlark: one recoverable unit for your ML platform."""


def run() -> None:
    app()
