"""Comparing fingerprints (pure): pass or fail, and a readable diff naming what changed.

Diff lines: `- path: value` (expected, missing now), `+ path: value` (new), `~ path: old → new`.
Paths read like Python: files["./notes.md"].sha256, outputs[0].data.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from mlark.verify.models import CheckResult, Fingerprint

MAX_DIFF_LINES = 40
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def verify(expected: list[Fingerprint], actual: list[Fingerprint]) -> list[CheckResult]:
    """One result per expected fingerprint, matched by name; a missing one fails."""
    by_name = {fingerprint.name: fingerprint for fingerprint in actual}
    results = []
    for fingerprint in expected:
        found = by_name.get(fingerprint.name)
        if found is None:
            results.append(CheckResult(name=fingerprint.name, kind=fingerprint.kind, passed=False,
                                       message="not recomputed: no fingerprint of this name was taken after the restore"))
        else:
            results.append(compare(fingerprint, found))
    return results


def compare(expected: Fingerprint, actual: Fingerprint) -> CheckResult:
    def result(passed: bool, message: str, diff: list[str] | None = None) -> CheckResult:
        return CheckResult(name=expected.name, kind=expected.kind, passed=passed, message=message, diff=diff or [])

    if expected.error is not None:
        return result(False, f"no reference: the fingerprint could not be taken at backup time: {expected.error}")
    if actual.error is not None:
        return result(False, f"could not be taken: {actual.error}")
    if expected.rule.startswith("similar:"):
        return _similar(expected, actual, float(expected.rule.partition(":")[2]), result)
    lines = diff(expected.data, actual.data)
    if not lines:
        return result(True, f"equal ({describe(expected)})")
    return result(False, _differs(lines), _capped(lines))


def _similar(expected: Fingerprint, actual: Fingerprint, threshold: float, result: Any) -> CheckResult:
    """Generative answers: the same HTTP status, and text at least `threshold` similar."""
    lines = diff(expected.data.get("status"), actual.data.get("status"), "status")
    if lines:
        return result(False, _differs(lines), lines)
    score = similarity(answer_text(expected.data), answer_text(actual.data))
    if score >= threshold:
        return result(True, f"similar: {score:.2f} ≥ {threshold:g}")
    lines = [f"- text: {_short(answer_text(expected.data))}", f"+ text: {_short(answer_text(actual.data))}"]
    return result(False, f"answer differs: similarity {score:.2f} < {threshold:g}", lines)


def _differs(lines: list[str]) -> str:
    more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
    return f"differs: {lines[0]}{more}"


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_DIFF_LINES:
        return lines
    return lines[:MAX_DIFF_LINES] + [f"… {len(lines) - MAX_DIFF_LINES} more differences"]


def diff(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Readable differences between two JSON-like values (dict keys in sorted order)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        lines: list[str] = []
        for key in sorted(set(expected) | set(actual), key=str):
            where = _join(path, key)
            if key not in actual:
                lines.append(f"- {where}: {_short(expected[key])}")
            elif key not in expected:
                lines.append(f"+ {where}: {_short(actual[key])}")
            else:
                lines += diff(expected[key], actual[key], where)
        return lines
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [line for index, (e, a) in enumerate(zip(expected, actual)) for line in diff(e, a, f"{path}[{index}]")]
    if expected != actual or type(expected) is not type(actual) and not _same_number(expected, actual):
        return [f"~ {path or 'value'}: {_short(expected)} → {_short(actual)}"]
    return []


def _same_number(a: Any, b: Any) -> bool:
    return isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and a == b


def _join(path: str, key: Any) -> str:
    key = str(key)
    if _IDENTIFIER.match(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def similarity(a: str, b: str) -> float:
    """Token similarity in [0, 1] (1: same words in the same order)."""
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio()


def answer_text(data: dict[str, Any]) -> str:
    """The generated text of an inference fingerprint (the whole output when there is none)."""
    if isinstance(data.get("text"), str):
        return str(data["text"])
    return json.dumps(data.get("output"), sort_keys=True)


def describe(fingerprint: Fingerprint) -> str:
    """A few words on what a fingerprint covers, for the passing message."""
    data = fingerprint.data
    if fingerprint.kind == "files":
        files = data.get("files", {})
        return f"{len(files)} files, {sum(int(f.get('size', 0)) for f in files.values())} bytes"
    if fingerprint.kind == "database":
        tables = data.get("tables", {})
        return f"{len(tables)} tables, {sum(int(t.get('rows', 0)) for t in tables.values())} rows"
    if fingerprint.kind == "model-registry":
        models = data.get("models", {})
        return f"{len(models)} models, {sum(len(m.get('versions', {})) for m in models.values())} versions"
    if fingerprint.kind == "pipelines":
        return f"{len(data.get('pipelines', {}))} pipelines, {len(data.get('runs', {}))} runs"
    if fingerprint.kind == "artifacts":
        return f"{len(data.get('objects', {}))} objects"
    return f"HTTP {data.get('status')}"
