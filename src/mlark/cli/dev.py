"""`mlark dev ...`: the local environment and the demo scenario."""

from __future__ import annotations

import typer

app = typer.Typer(help="Local development environment: Kubernetes, S3, databases, model server, scenario.", no_args_is_help=True)
