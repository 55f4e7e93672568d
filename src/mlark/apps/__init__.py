"""One plugin per application kind (kserve, notebook, pipelines, modelregistry, databases, ...).

Pure: plain manifests in, restore point types out. The registry runs them all.
"""

from mlark.apps.base import ArtifactLocation, ObjectIndex, secret_data
from mlark.apps.databases import DatabaseTarget, declared_target, detect_databases
from mlark.apps.policy import Verdict, regenerated
from mlark.apps.registry import PLUGINS, graph, images, references, unresolved

__all__ = [
    "PLUGINS", "ArtifactLocation", "DatabaseTarget", "ObjectIndex", "Verdict", "declared_target", "detect_databases",
    "graph", "images", "references", "regenerated", "secret_data", "unresolved",
]
