"""Scheduled drills: the CronJob, plan ConfigMap and audit claim, checked by the API server itself."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from kubernetes.client import ApiClient
from typer.testing import CliRunner

from mlark.cli import drill
from mlark.dev.cluster import kubeconfig_path
from mlark.drill.schedule import ScheduleError, ScheduleOptions, render_schedule
from mlark.kube.apply import get
from mlark.plan.loader import load_plan

PLAN = Path(__file__).resolve().parents[2] / "examples" / "plans" / "rhoai-demo.yaml"
runner = CliRunner()


def _options(**changes: object) -> ScheduleOptions:
    values: dict = {"name": "drill-rhoai-demo", "namespace": "mlark", "cron": "0 4 * * 0", "image": "mlark:test",
                    "service_account": "mlark", "password_secret": "mlark-repository:secret-word"}
    return ScheduleOptions(**{**values, **changes})


def _plan_with_password(tmp_path: Path, password_from: dict) -> Path:
    plan = yaml.safe_load(PLAN.read_text())
    plan["spec"]["targets"] = [{"name": "s3", "repository": "s3:http://s3.example:8333/backups/rhoai", "passwordFrom": password_from}]
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(plan))
    return path


def _pod(objects: list[dict]) -> dict:
    cron_job = next(obj for obj in objects if obj["kind"] == "CronJob")
    return cron_job["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def test_the_cron_job_runs_the_drill_once_at_a_time_with_its_plan_and_audit_log(tmp_path: Path) -> None:
    path = _plan_with_password(tmp_path, {"env": "MLARK_PASSWORD"})
    objects = render_schedule(load_plan(path), path.read_text(), _options(drill_args=["--without-operators"]))
    config_map, claim, cron_job = objects
    assert yaml.safe_load(config_map["data"]["plan.yaml"]) == yaml.safe_load(path.read_text())
    assert claim["metadata"]["name"] == "drill-rhoai-demo-audit"
    assert cron_job["spec"]["schedule"] == "0 4 * * 0" and cron_job["spec"]["concurrencyPolicy"] == "Forbid"
    container = _pod(objects)["containers"][0]
    assert container["args"] == ["drill", "run", "--plan", "/etc/mlark/plan.yaml", "--audit-dir", "/var/lib/mlark/audit",
                                 "-o", "json", "--without-operators"]
    assert container["env"] == [{"name": "MLARK_PASSWORD",
                                 "valueFrom": {"secretKeyRef": {"name": "mlark-repository", "key": "secret-word"}}}]
    assert {mount["mountPath"] for mount in container["volumeMounts"]} == {"/etc/mlark", "/var/lib/mlark/audit"}


def test_a_password_file_is_mounted_where_the_plan_reads_it(tmp_path: Path) -> None:
    path = _plan_with_password(tmp_path, {"file": "/run/secrets/mlark/password"})
    objects = render_schedule(load_plan(path), path.read_text(), _options(password_secret="repo-pass"))
    pod = _pod(objects)
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "password")
    assert mount == {"name": "password", "mountPath": "/run/secrets/mlark/password", "subPath": "password", "readOnly": True}
    volume = next(v for v in pod["volumes"] if v["name"] == "password")
    assert volume["secret"]["secretName"] == "repo-pass" and volume["secret"]["items"] == [{"key": "password", "path": "password"}]


def test_a_password_read_from_a_secret_by_the_api_needs_no_mount(tmp_path: Path) -> None:
    path = _plan_with_password(tmp_path, {"secret": {"name": "repo", "key": "password"}})
    pod = _pod(render_schedule(load_plan(path), path.read_text(), _options(password_secret=None)))
    assert pod["containers"][0]["env"] == [] and all(v["name"] != "password" for v in pod["volumes"])


def test_an_env_password_without_a_secret_is_refused(tmp_path: Path) -> None:
    path = _plan_with_password(tmp_path, {"env": "MLARK_PASSWORD"})
    with pytest.raises(ScheduleError, match="environment variable MLARK_PASSWORD.*--password-secret"):
        render_schedule(load_plan(path), path.read_text(), _options(password_secret=None))


def test_bad_options_are_one_clear_error_each(tmp_path: Path) -> None:
    path = _plan_with_password(tmp_path, {"env": "MLARK_PASSWORD"})
    base = ["schedule", "--plan", str(path), "--image", "mlark:test", "--password-secret", "repo"]
    bad_cron = runner.invoke(drill.app, [*base, "--cron", "every sunday"])
    assert bad_cron.exit_code == 2 and "'every sunday' is not a valid cron expression" in bad_cron.output
    bad_name = runner.invoke(drill.app, [*base, "--cron", "0 4 * * 0", "--namespace", "Not_A_Namespace"])
    assert bad_name.exit_code == 2 and "namespace: 'Not_A_Namespace' is not a valid name" in bad_name.output
    no_secret = runner.invoke(drill.app, ["schedule", "--plan", str(path), "--image", "x", "--cron", "0 4 * * 0"])
    assert no_secret.exit_code == 2 and "--password-secret" in no_secret.output


@pytest.mark.cluster
def test_the_api_server_accepts_and_updates_the_schedule(kube_primary: ApiClient, fresh_namespace: str, tmp_path: Path) -> None:
    path = _plan_with_password(tmp_path, {"env": "MLARK_PASSWORD"})
    args = ["schedule", "--plan", str(path), "--image", "mlark:test", "--password-secret", "repo", "--namespace", fresh_namespace,
            "--kubeconfig", str(kubeconfig_path("primary")), "--apply", "-o", "json"]
    first = runner.invoke(drill.app, [*args, "--cron", "0 4 * * 0", "--time-zone", "Europe/Berlin"])
    assert first.exit_code == 0, first.output
    assert [row["action"] for row in json.loads(first.output)] == ["created", "created", "created"]
    cron_job = get(kube_primary, "batch/v1", "CronJob", "drill-rhoai-demo", fresh_namespace)
    assert cron_job and cron_job["spec"]["schedule"] == "0 4 * * 0" and cron_job["spec"]["timeZone"] == "Europe/Berlin"
    # Applied again with another time: updated in place, nothing duplicated.
    again = runner.invoke(drill.app, [*args, "--cron", "30 2 * * *"])
    assert again.exit_code == 0, again.output
    assert get(kube_primary, "batch/v1", "CronJob", "drill-rhoai-demo", fresh_namespace)["spec"]["schedule"] == "30 2 * * *"
    # The API server validates what croniter cannot know: an unknown time zone is refused by it.
    refused = runner.invoke(drill.app, [*args, "--cron", "0 4 * * 0", "--time-zone", "Mars/Olympus"])
    assert refused.exit_code != 0 and "Mars/Olympus" in refused.output


def test_a_local_repository_cannot_be_drilled_from_the_cluster() -> None:
    with pytest.raises(ScheduleError, match="local path.*s3: repository"):
        render_schedule(load_plan(PLAN), PLAN.read_text(), _options())


def test_printed_manifests_read_back_as_the_objects_with_the_plan_as_written(tmp_path: Path) -> None:
    path = _plan_with_password(tmp_path, {"env": "MLARK_PASSWORD"})
    printed = runner.invoke(drill.app, ["schedule", "--plan", str(path), "--image", "mlark:test", "--cron", "0 4 * * 0",
                                        "--password-secret", "repo"])
    assert printed.exit_code == 0, printed.output
    documents = list(yaml.safe_load_all(printed.output))
    assert [document["kind"] for document in documents] == ["ConfigMap", "PersistentVolumeClaim", "CronJob"]
    assert documents[0]["data"]["plan.yaml"] == path.read_text()
    assert "plan.yaml: |" in printed.output and "&id" not in printed.output  # readable: a literal block, no anchors
