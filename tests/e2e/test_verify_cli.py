"""`mlark verify` (issue 9, item 5): the seed scenario backed up, then verified live against its
restore point: it passes as it is; a changed file in the workbench or an extra registered
model fails with the check named, its diff, and exit code 7. Every change is undone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from mlark.cli.common import VERIFY_FAILED_EXIT
from mlark.dev.cluster import kubeconfig_path
from mlark.kube.exec import exec_capture
from tests.e2e.story import DEMO, REGISTRIES, Story, read_workbench_file, workbench_pod, write_plan, write_workbench_file
from tests.verify.test_scenario import registered_intruder

pytestmark = pytest.mark.cluster
PLAN = Path(__file__).resolve().parents[2] / "examples" / "plans" / "rhoai-demo.yaml"
WORKBENCH = f"files {DEMO}/rodolfo-workbench"
NOTES = "verify-notes.md"


@pytest.fixture(scope="module")
def story(scenario: Any, kube_primary: ApiClient, tmp_path_factory: pytest.TempPathFactory) -> Story:
    directory = tmp_path_factory.mktemp("verify-cli")
    story = Story(repository=directory / "repository", plan=directory / "plan.yaml", kubeconfig=kubeconfig_path("primary"))
    write_plan(PLAN, story.plan, story.repository)
    story.mlark("repo", "init", "--repo", str(story.repository))
    write_workbench_file(kube_primary, NOTES, b"first draft\n")
    point = story.json("backup", "create", "--plan", str(story.plan))["restore_point"]
    assert point["phase"] == "Completed", point["results"]
    return story


def verify(story: Story, *args: str) -> tuple[int, str, str]:
    result = story.mlark("verify", "--from-backup", "latest", "--plan", str(story.plan), *args, check=False)
    return result.returncode, result.stdout, result.stderr


def checks(stdout: str) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in json.loads(stdout)["checks"]}


def test_the_live_scenario_passes_against_its_restore_point(story: Story) -> None:
    code, stdout, stderr = verify(story, "-o", "json")
    assert code == 0, stdout[-3000:] + stderr[-2000:]
    report = json.loads(stdout)
    assert report["passed"] is True and report["namespaces"] == {DEMO: DEMO, REGISTRIES: REGISTRIES}
    found = checks(stdout)
    assert {"inference rhoai-demo/iris", WORKBENCH, "registry rhoai-model-registries/rhoai-registry",
            "database rhoai-demo/mariadb-dspa", "pipelines rhoai-demo/dspa", "consistency secrets"} <= set(found)
    assert report["fingerprints"] == len([c for c in found.values() if c["kind"] != "consistency"])
    assert "equal" in found[WORKBENCH]["message"]
    # For people: a table of checks and the verdict.
    code, stdout, _ = verify(story)
    assert code == 0 and "PASSED" in stdout and WORKBENCH in stdout


def test_a_changed_workbench_file_fails_with_the_file_named(story: Story, kube_primary: ApiClient) -> None:
    write_workbench_file(kube_primary, NOTES, b"second draft, never backed up\n")
    try:
        code, stdout, stderr = verify(story, "-o", "json")
        table_code, table, _ = verify(story)
    finally:
        write_workbench_file(kube_primary, NOTES, b"first draft\n")
    assert code == VERIFY_FAILED_EXIT == table_code, stderr[-2000:]
    failed = {name: check for name, check in checks(stdout).items() if not check["passed"]}
    assert list(failed) == [WORKBENCH], failed
    assert any(line.startswith(f'~ files["./{NOTES}"].') for line in failed[WORKBENCH]["diff"]), failed[WORKBENCH]
    assert json.loads(stdout)["passed"] is False
    assert "FAILED: 1 of" in table and WORKBENCH in table and f'files["./{NOTES}"]' in table
    assert read_workbench_file(kube_primary, NOTES) == b"first draft\n"
    assert verify(story)[0] == 0  # undone: passes again


def test_an_extra_registered_model_fails_the_registry_and_its_database(story: Story, kube_primary: ApiClient) -> None:
    with registered_intruder(kube_primary):
        code, stdout, _ = verify(story, "-o", "json")
    assert code == VERIFY_FAILED_EXIT
    failed = {name: check for name, check in checks(stdout).items() if not check["passed"]}
    assert set(failed) == {"registry rhoai-model-registries/rhoai-registry", "database rhoai-model-registries/model-registry-db"}
    assert "intruder-model" in failed["registry rhoai-model-registries/rhoai-registry"]["message"]


def test_a_deleted_file_and_a_missing_namespace_are_named(story: Story, kube_primary: ApiClient) -> None:
    exec_capture(kube_primary, DEMO, workbench_pod(kube_primary), "rodolfo-workbench", ["rm", "-f", NOTES]).check()
    try:
        code, stdout, _ = verify(story, "-o", "json")
    finally:
        write_workbench_file(kube_primary, NOTES, b"first draft\n")
    assert code == VERIFY_FAILED_EXIT
    assert f'- files["./{NOTES}"]' in "\n".join(checks(stdout)[WORKBENCH]["diff"])

    code, stdout, _ = verify(story, "--namespace-mapping", f"{DEMO}=verify-not-restored", "-o", "json")
    assert code == VERIFY_FAILED_EXIT
    found = checks(stdout)
    assert "namespace verify-not-restored does not exist" in found["namespace verify-not-restored"]["message"]
    assert "verify-not-restored" in found[WORKBENCH]["message"]


def test_bad_options_are_one_clear_message_and_exit_2(story: Story) -> None:
    code, stdout, stderr = verify(story, "--namespace-mapping", "not-captured=somewhere")
    assert code == 2 and "not-captured, not in the restore point" in stderr and "Traceback" not in stderr
    code, _, stderr = verify(story, "--namespace-mapping", "no-equals-sign")
    assert code == 2 and "write SOURCE=TARGET" in stderr
    result = story.mlark("verify", "--from-backup", "0000dead", "--plan", str(story.plan), check=False)
    assert result.returncode == 2 and "no restore point matches '0000dead'" in result.stderr


def test_a_restore_beside_the_source_verifies_with_the_namespace_mapping(story: Story, kube_primary: ApiClient) -> None:
    """rhoai-demo restored as a copy in another namespace; verify checks the copy (and the live
    registries namespace, not restored, as it is)."""
    copy = "rhoai-demo-verified"
    restored = story.json("restore", "create", "--from-backup", "latest", "--plan", str(story.plan), "--without-operators",
                          "--namespace", DEMO, "--namespace-mapping", f"{DEMO}={copy}")
    try:
        assert restored["phase"] == "Completed", [f for f in restored["objects"] + restored["data"] if f["outcome"] == "failed"]
        code, stdout, stderr = verify(story, "--namespace-mapping", f"{DEMO}={copy}", "--wait", "240",
                                      "--skip", "*model-catalog*", "-o", "json")
        assert code == 0, stdout[-4000:] + stderr[-2000:]
        report = json.loads(stdout)
        assert report["namespaces"] == {DEMO: copy, REGISTRIES: REGISTRIES}
        assert report["skipped"] == ["database rhoai-model-registries/model-catalog-postgres"]
        assert {"inference rhoai-demo/iris", WORKBENCH, "pipelines rhoai-demo/dspa"} <= set(checks(stdout))
        # The copy's workbench is what is measured: a file changed there fails the check.
        write_workbench_file(kube_primary, NOTES, b"changed in the copy only\n", namespace=copy)
        code, stdout, _ = verify(story, "--namespace-mapping", f"{DEMO}={copy}", "--skip", "*model-catalog*", "-o", "json")
        assert code == VERIFY_FAILED_EXIT
        assert [name for name, check in checks(stdout).items() if not check["passed"]] == [WORKBENCH]
    finally:
        from mlark.kube.apply import delete

        delete(kube_primary, "v1", "Namespace", copy)
