"""What the fingerprint kinds share: the context they work from, pods, and SQL through exec."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from mlark.apps.base import ObjectIndex
from mlark.apps.databases import Engine, _login
from mlark.kube.exec import exec_capture
from mlark.restore.workloads import running_pods
from mlark.restorepoint.models import RestorePoint
from mlark.verify.spec import VerificationSpec

Obj = dict[str, Any]
SQL_TIMEOUT = 120.0


@dataclass
class Context:
    """Everything a fingerprint kind may look at: the cluster, the restore point's objects and
    manifest, the plan's verification section."""

    api: ApiClient
    objects: list[Obj]
    manifest: RestorePoint
    spec: VerificationSpec
    index: ObjectIndex = field(init=False)

    def __post_init__(self) -> None:
        self.index = ObjectIndex(self.objects)

    def of_kind(self, kind: str, group: str | None = None) -> list[Obj]:
        return [o for o in self.objects if o.get("kind") == kind
                and (group is None or str(o.get("apiVersion", "")).rpartition("/")[0] == group)]


class FingerprintError(Exception):
    """A fingerprint could not be taken; the message names the cause."""


def pod_for(api: ApiClient, namespace: str, labels: dict[str, str], what: str) -> str:
    """Name of a running pod with these labels, or FingerprintError naming `what`."""
    if not labels:
        raise FingerprintError(f"{what}: no pod selector known")
    pods = running_pods(api, namespace, labels)
    if not pods:
        selector = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
        raise FingerprintError(f"{what}: no running pod in {namespace} with labels {selector}")
    return str(pods[0]["metadata"]["name"])


def template_labels(workload: Obj | None) -> dict[str, str]:
    """The labels that select a workload's pods."""
    if workload is None:
        return {}
    spec = workload.get("spec") or {}
    return dict((spec.get("selector") or {}).get("matchLabels") or ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {})


def run_sql(api: ApiClient, namespace: str, pod: str, container: str, engine: Engine, sql: str,
            database: str | None = None) -> list[list[str]]:
    """Rows (tab-separated fields) of `sql`, run by the database's own client in its container,
    logged in with the container's environment (as the dumps are). The SQL travels as an argv
    word ($0 of the script), never through a shell's quoting."""
    # Same login as the dump: root from the image's env, else the application user.
    login = _login(engine, None)
    if engine in ("mariadb", "mysql"):
        target = ' -D "$1"' if database else ""
        script = login + f'exec "$client" -u "$user" -N -B{target} -e "$0"'
    elif engine == "postgres":
        target = ' -d "$1"' if database else ""
        script = login + f'exec psql -U "$user" -v ON_ERROR_STOP=1 -X -A -t -F "$(printf "\\t")"{target} -c "$0"'
    else:
        raise FingerprintError(f"no SQL client for a {engine} database")
    command = ["sh", "-c", script, sql] + ([database] if database else [])
    result = exec_capture(api, namespace, pod, container, command, timeout=SQL_TIMEOUT)
    if result.returncode != 0:
        error = result.stderr.decode("utf-8", "replace").strip()[-400:] or result.message
        raise FingerprintError(f"query in pod {namespace}/{pod} (container {container}) failed: {error}")
    return [line.split("\t") for line in result.text.splitlines() if line]


def quote_identifier(name: str, engine: Engine) -> str:
    """A table or schema name as an SQL identifier of the engine."""
    if engine == "postgres":
        return '"' + name.replace('"', '""') + '"'
    return "`" + name.replace("`", "``") + "`"


def strip_id_prefix(name: str) -> str:
    """ML-Metadata names children `<parent id>:<name>`; the id is not what a user recognises."""
    head, sep, tail = name.partition(":")
    return tail if sep and head.isdigit() else name


def database_behind(context: Context, namespace: str, service: str) -> dict[str, Any]:
    """Where the database behind an in-cluster Service runs: {pod_labels, container, engine},
    from the captured Service's selector and the workload whose pods it selects."""
    from mlark.apps.databases import engine_of
    from mlark.apps.workloads import pod_spec_of

    found = next((o for o in context.of_kind("Service", "") if o["metadata"].get("namespace") == namespace
                  and o["metadata"]["name"] == service), None)
    if found is None:
        raise FingerprintError(f"Service {namespace}/{service} in front of the database was not captured")
    selector = dict((found.get("spec") or {}).get("selector") or {})
    for workload in context.objects:
        if workload.get("kind") not in ("Deployment", "StatefulSet") or workload["metadata"].get("namespace") != namespace:
            continue
        labels = ((((workload.get("spec") or {}).get("template") or {}).get("metadata") or {}).get("labels") or {})
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            continue
        for container in (pod_spec_of(workload) or {}).get("containers") or []:
            if engine := engine_of(str(container.get("image", ""))):
                return {"pod_labels": selector, "container": container["name"], "engine": engine}
    raise FingerprintError(f"no captured database workload behind Service {namespace}/{service}")
