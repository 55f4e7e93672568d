"""Which captured objects a restore selects: scope (partial restore) and exclusions. Pure."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from typing import Any, Callable

from mlark.restore.options import Exclusion, Scope
from mlark.restorepoint.models import ObjectRef

Obj = dict[str, Any]
LabelTest = Callable[[dict[str, str]], bool]

_SET_TERM = re.compile(r"^\s*([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")


def any_glob(value: str | None, patterns: list[str]) -> bool:
    """True when no patterns are given or one matches (a missing value matches nothing)."""
    if not patterns:
        return True
    return value is not None and any(fnmatchcase(value, pattern) for pattern in patterns)


def _split_terms(selector: str) -> list[str]:
    """Split on commas that are not inside the parentheses of an `in (...)` term."""
    terms, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += char
    return [term.strip() for term in [*terms, current] if term.strip()]


def _term_test(term: str) -> LabelTest:
    match = _SET_TERM.match(term)
    if match:
        key, operator, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for operator in ("!=", "==", "="):
        if operator in term:
            key, value = (part.strip() for part in term.split(operator, 1))
            if operator == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    if term.startswith("!"):
        return lambda labels: term[1:].strip() not in labels
    return lambda labels: term in labels


def label_selector(selector: str) -> LabelTest:
    """A Kubernetes label selector string as a predicate over an object's labels."""
    tests = [_term_test(term) for term in _split_terms(selector)]
    return lambda labels: all(test(labels) for test in tests)


def in_scope(obj: Obj, ref: ObjectRef, scope: Scope) -> bool:
    """Cluster-scoped objects are in a namespace-scoped restore: the namespaces need them."""
    if scope.namespaces and ref.namespace is not None and not any_glob(ref.namespace, scope.namespaces):
        return False
    if scope.namespaces and ref.kind == "Namespace" and not any_glob(ref.name, scope.namespaces):
        return False
    if scope.kinds and not any(kind.matches(ref.group, ref.kind) for kind in scope.kinds):
        return False
    if not any_glob(ref.name, scope.names):
        return False
    if scope.label_selector:
        labels = obj.get("metadata", {}).get("labels") or {}
        return label_selector(scope.label_selector)(labels)
    return True


def matching_exclusion(ref: ObjectRef, rules: list[Exclusion]) -> Exclusion | None:
    for rule in rules:
        if rule.group != ref.group or rule.kind != ref.kind:
            continue
        if rule.version is not None and rule.version != ref.version:
            continue
        if any_glob(ref.name, rule.names) and (not rule.namespaces or any_glob(ref.namespace, rule.namespaces)):
            return rule
    return None
