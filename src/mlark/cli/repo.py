"""`mlark repo ...`: the repository commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Work with a repository of restore points (deduplicated, compressed, encrypted).", no_args_is_help=True)
