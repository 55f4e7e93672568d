"""Rendering of command results: readable tables for people, JSON or YAML for machines."""

from __future__ import annotations

import enum
import json
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import typer
import yaml
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

console = Console()
error_console = Console(stderr=True)


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"
    yaml = "yaml"


OUTPUT_OPTION = typer.Option(
    OutputFormat.table, "--output", "-o", help="Output format: table for people, json or yaml for machines."
)


def to_plain(value: Any) -> Any:
    """Turn pydantic models (and lists of them) into plain JSON-compatible data."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(item) for item in value]
    return value


def emit_machine(value: Any, output: OutputFormat) -> bool:
    """Print value as JSON or YAML when asked; return False when a table is wanted instead."""
    if output is OutputFormat.json:
        sys.stdout.write(json.dumps(to_plain(value), indent=2, sort_keys=False) + "\n")
        return True
    if output is OutputFormat.yaml:
        sys.stdout.write(yaml.safe_dump(to_plain(value), sort_keys=False))
        return True
    return False


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    table = Table(title=title, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear error line and return the Exit to raise."""
    error_console.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    return typer.Exit(code)
