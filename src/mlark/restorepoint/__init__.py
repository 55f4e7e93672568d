"""The restore point: what one backup captured, as stored in the repository.

Shared vocabulary of backup, restore and verify. A restore point is one repository snapshot
holding named streams (objects, volume archives, database dumps, model artifacts) plus this
manifest, stored as the stream MANIFEST_STREAM and summarised in the snapshot's metadata.
"""

from mlark.restorepoint.models import (
    ArtifactCapture,
    CaptureStats,
    DatabaseCapture,
    Edge,
    ExternalRef,
    ImageReference,
    ItemResult,
    ObjectRef,
    Phase,
    RestorePoint,
    RestorePointSummary,
    VolumeCapture,
)

MANIFEST_STREAM = "restorepoint.json"
OBJECTS_PREFIX = "objects/"
VOLUMES_PREFIX = "volumes/"
DATABASES_PREFIX = "databases/"
ARTIFACTS_PREFIX = "artifacts/"
RESTORE_POINT_TAG = "mlark:restore-point"

__all__ = [
    "ARTIFACTS_PREFIX", "ArtifactCapture", "CaptureStats", "DATABASES_PREFIX", "DatabaseCapture", "Edge", "ExternalRef",
    "ImageReference", "ItemResult", "MANIFEST_STREAM", "OBJECTS_PREFIX", "ObjectRef", "Phase", "RESTORE_POINT_TAG",
    "RestorePoint", "RestorePointSummary", "VOLUMES_PREFIX", "VolumeCapture",
]
