"""Model Registry: a ModelRegistry depends on its database (MySQL/MariaDB or PostgreSQL,
`spec.mysql` or `spec.postgres`), the Secret holding its password, and the Service in front
of that database when it runs in the cluster. The database is what proves which model
version is in production, so an unresolved link here matters most."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlark.apps.base import Obj, ObjectIndex, core, edge, service_host
from mlark.restorepoint.models import Edge, ImageReference, ExternalRef, ObjectRef

GROUP = "modelregistry.opendatahub.io"
_ENGINES = (("mysql", "mysql", 3306), ("postgres", "postgres", 5432))


def handles(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).rpartition("/")[0] == GROUP and obj.get("kind") == "ModelRegistry"


def database_uri(registry: Mapping[str, Any]) -> str | None:
    """`mysql://<host>[.<ns>]:<port>/<database>`; in-cluster hosts carry their namespace."""
    spec = registry.get("spec") or {}
    namespace = registry["metadata"].get("namespace", "")
    for field, scheme, default_port in _ENGINES:
        if isinstance(db := spec.get(field), Mapping) and db.get("host"):
            service = service_host(str(db["host"]), namespace)
            host = f"{service[0]}.{service[1]}" if service else db["host"]
            return f"{scheme}://{host}:{db.get('port', default_port)}/{db.get('database', '')}"
    return None


def references(obj: Obj, index: ObjectIndex) -> list[Edge]:
    source = ObjectRef.of(obj)
    spec = obj.get("spec") or {}
    edges: list[Edge] = []
    for field, _, _ in _ENGINES:
        db = spec.get(field)
        if not isinstance(db, Mapping):
            continue
        if secret := (db.get("passwordSecret") or {}).get("name"):
            edges.append(edge(source, core("Secret", source.namespace, secret), "database-secret", index))
        if service := service_host(str(db.get("host", "")), source.namespace or ""):
            edges.append(edge(source, core("Service", service[1], service[0]), "database-service", index))
    if uri := database_uri(obj):
        edges.append(edge(source, ExternalRef(type="database", uri=uri), "database", index))
    return edges


def images(obj: Obj) -> list[ImageReference]:
    return []
