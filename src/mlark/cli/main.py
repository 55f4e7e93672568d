"""The `mlark` command. Each sub-command lives in its own module, imported only when used:
`mlark repo ...` must not pay for the Kubernetes client, nor `mlark --version` for anything."""

from __future__ import annotations

import importlib
import sys

import typer

from mlark import __version__

# name -> (module holding a typer app named `app`, one-line help shown by `mlark --help`)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "plan": ("mlark.cli.plan", "Plans as code: what to protect, where to, how often, how fast it must come back."),
    "backup": ("mlark.cli.backup", "Restore points: one consistent capture of everything a plan selects."),
    "restore": ("mlark.cli.restore", "Restore: bring a restore point back, whole or in part, here or on another cluster."),
    "drill": ("mlark.cli.drill", "Recovery drills: restore into a sandbox, verify, measure RTO/RPO, record for the auditor."),
    "audit": ("mlark.cli.audit", "The audit trail of drills: hash-chained records anyone can verify."),
    "repo": ("mlark.cli.repo", "Work with a repository of restore points (deduplicated, compressed, encrypted)."),
    "dev": ("mlark.cli.dev", "Local development environment: Kubernetes, S3, databases, model server, scenario."),
}
# name -> (module holding a function named `command`, one-line help): commands without sub-commands.
COMMANDS: dict[str, tuple[str, str]] = {
    "verify": ("mlark.cli.verify", "Compare live namespaces (restored, or the originals) with a restore point's fingerprints."),
}
HELP = (
    "Back up, restore and prove the recovery of AI/ML platforms on Kubernetes as one unit.\n\n"
    "Start with `mlark dev env up` for a local environment, `mlark plan validate` for a plan, "
    "`mlark backup create --plan PLAN`, `mlark restore create --from-backup latest` and "
    "`mlark verify --from-backup latest`."
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mlark {__version__}")
        raise typer.Exit()


def build(selected: str | None) -> typer.Typer:
    """The command tree; only `selected` (if any) is imported for real, the others are stubs
    that carry their help line."""
    app = typer.Typer(name="mlark", help=HELP, no_args_is_help=True, pretty_exceptions_enable=False)

    @app.callback()
    def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")) -> None:
        """mlark: one recoverable unit for your ML platform."""

    for name, (module, help_text) in SUBCOMMANDS.items():
        sub = importlib.import_module(module).app if name == selected else typer.Typer(help=help_text)
        app.add_typer(sub, name=name, help=help_text)
    for name, (module, help_text) in COMMANDS.items():
        if name == selected:
            app.command(name)(importlib.import_module(module).command)
        else:
            app.command(name, help=help_text, add_help_option=False)(_stub)
    return app


def _stub() -> None:
    """Stands for a command that was not imported: only its name and help line are shown."""


def _selected(argv: list[str]) -> str | None:
    return argv[0] if argv and (argv[0] in SUBCOMMANDS or argv[0] in COMMANDS) else None


def run() -> None:
    build(_selected(sys.argv[1:]))()
