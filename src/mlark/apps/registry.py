"""All application plugins, and the graph and images over all of them.

A plugin is a module with `handles(obj)`, `references(obj, index)` and `images(obj)`.
Owner references are not a plugin's business: every object gets them here.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from mlark.apps import kserve, modelregistry, notebook, objectbucket, pipelines, workloads
from mlark.apps.base import Obj, ObjectIndex
from mlark.restorepoint.models import Edge, ImageReference, ObjectRef

PLUGINS: tuple[ModuleType, ...] = (workloads, kserve, notebook, pipelines, modelregistry, objectbucket)


def plugins_for(obj: Obj) -> list[ModuleType]:
    return [plugin for plugin in PLUGINS if plugin.handles(obj)]


def references(obj: Obj, index: ObjectIndex) -> list[Edge]:
    """What `obj` depends on: its owners, then what each plugin that knows its kind finds."""
    edges = workloads.owner_references(obj, index)
    for plugin in plugins_for(obj):
        edges.extend(plugin.references(obj, index))
    return edges


def graph(objects: Iterable[Obj]) -> list[Edge]:
    """Every edge among a set of captured objects (the restore point's application graph)."""
    index = ObjectIndex(objects)
    return [item for obj in index for item in references(obj, index)]


def images(obj: Obj) -> list[ImageReference]:
    return [image for plugin in plugins_for(obj) for image in plugin.images(obj)]


def _describe(ref: ObjectRef) -> str:
    return f"{ref.kind} {ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind} {ref.name}"


def unresolved(edges: Iterable[Edge]) -> list[str]:
    """One warning per edge whose target was not captured, worded for the backup log."""
    return [
        f"{_describe(item.target)} referenced by {_describe(item.source)} ({item.relation}) does not exist"
        for item in edges
        if not item.resolved and isinstance(item.target, ObjectRef)
    ]
