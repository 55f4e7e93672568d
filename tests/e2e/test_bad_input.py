"""Bad plans and bad flags: one clear message, a non-zero exit code, nothing changed on the cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from mlark.dev.cluster import kubeconfig_path
from mlark.kube.discovery import resource_for
from mlark.kube.listing import list_objects
from tests.e2e.story import Story, write_plan

pytestmark = pytest.mark.cluster
PLAN = Path(__file__).resolve().parents[2] / "examples" / "plans" / "rhoai-demo.yaml"


@pytest.fixture
def story(scenario: Any, tmp_path: Path) -> Story:
    story = Story(repository=tmp_path / "repository", plan=tmp_path / "plan.yaml", kubeconfig=kubeconfig_path("primary"))
    write_plan(PLAN, story.plan, story.repository)
    story.mlark("repo", "init", "--repo", str(story.repository))
    return story


def _cluster_state(api: ApiClient) -> tuple[set[str], int]:
    """Namespaces and the number of pods: a mover pod or a restored object would show. Scratch
    namespaces of earlier tests (labelled, deleted in the background) come and go on their own."""
    scratch = {ns["metadata"]["name"] for ns in list_objects(api, resource_for(api, "v1", "Namespace"))
               if (ns["metadata"].get("labels") or {}).get("mlark.dev/test") == "true"
               or (ns.get("status") or {}).get("phase") == "Terminating"}
    namespaces = {ns["metadata"]["name"] for ns in list_objects(api, resource_for(api, "v1", "Namespace"))} - scratch
    pods = [pod for pod in list_objects(api, resource_for(api, "v1", "Pod")) if pod["metadata"]["namespace"] not in scratch]
    return namespaces, len(pods)


def _fails(story: Story, *args: str, code: int, says: list[str], kubeconfig: Path | None = None) -> None:
    result = story.mlark(*args, check=False, kubeconfig=kubeconfig)
    assert result.returncode == code, (result.returncode, result.stdout[-500:], result.stderr[-500:])
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert lines and lines[0].startswith("error:"), result.stderr
    for text in says:
        assert text in result.stderr, (text, result.stderr)
    assert "Traceback" not in result.stderr


BAD_PLANS = {
    "malformed YAML": ("apiVersion: mlark.io/v1alpha1\nkind: Plan\nmetadata: {name: x\n", ["plan.yaml:"]),
    "unknown field": ("apiVersion: mlark.io/v1alpha1\nkind: Plan\nmetadata: {name: x}\nspec:\n  namespaces: {names: [a]}\n"
                      "  targets: [{name: t, repository: /r, passwordFrom: {env: P}}]\n  volumez: {}\n", ["volumez", ":7:"]),
    "bad schedule": ("apiVersion: mlark.io/v1alpha1\nkind: Plan\nmetadata: {name: x}\nspec:\n  namespaces: {names: [a]}\n"
                     "  targets: [{name: t, repository: /r, passwordFrom: {env: P}}]\n  schedule: every hour\n", ["schedule"]),
}


@pytest.mark.parametrize("case", sorted(BAD_PLANS))
def test_bad_plan_is_refused_before_touching_anything(story: Story, kube_primary: ApiClient, tmp_path: Path, case: str) -> None:
    text, says = BAD_PLANS[case]
    bad = tmp_path / "plan.yaml"
    bad.write_text(text)
    before = _cluster_state(kube_primary)
    _fails(story, "plan", "validate", str(bad), code=2, says=says)
    _fails(story, "backup", "create", "--plan", str(bad), "--repo", str(story.repository), code=2, says=says)
    assert _cluster_state(kube_primary) == before
    assert story.json("backup", "list", "--repo", str(story.repository)) == []


BAD_RESTORE_FLAGS = {
    "mapping without =": (["--namespace-mapping", "rhoai-demo"], ["SOURCE=TARGET"]),
    "mapping to an invalid name": (["--namespace-mapping", "rhoai-demo=Not_A_Namespace"], ["Not_A_Namespace"]),
    "lower-case kind": (["--exclude", "deployment/model-catalog"], ["Kind"]),
    "unknown restore point": (["--from-backup", "ffffffffffff"], ["no restore point"]),
}


@pytest.mark.parametrize("case", sorted(BAD_RESTORE_FLAGS))
def test_bad_restore_flags_change_nothing(story: Story, kube_primary: ApiClient, case: str) -> None:
    flags, says = BAD_RESTORE_FLAGS[case]
    if "--from-backup" not in flags:
        flags = ["--from-backup", "latest", *flags]
    before = _cluster_state(kube_primary)
    _fails(story, "restore", "create", "--plan", str(story.plan), *flags, code=2, says=says)
    assert _cluster_state(kube_primary) == before


def test_wrong_password_and_missing_context_are_named(story: Story, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not the password")
    _fails(story, "backup", "list", "--repo", str(story.repository), "--password-file", str(wrong), code=12, says=["password"])
    _fails(story, "backup", "create", "--plan", str(story.plan), "--context", "no-such-context", code=20, says=["no-such-context"])
