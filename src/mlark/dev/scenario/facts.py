"""What deploy must learn from the cluster before rendering: its identity, when the project was
created, and the database passwords already in use (a database keeps its first password)."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timezone

from kubernetes.client import ApiClient

from mlark.dev.scenario.kube import get
from mlark.dev.scenario.spec import CATALOG_DB, DEMO_NS, PIPELINES_DB, REGISTRY_DB, DatabaseRef, Facts, Passwords


def cluster_id(api: ApiClient) -> str:
    """kube-system's uid: stable for the life of a cluster and different on the next one."""
    namespace = get(api, "v1", "Namespace", "kube-system")
    if not namespace:
        raise RuntimeError("the cluster has no kube-system namespace")
    return str(namespace["metadata"]["uid"])


def project_created_at(api: ApiClient) -> datetime:
    namespace = get(api, "v1", "Namespace", DEMO_NS)
    if namespace:
        return datetime.strptime(namespace["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return datetime.now(timezone.utc).replace(microsecond=0)


def secret_value(api: ApiClient, namespace: str, name: str, key: str) -> str | None:
    secret = get(api, "v1", "Secret", name, namespace)
    encoded = ((secret or {}).get("data") or {}).get(key)
    return base64.b64decode(encoded).decode() if encoded else None


def _password(api: ApiClient, db: DatabaseRef, key: str | None = None) -> str:
    return secret_value(api, db.namespace, db.password_secret, key or db.password_key) or secrets.token_urlsafe(18)


def gather_facts(api: ApiClient) -> Facts:
    passwords = Passwords(
        dspa_db=_password(api, PIPELINES_DB),
        registry_db=_password(api, REGISTRY_DB),
        registry_db_root=_password(api, REGISTRY_DB, "database-root-password"),
        catalog_db=_password(api, CATALOG_DB),
    )
    return Facts(cluster_id=cluster_id(api), created_at=project_created_at(api), passwords=passwords)
