"""Read a plan file into a `Plan`, with errors that point at the line and column.

Pydantic reports where in the data a value is wrong (`spec.targets[0].name`); the YAML node
tree (`yaml.compose`) knows where each value sits in the file. Walking the tree along the
error's location joins the two, so a user sees `plan.yaml:7:5: spec.namespaces.globs[0]:
must be a string` rather than a stack trace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from mlark.plan.models import Plan

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class PlanIssue:
    path: str  # spec.namespaces.globs[0]
    line: int  # 1-based; 0 when unknown
    column: int  # 1-based; 0 when unknown
    message: str

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}:{self.column}" if self.line else source
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class PlanError(Exception):
    """A plan that cannot be used; `str()` is the message for the user, one issue per line."""

    def __init__(self, source: str, issues: list[PlanIssue]) -> None:
        self.source = source
        self.issues = issues
        super().__init__("\n".join(issue.render(source) for issue in issues))


def load_plan(path: str | Path) -> Plan:
    """Load and validate a plan file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PlanError(str(path), [PlanIssue("", 0, 0, f"cannot read the plan: {error}")]) from None
    return parse_plan(text, source=path.name)


def parse_plan(text: str, source: str = "<plan>") -> Plan:
    """Validate plan text; `source` names it in messages (the file name, usually)."""
    root = _compose(text, source)
    data = _construct(root, source)
    try:
        return Plan.model_validate(data)
    except ValidationError as error:
        issues = [_issue(root, data, detail) for detail in error.errors()]
        raise PlanError(source, sorted(issues, key=lambda issue: (issue.line, issue.column))) from None


def plan_from_dict(data: dict[str, Any], source: str = "<plan>") -> Plan:
    """Validate an already-parsed plan (a custom resource read from the API): no positions."""
    try:
        return Plan.model_validate(data)
    except ValidationError as error:
        raise PlanError(source, [_issue(None, data, detail) for detail in error.errors()]) from None


# --- YAML ------------------------------------------------------------------------------------


def _compose(text: str, source: str) -> yaml.Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(part for part in (error.context, error.problem) if part) or "invalid YAML"
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise PlanError(source, [PlanIssue("", line, column, f"invalid YAML: {problem}")]) from None
    except yaml.YAMLError as error:
        raise PlanError(source, [PlanIssue("", 0, 0, f"invalid YAML: {error}")]) from None
    if root is None:
        raise PlanError(source, [PlanIssue("", 0, 0, "the plan is empty")])
    _reject_duplicate_keys(root, source)
    return root


def _reject_duplicate_keys(node: yaml.Node, source: str) -> None:
    """YAML keeps the last of two equal keys; in a plan that silently drops a rule."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    mark = key.start_mark
                    issue = PlanIssue("", mark.line + 1, mark.column + 1, f"duplicate key {key.value!r}")
                    raise PlanError(source, [issue])
                seen.add(key.value)
            _reject_duplicate_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, source)


def _construct(root: yaml.Node, source: str) -> dict[str, Any]:
    loader = yaml.SafeLoader("")
    try:
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise PlanError(source, [PlanIssue("", line, column, f"invalid YAML: {error.problem}")]) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        mark = root.start_mark
        raise PlanError(source, [PlanIssue("", mark.line + 1, mark.column + 1, "a plan is a mapping (apiVersion, kind, metadata, spec)")])
    return data


# --- pydantic errors → positions -------------------------------------------------------------


def _issue(root: yaml.Node | None, data: Any, detail: ErrorDetails) -> PlanIssue:
    loc = _data_loc(data, detail["loc"], detail["type"])
    node = _node_at(root, loc, detail["type"]) if root is not None else None
    line, column = (node.start_mark.line + 1, node.start_mark.column + 1) if node is not None else (0, 0)
    return PlanIssue(_render_loc(loc), line, column, _message(detail))


def _data_loc(data: Any, loc: Loc, kind: str) -> Loc:
    """Keep the parts of pydantic's location that are real keys/indexes in the data.

    Union members and validator names also appear in `loc` (`literal['auto']`,
    `function-after[...]`); they are not places in the file.
    """
    kept: list[int | str] = []
    current = data
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(current, dict) and part in current:
            kept.append(part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            kept.append(part)
            current = current[part]
        elif last and kind == "missing" and isinstance(part, str):
            kept.append(part)  # the absent field: name it, point at its parent
    return tuple(kept)


def _node_at(root: yaml.Node, loc: Loc, kind: str) -> yaml.Node:
    node = root
    for position, part in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, yaml.MappingNode):
            pair = next(((key, value) for key, value in node.value if key.value == part), None)
            if pair is None:
                return node
            # An unknown field is best shown at its key; a bad value at the value.
            node = pair[0] if last and kind == "extra_forbidden" else pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return node
    return node


def _render_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_MESSAGES = {
    "missing": "is required",
    "extra_forbidden": "unknown field",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
}


def _message(detail: ErrorDetails) -> str:
    kind = detail["type"]
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "literal_error":
        expected = str(detail.get("ctx", {}).get("expected", "one of the allowed values"))
        # pydantic spells Python's booleans; the plan is YAML.
        return "must be " + expected.replace("True", "true").replace("False", "false").replace("'", "")
    if kind == "too_short" and detail.get("ctx", {}).get("min_length") == 1:
        return "needs at least one entry"
    if kind == "greater_than_equal":
        return f"must be at least {detail.get('ctx', {}).get('ge')}"
    message = detail["msg"]
    return message.removeprefix("Value error, ")
