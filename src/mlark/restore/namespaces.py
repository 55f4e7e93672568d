"""Rewrite namespace references inside an object for a mapped restore (rhoai-demo -> rhoai-demo-drill).

Handled, anywhere in the object (`data` of Secrets decoded first):
  - a field named `namespace` whose value is a mapped namespace (metadata, RoleBinding subjects,
    secret references, a ConfigMap entry called `namespace`), and `namespaces` lists;
  - `kubernetes.io/metadata.name` in label selectors (NetworkPolicy namespaceSelector);
  - service DNS names `<name>.<ns>.svc[.cluster.local]` inside any string (DSPA and database
    hosts, S3 endpoints, URLs);
  - the workbench base URL `/notebook/<ns>/<name>` and `--namespace=<ns>` arguments;
  - a Namespace's own name and its `kubernetes.io/metadata.name` label.
Not handled (documented in docs/restore.md): bare `<name>.<ns>` hosts, namespaces inside opaque
blobs (the last-applied-configuration annotation, binary Secret values), and free text.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from typing import Any

Obj = dict[str, Any]
_NS_LABEL = "kubernetes.io/metadata.name"


class NamespaceRewriter:
    def __init__(self, mapping: dict[str, str]) -> None:
        self.mapping = {source: target for source, target in mapping.items() if source != target}
        self._pattern = _pattern(frozenset(self.mapping)) if self.mapping else None
        self.rewrites: list[str] = []

    def _note(self, path: str, old: Any, new: Any) -> None:
        self.rewrites.append(f"{path}: {old} -> {new}")

    def text(self, value: str, path: str) -> str:
        if self._pattern is None:
            return value
        new = self._pattern.sub(lambda match: self.mapping[match.group(0)], value)
        if new != value:
            self._note(path, value, new)
        return new

    def name(self, value: Any, path: str) -> Any:
        if isinstance(value, str) and value in self.mapping:
            self._note(path, value, self.mapping[value])
            return self.mapping[value]
        return value

    def walk(self, node: Any, path: str) -> Any:
        if isinstance(node, dict):
            return {key: self._field(key, value, f"{path}.{key}" if path else key) for key, value in node.items()}
        if isinstance(node, list):
            return [self.walk(item, f"{path}[{index}]") for index, item in enumerate(node)]
        if isinstance(node, str):
            return self.text(node, path)
        return node

    def _field(self, key: str, value: Any, path: str) -> Any:
        if key == "namespace" and isinstance(value, str):
            return self.text(self.name(value, path), path)
        if key == "namespaces" and isinstance(value, list):
            return [self.name(item, f"{path}[{i}]") for i, item in enumerate(value)]
        if key == "matchLabels" and isinstance(value, dict) and _NS_LABEL in value:
            value = {**value, _NS_LABEL: self.name(value[_NS_LABEL], f"{path}.{_NS_LABEL}")}
        if key == "matchExpressions" and isinstance(value, list):
            value = [self._expression(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return self.walk(value, path)

    def _expression(self, item: Any, path: str) -> Any:
        if isinstance(item, dict) and item.get("key") == _NS_LABEL and isinstance(item.get("values"), list):
            return {**item, "values": [self.name(v, f"{path}.values") for v in item["values"]]}
        return item

    def secret_data(self, data: dict[str, str], path: str) -> dict[str, str]:
        """Secret values are base64: rewrite the ones that decode to UTF-8 text."""
        rewritten = {}
        for key, encoded in data.items():
            try:
                text = base64.b64decode(encoded, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                rewritten[key] = encoded
                continue
            new = self.text(text, f"{path}.{key}")
            rewritten[key] = base64.b64encode(new.encode()).decode() if new != text else encoded
        return rewritten


@functools.lru_cache(maxsize=8)
def _pattern(names: frozenset[str]) -> re.Pattern[str]:
    """One alternation of the mapped names, replaced through the mapping, so a->b, b->c never
    chains (built once per mapping: a restore rewrites thousands of objects with the same one)."""
    alternation = "|".join(re.escape(name) for name in sorted(names, key=lambda name: (-len(name), name)))
    return re.compile(
        rf"(?:(?<=\.)(?P<svc>{alternation})(?=\.svc\b))|(?:(?<=/notebook/)(?P<nb>{alternation})(?=/))"
        rf"|(?:(?<=--namespace=)(?P<arg>{alternation})\b)"
    )


def map_namespaces(obj: Obj, mapping: dict[str, str]) -> tuple[Obj, list[str]]:
    """A copy of `obj` with every handled namespace reference mapped, and what was rewritten."""
    rewriter = NamespaceRewriter(mapping)
    if not rewriter.mapping:
        return obj, []
    result: Obj = rewriter.walk(obj, "")
    if obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
        result = _rename_namespace(result, rewriter)
    if obj.get("kind") == "Secret" and isinstance(obj.get("data"), dict):
        result["data"] = rewriter.secret_data(obj["data"], "data")
    return result, rewriter.rewrites


def _rename_namespace(obj: Obj, rewriter: NamespaceRewriter) -> Obj:
    metadata = dict(obj["metadata"])
    metadata["name"] = rewriter.name(metadata["name"], "metadata.name")
    labels = dict(metadata.get("labels") or {})
    if _NS_LABEL in labels:
        labels[_NS_LABEL] = metadata["name"]
        metadata["labels"] = labels
    return {**obj, "metadata": metadata}
