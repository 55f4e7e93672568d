"""Opening the repository a plan's target names, with the password from where the plan says."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

from kubernetes.client import ApiClient

from mlark.kube.apply import get
from mlark.plan.models import Plan, Target
from mlark.repo import S3Credentials, open_repository
from mlark.repo.errors import UsageError
from mlark.repo.repository import Repository


def choose_target(plan: Plan, name: str | None) -> Target:
    targets = plan.spec.targets
    if name is None:
        return targets[0]
    found = next((target for target in targets if target.name == name), None)
    if found is None:
        raise UsageError(f"plan {plan.name} has no target {name!r}; its targets: {', '.join(t.name for t in targets)}")
    return found


def target_password(target: Target, api: Callable[[], ApiClient] | None, plan_namespace: str | None = None) -> str:
    """The target's password; `api` is called only when it lives in a Secret."""
    source = target.password_from
    if source.env is not None:
        value = os.environ.get(source.env)
        if not value:
            raise UsageError(f"target {target.name}: the password variable {source.env} is not set")
        return value
    if source.file is not None:
        try:
            return Path(source.file).read_text().rstrip("\r\n")
        except OSError as error:
            raise UsageError(f"target {target.name}: cannot read password file {source.file}: {error.strerror}") from error
    reference = source.secret
    assert reference is not None  # the model guarantees exactly one source
    namespace = reference.namespace or plan_namespace
    if api is None or namespace is None:
        raise UsageError(f"target {target.name}: a password in a Secret needs a cluster and the Secret's namespace")
    secret = get(api(), "v1", "Secret", reference.name, namespace)
    value = ((secret or {}).get("data") or {}).get(reference.key)
    if value is None:
        raise UsageError(f"target {target.name}: Secret {namespace}/{reference.name} has no key {reference.key}")
    return base64.b64decode(value).decode()


def open_target(plan: Plan, name: str | None, api: Callable[[], ApiClient] | None) -> Repository:
    target = choose_target(plan, name)
    return open_repository(target.repository, target_password(target, api, plan.metadata.namespace), S3Credentials())
