"""Rendering of command results: readable tables for people, JSON or YAML for machines."""

from __future__ import annotations

import enum
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import typer
import yaml
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from rich.console import Console
from rich.markup import escape
from rich.table import Table

# Piped output is not cut to 80 columns: tables stay readable in logs and CI (COLUMNS still wins).
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
console = Console(width=_WIDTH)
error_console = Console(stderr=True, width=_WIDTH)


class OutputFormat(str, enum.Enum):
    table = "table"
    json = "json"
    yaml = "yaml"


OUTPUT_OPTION = typer.Option(
    OutputFormat.table, "--output", "-o", help="Output format: table for people, json or yaml for machines."
)


_SCALARS = (str, int, float, bool)


def to_plain(value: Any) -> Any:
    """Plain JSON-compatible data of any command result: pydantic models (by field name, as
    `model_dump(mode="json")`), and datetimes, enums, paths, sets ... wherever they sit in a
    dict or list. The one place JSON and YAML output is made from, so no command meets a
    value `json.dumps` cannot write."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {_plain_key(key): to_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_plain(item) for item in value]
    if value is None or type(value) in _SCALARS:  # exact types: a str Enum is not written as a str by YAML
        return value
    # datetime, date, Enum, Path, UUID, Decimal, bytes ...: pydantic's JSON representation;
    # anything it does not know becomes its str() rather than a traceback.
    return to_jsonable_python(value, fallback=str)


def _plain_key(key: Any) -> Any:
    if key is None or type(key) in _SCALARS:
        return key
    return str(to_plain(key))  # an Enum or a datetime as a key: its value, as JSON keys are strings


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
    table = Table(title=title, show_edge=False, header_style="bold", show_header=any(columns))
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one clear error line and return the Exit to raise."""
    # The message is text, never markup: names like `[/NAME,...]` or `[default]` must print as they are.
    error_console.print(f"[bold red]error:[/bold red] {escape(message)}", highlight=False)
    return typer.Exit(code)


class _ManifestDumper(yaml.SafeDumper):
    """YAML as people write manifests: multi-line strings as literal blocks, no anchors."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_ManifestDumper.add_representer(str, _string)


def dump_manifests(objects: list[dict[str, Any]]) -> str:
    """Kubernetes objects as one multi-document YAML stream, for `kubectl apply -f -`."""
    return yaml.dump_all(objects, Dumper=_ManifestDumper, sort_keys=False)
