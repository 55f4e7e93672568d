"""Drills on a schedule, without a human: the Kubernetes objects that run `mlark drill run` (pure).

    ConfigMap   <name>-plan    the plan file, mounted at /etc/mlark/plan.yaml
    PVC         <name>-audit   the hash-chained audit log, kept between runs
    CronJob     <name>         `mlark drill run --plan /etc/mlark/plan.yaml --audit-dir ...`

The CronJob never runs two drills at once (concurrencyPolicy Forbid) and keeps the last runs'
Jobs for inspection. Its pod uses a service account the operator of mlark provides, with the
rights a restore needs; the repository password comes from a Secret, shaped the way the plan's
target expects it (environment variable or file). A target that reads its password from a
Secret through the API needs nothing more.
"""

from __future__ import annotations

import posixpath
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from mlark.plan.models import Plan, cron_expression, dns_label

PLAN_DIR, PLAN_FILE = "/etc/mlark", "plan.yaml"
AUDIT_DIR = "/var/lib/mlark/audit"
Obj = dict[str, Any]
Name = Annotated[str, AfterValidator(dns_label)]


class ScheduleOptions(BaseModel):
    name: Annotated[Name, Field(max_length=52)]  # CronJob names leave 11 characters for the Job suffix
    namespace: Name
    cron: Annotated[str, BeforeValidator(cron_expression)]
    image: str = Field(min_length=1)
    service_account: Name
    time_zone: str | None = None
    password_secret: str | None = None  # NAME or NAME:KEY holding the repository password
    audit_size: str = "1Gi"
    storage_class: str | None = None
    drill_args: list[str] = []  # passed on to `mlark drill run` (sandbox suffix, exclusions, ...)


class ScheduleError(ValueError):
    """The schedule cannot be rendered as asked; the message says what is missing."""


def render_schedule(plan: Plan, plan_text: str, options: ScheduleOptions) -> list[Obj]:
    """The ConfigMap, PVC and CronJob that run the plan's drill on `options.cron`."""
    repository = plan.spec.targets[0].repository
    if not repository.startswith("s3:"):
        raise ScheduleError(f"the plan's repository {repository!r} is a local path: a drill pod in the cluster "
                            f"cannot reach it; give the plan an s3: repository")
    env, volumes, mounts = _password(plan, options)
    labels = {"app.kubernetes.io/managed-by": "mlark", "mlark.io/drill-schedule": options.name}
    meta = lambda name: {"name": name, "namespace": options.namespace, "labels": labels}  # noqa: E731
    config_map = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta(f"{options.name}-plan"),
                  "data": {PLAN_FILE: plan_text}}
    claim_spec: Obj = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": options.audit_size}}}
    if options.storage_class:
        claim_spec["storageClassName"] = options.storage_class
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": meta(f"{options.name}-audit"), "spec": claim_spec}
    volumes += [{"name": "plan", "configMap": {"name": f"{options.name}-plan"}},
                {"name": "audit", "persistentVolumeClaim": {"claimName": f"{options.name}-audit"}}]
    mounts += [{"name": "plan", "mountPath": PLAN_DIR, "readOnly": True}, {"name": "audit", "mountPath": AUDIT_DIR}]
    container = {
        "name": "drill", "image": options.image,
        "args": ["drill", "run", "--plan", posixpath.join(PLAN_DIR, PLAN_FILE), "--audit-dir", AUDIT_DIR,
                 "-o", "json", *options.drill_args],
        "env": env, "volumeMounts": mounts,
        "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}, "runAsNonRoot": True},
    }
    job_spec = {"backoffLimit": 0, "template": {"metadata": {"labels": labels}, "spec": {
        "serviceAccountName": options.service_account, "restartPolicy": "Never", "containers": [container],
        "volumes": volumes}}}
    cron_spec: Obj = {"schedule": options.cron, "concurrencyPolicy": "Forbid", "successfulJobsHistoryLimit": 3,
                      "failedJobsHistoryLimit": 5, "jobTemplate": {"metadata": {"labels": labels}, "spec": job_spec}}
    if options.time_zone:
        cron_spec["timeZone"] = options.time_zone
    cron_job = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta(options.name), "spec": cron_spec}
    return [config_map, claim, cron_job]


def _password(plan: Plan, options: ScheduleOptions) -> tuple[list[Obj], list[Obj], list[Obj]]:
    """(env, volumes, mounts) that give the drill the repository password its target expects."""
    source = plan.spec.targets[0].password_from
    if source.secret is not None:
        return [], [], []  # read through the API with the pod's service account
    if options.password_secret is None:
        how = f"environment variable {source.env}" if source.env else f"file {source.file}"
        raise ScheduleError(f"the plan's target reads its password from the {how}: name the Secret that holds "
                            f"it with --password-secret NAME[:KEY]")
    secret, _, key = options.password_secret.partition(":")
    key = key or "password"
    if source.env:
        return [{"name": source.env, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}], [], []
    path = str(source.file)
    volume = {"name": "password", "secret": {"secretName": secret, "defaultMode": 0o400,
                                             "items": [{"key": key, "path": posixpath.basename(path)}]}}
    # subPath: the file appears where the plan says, without hiding the rest of its directory.
    return [], [volume], [{"name": "password", "mountPath": path, "subPath": posixpath.basename(path), "readOnly": True}]
