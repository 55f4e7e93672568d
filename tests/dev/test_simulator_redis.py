"""The pod simulator's plan for Redis containers: which process, where its data is, its password."""

from __future__ import annotations

from mlark.dev.simulator.plan import ProcessKind, exec_env, expand, plan_pod, process_kind


def _pod(container: dict) -> dict:
    return {"metadata": {"name": "redis-0", "namespace": "n", "uid": "u"},
            "spec": {"containers": [container], "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-redis-0"}}]}}


def test_official_redis_takes_its_password_from_its_arguments_only() -> None:
    container = {"name": "redis", "image": "redis:7.2", "args": ["--requirepass", "$(REDIS_PASSWORD)"],
                 "env": [{"name": "REDIS_PASSWORD", "value": "s3cret"}], "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
    process = plan_pod(_pod(container), {"data": "/pv/1"}, "/scratch", {}, {}).processes[0]
    assert process.kind is ProcessKind.redis and process.data_dir == "/pv/1"
    assert process.env["REDIS_PASSWORD"] == "s3cret" and process.env["REDIS_APPENDONLY"] == "no"
    # Without the argument the official image sets no password, whatever the environment holds.
    container["args"] = []
    assert plan_pod(_pod(container), {"data": "/pv/1"}, "/scratch", {}, {}).processes[0].env["REDIS_PASSWORD"] == ""


def test_bitnami_redis_takes_redis_password_and_keeps_data_below_its_mount() -> None:
    container = {"name": "redis", "image": "docker.io/bitnami/redis:7.2", "env": [{"name": "REDIS_PASSWORD", "value": "b1"}],
                 "volumeMounts": [{"name": "data", "mountPath": "/bitnami/redis"}]}
    process = plan_pod(_pod(container), {"data": "/pv/2"}, "/scratch", {}, {}).processes[0]
    assert (process.data_dir, process.env["REDIS_PASSWORD"], process.env["REDIS_APPENDONLY"]) == ("/pv/2/data", "b1", "yes")


def test_redis_exec_finds_the_pods_server_first_on_path() -> None:
    container = {"name": "redis", "image": "redis:7", "volumeMounts": []}
    process = plan_pod(_pod(container), {}, "/scratch", {}, {}).processes[0]
    assert exec_env(process, 40123, "/c/redis")["PATH"].startswith("/c/redis/bin:")


def test_images_that_only_talk_to_redis_run_nothing() -> None:
    assert process_kind("bitnami/redis-sentinel:7") is None and process_kind("oliver006/redis_exporter") is None
    assert expand("$(A)-$$(A)-$(MISSING)", {"A": "x"}) == "x-$(A)-$(MISSING)"
