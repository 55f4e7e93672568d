"""Comparing fingerprints (pure): equality, readable diffs, errors, the similarity rule."""

from __future__ import annotations

from typing import Any

import pytest

from mlark.verify.compare import compare, diff, similarity, verify
from mlark.verify.fingerprints.files import parse_manifest
from mlark.verify.fingerprints.inference import generated_text, strip_volatile
from mlark.verify.fingerprints.pipelines import assemble as assemble_pipelines
from mlark.verify.fingerprints.registry import assemble as assemble_registry
from mlark.verify.models import Fingerprint
from mlark.verify.spec import annotated_requests, parse_verification


def fingerprint(data: dict[str, Any], kind: str = "files", rule: str = "equal", name: str = "files ns/home") -> Fingerprint:
    return Fingerprint(name=name, kind=kind, namespace="ns", subject={"namespace": "ns"}, data=data, rule=rule)  # type: ignore[arg-type]


FILES = {"files": {"./a.txt": {"size": 3, "sha256": "aa"}, "./b.txt": {"size": 5, "sha256": "bb"}}}


def test_equal_fingerprints_pass_with_a_summary() -> None:
    result = compare(fingerprint(FILES), fingerprint(FILES))
    assert result.passed and result.diff == []
    assert result.message == "equal (2 files, 8 bytes)"


def test_a_changed_file_is_named_with_old_and_new_values() -> None:
    changed = {"files": {**FILES["files"], "./b.txt": {"size": 5, "sha256": "cc"}}}
    result = compare(fingerprint(FILES), fingerprint(changed))
    assert not result.passed
    assert result.diff == ['~ files["./b.txt"].sha256: "bb" → "cc"']
    assert "./b.txt" in result.message


def test_added_and_missing_entries() -> None:
    actual = {"files": {"./a.txt": FILES["files"]["./a.txt"], "./new.txt": {"size": 1, "sha256": "dd"}}}
    lines = compare(fingerprint(FILES), fingerprint(actual)).diff
    assert lines == ['- files["./b.txt"]: {"sha256":"bb","size":5}', '+ files["./new.txt"]: {"sha256":"dd","size":1}']


def test_lists_compare_by_position_and_whole_when_lengths_differ() -> None:
    assert diff({"data": [0, 2]}, {"data": [0, 1]}) == ["~ data[1]: 2 → 1"]
    assert diff({"data": [0, 2]}, {"data": [0]}) == ["~ data: [0,2] → [0]"]
    assert diff({"n": 1}, {"n": 1.0}) == []


def test_an_error_on_either_side_fails_with_its_cause() -> None:
    broken = fingerprint({"error": "no running pod in ns with labels app=x"})
    after = compare(fingerprint(FILES), broken)
    assert not after.passed and after.message == "could not be taken: no running pod in ns with labels app=x"
    before = compare(broken, fingerprint(FILES))
    assert not before.passed and "at backup time" in before.message


def test_verify_matches_by_name_and_fails_what_was_not_recomputed() -> None:
    other = fingerprint(FILES, name="files ns/other")
    results = verify([fingerprint(FILES), other], [fingerprint(FILES)])
    assert [r.passed for r in results] == [True, False]
    assert "not recomputed" in results[1].message


def test_long_diffs_are_capped() -> None:
    many = {"files": {f"./{i}": {"size": i, "sha256": "x"} for i in range(100)}}
    result = compare(fingerprint({"files": {}}), fingerprint(many))
    assert len(result.diff) == 41 and result.diff[-1] == "… 60 more differences"
    assert result.message.endswith("(and 99 more)")


def test_similar_rule_for_generative_answers() -> None:
    def answer(text: str, status: int = 200) -> Fingerprint:
        return fingerprint({"status": status, "output": {}, "text": text}, kind="inference", rule="similar:0.8", name="inference ns/llm")

    base = "The capital of France is Paris . It is a large city on the Seine"
    assert compare(answer(base), answer(base.replace("large", "big"))).passed
    failed = compare(answer(base), answer("I do not know"))
    assert not failed.passed and failed.message.startswith("answer differs: similarity")
    assert not compare(answer(base), answer(base, status=503)).passed
    assert similarity("a b c", "a b c") == 1.0


def test_volatile_fields_and_generated_text() -> None:
    answer = {"id": "123", "created": 1, "choices": [{"text": " Paris", "index": 0}], "model": "opt"}
    assert strip_volatile(answer, {"id", "created"}) == {"choices": [{"text": " Paris", "index": 0}], "model": "opt"}
    assert generated_text(answer) == " Paris"
    assert generated_text({"choices": [{"message": {"content": "hi"}}]}) == "hi"


def test_file_manifest_parsing_and_exclusions() -> None:
    output = b"./a\0 12\0abc\0./.cache/x\0003\0def\0./odd\nname\0001\0fff\0"
    files = parse_manifest(output, ["./.cache/*"])
    assert files == {"./a": {"size": 12, "sha256": "abc"}, "./odd\nname": {"size": 1, "sha256": "fff"}}


def test_registry_rows_become_models_versions_artifacts() -> None:
    rows = [["M", "1", "iris", ""], ["V", "2", "1:v1", "1"], ["P", "1", "owner", "me"], ["P", "2", "version", "v1"],
            ["A", "2", "2:model", "s3://b/models/iris", "2", "kf.ModelArtifact"], ["V", "9", "7:lost", ""]]
    models = assemble_registry(rows)
    assert models["iris"] == {"properties": {"owner": "me"}, "versions": {"v1": {"properties": {"version": "v1"}, "artifacts": {
        "model": {"uri": "s3://b/models/iris", "state": "2", "type": "kf.ModelArtifact"}}}}}
    assert list(models["(no registered model)"]["versions"]) == ["lost"]


def test_pipeline_rows() -> None:
    rows = [["P", "train", "READY"], ["V", "train", "v1", "READY"], ["E", "Default", "AVAILABLE"],
            ["R", "u1", "run-1", "SUCCEEDED", "AVAILABLE", "train", "Default", "99"]]
    data = assemble_pipelines(rows)
    assert data["pipelines"] == {"train": {"status": "READY", "versions": {"v1": "READY"}}}
    assert data["runs"]["run-1 u1"]["state"] == "SUCCEEDED"


def test_verification_section_and_annotation() -> None:
    spec = parse_verification({"inference": [{"inferenceService": "ns/iris", "path": "/v2/models/iris/infer", "request": {}}]})
    assert spec.inference[0].inference_service == "ns/iris" and spec.inference[0].rule == "equal"
    with pytest.raises(ValueError, match="rule"):
        parse_verification({"inference": [{"inferenceService": "ns/x", "path": "/", "rule": "close"}]})
    with pytest.raises(ValueError):
        parse_verification({"unknown": 1})
    isvc = {"metadata": {"namespace": "ns", "name": "llm", "annotations": {
        "mlark.io/golden-requests": '[{"path": "/v1/completions", "request": {"prompt": "Hi", "temperature": 0}, "rule": "similar:0.9"}]'}}}
    [request] = annotated_requests(isvc)
    assert request.inference_service == "ns/llm" and request.rule == "similar:0.9"
