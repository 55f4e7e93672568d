"""Pydantic models of the restore point manifest (format version 1)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1


class ObjectRef(BaseModel):
    """One Kubernetes object, by identity. `group` is "" for the core API group."""

    model_config = ConfigDict(frozen=True)

    group: str = ""
    version: str = "v1"
    kind: str
    namespace: str | None = None
    name: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ObjectRef:
        group, _, version = obj["apiVersion"].rpartition("/")
        metadata = obj["metadata"]
        return cls(group=group, version=version, kind=obj["kind"], namespace=metadata.get("namespace"), name=metadata["name"])

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


class ExternalRef(BaseModel):
    """Something outside Kubernetes an object depends on: a bucket prefix, a database."""

    model_config = ConfigDict(frozen=True)

    type: Literal["bucket-prefix", "database", "image", "url"]
    uri: str  # s3://bucket/prefix, mysql://service.namespace:3306/db, ...

    def __str__(self) -> str:
        return f"{self.type} {self.uri}"


class Edge(BaseModel):
    """`source` depends on `target` (`relation` says how). Unresolved edges become warnings."""

    source: ObjectRef
    target: ObjectRef | ExternalRef
    relation: str  # owner, secret, configmap, pvc, serviceaccount, storage, runtime, database, ...
    resolved: bool = True


class VolumeCapture(BaseModel):
    namespace: str
    claim: str
    storage_class: str | None = None
    access_modes: list[str] = []
    capacity: str | None = None
    stream: str  # name of the stream holding the volume's tar archive
    format: Literal["tar"] = "tar"
    bytes: int = 0
    files: int | None = None
    captured_at: datetime | None = None
    through: str | None = None  # pod/container the data was read through


class DatabaseCapture(BaseModel):
    namespace: str
    workload: ObjectRef | None = None  # the Deployment/StatefulSet running the database
    pod: str
    container: str
    engine: Literal["mariadb", "mysql", "postgres", "redis"]
    databases: list[str] = []  # empty: all databases
    claim: str | None = None  # the PVC holding the database files, if any
    stream: str
    tool: str  # e.g. "mariadb-dump --single-transaction"
    bytes: int = 0
    captured_at: datetime | None = None


class ArtifactCapture(BaseModel):
    """One S3 object that captured ML objects point at (a model file, a pipeline artifact)."""

    uri: str  # s3://bucket/key
    endpoint: str | None = None
    bucket: str
    key: str
    size: int
    etag: str | None = None
    version_id: str | None = None
    stream: str
    referenced_by: list[ObjectRef] = []


class ImageReference(BaseModel):
    workload: ObjectRef
    container: str
    image: str
    init: bool = False


class ItemResult(BaseModel):
    item: str  # human-readable identity: an ObjectRef string, "volume ns/pvc", "database ns/pod"
    status: Literal["ok", "warning", "failed", "skipped"]
    message: str = ""


class Phase(str, enum.Enum):
    completed = "Completed"
    partially_failed = "PartiallyFailed"
    failed = "Failed"


class CaptureStats(BaseModel):
    objects: int = 0
    volumes: int = 0
    databases: int = 0
    artifacts: int = 0
    bytes_read: int = 0
    bytes_new: int = 0
    bytes_stored: int = 0
    duration_seconds: float = 0.0


class ConsistencyWindow(BaseModel):
    """From the first to the last data capture, while the applications were quiesced."""

    start: datetime | None = None
    end: datetime | None = None


class RestorePoint(BaseModel):
    """The full manifest of one restore point."""

    format_version: int = FORMAT_VERSION
    plan: str
    created: datetime
    cluster: dict[str, str] = {}  # server, version, context
    namespaces: list[str]
    object_streams: dict[str, str] = {}  # namespace ("" for cluster-scoped) -> stream of JSON lines
    object_counts: dict[str, int] = {}  # "Kind.group" -> count
    edges: list[Edge] = []
    volumes: list[VolumeCapture] = []
    databases: list[DatabaseCapture] = []
    artifacts: list[ArtifactCapture] = []
    images: list[ImageReference] = []
    consistency_window: ConsistencyWindow = Field(default_factory=ConsistencyWindow)
    results: list[ItemResult] = []
    phase: Phase = Phase.completed
    stats: CaptureStats = Field(default_factory=CaptureStats)
    fingerprints: dict[str, Any] = {}  # filled by verify plugins (issue 4)

    @property
    def warnings(self) -> list[ItemResult]:
        return [result for result in self.results if result.status == "warning"]


class RestorePointSummary(BaseModel):
    """What the snapshot's metadata carries, so listing restore points needs no stream reads."""

    format_version: int = FORMAT_VERSION
    plan: str
    created: datetime
    namespaces: list[str]
    phase: Phase
    stats: CaptureStats
    warnings: int = 0
