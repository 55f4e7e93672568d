"""Kubeflow/RHOAI workbenches: a Notebook depends on what its pod template reads (its home
PVC, the data connections attached as environment). The StatefulSet, Service, ServiceAccount
and NetworkPolicy the notebook controller renders from it are owned by it and regenerated."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlark.apps.base import Obj, ObjectIndex, dig
from mlark.apps.workloads import container_images, pod_spec_references
from mlark.restorepoint.models import Edge, ImageReference, ObjectRef

GROUP = "kubeflow.org"


def handles(obj: Mapping[str, Any]) -> bool:
    return str(obj.get("apiVersion", "")).rpartition("/")[0] == GROUP and obj.get("kind") == "Notebook"


def references(obj: Obj, index: ObjectIndex) -> list[Edge]:
    return pod_spec_references(ObjectRef.of(obj), dig(obj, "spec", "template", "spec") or {}, index)


def images(obj: Obj) -> list[ImageReference]:
    return container_images(ObjectRef.of(obj), dig(obj, "spec", "template", "spec") or {})


def rendered_objects(notebook: Mapping[str, Any]) -> list[ObjectRef]:
    """What the notebook controller creates under the notebook's own name."""
    name = notebook["metadata"]["name"]
    namespace = notebook["metadata"].get("namespace")
    return [
        ObjectRef(group="apps", version="v1", kind="StatefulSet", namespace=namespace, name=name),
        ObjectRef(kind="Service", namespace=namespace, name=name),
    ]
