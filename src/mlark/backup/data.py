"""What data a restore point captures besides objects: volumes, database dumps, model artifacts.

Each capture becomes a named stream, produced lazily: nothing is read before the repository
asks for it, which is after the pre-hooks quiesced the applications.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from mlark.apps import ArtifactLocation, DatabaseTarget, declared_target, detect_databases
from mlark.apps.buckets import BucketAccess, CredentialsUnavailable, artifact_locations
from mlark.backup.streams import Recorder
from mlark.kube.apply import pod_running
from mlark.kube.discovery import resource_for
from mlark.kube.exec import exec_stream, wait_exec_ready
from mlark.kube.listing import list_objects
from mlark.plan.labels import selector_matches
from mlark.plan.models import LabelSelector, Plan
from mlark.plan.selection import select_artifact, select_volume
from mlark.repo import StreamSource
from mlark.restorepoint import ARTIFACTS_PREFIX, DATABASES_PREFIX, VOLUMES_PREFIX
from mlark.restorepoint.models import ArtifactCapture, DatabaseCapture, ItemResult, ObjectRef, VolumeCapture
from mlark.volumedata import transfer
from mlark.volumedata.segments import tar_segments

Obj = dict[str, Any]


@dataclass
class DataCaptures:
    volumes: list[VolumeCapture] = field(default_factory=list)
    databases: list[DatabaseCapture] = field(default_factory=list)
    artifacts: list[ArtifactCapture] = field(default_factory=list)
    streams: list[StreamSource] = field(default_factory=list)


def plan_data(api: ApiClient, plan: Plan, objects: list[Obj], recorder: Recorder) -> DataCaptures:
    captures = DataCaptures()
    databases = _database_targets(plan, objects)
    database_claims = {(target.namespace, target.claim) for target in databases if target.claim}
    if plan.spec.volumes.capture:
        for claim in _of_kind(objects, "", "PersistentVolumeClaim"):
            namespace, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
            # A database's files are captured as its dump: raw files of a live database are not consistent.
            if (namespace, name) not in database_claims and select_volume(plan.spec.volumes, namespace, name):
                _add_volume(api, captures, recorder, claim)
    for target in databases:
        _add_database(api, captures, recorder, target)
    if plan.spec.artifacts.capture:
        access = BucketAccess(objects)
        for location, referrers in access.locations.items():
            _add_artifacts(captures, recorder, plan, location, referrers, access)
    return captures


def _of_kind(objects: list[Obj], group: str, kind: str) -> list[Obj]:
    return [obj for obj in objects if obj.get("kind") == kind and ObjectRef.of(obj).group == group]


# -- volumes ---------------------------------------------------------------------------------


def _add_volume(api: ApiClient, captures: DataCaptures, recorder: Recorder, claim: Obj) -> None:
    namespace, name = claim["metadata"]["namespace"], claim["metadata"]["name"]
    spec = claim.get("spec") or {}
    capture = VolumeCapture(
        namespace=namespace, claim=name, storage_class=spec.get("storageClassName"), access_modes=spec.get("accessModes") or [],
        capacity=((spec.get("resources") or {}).get("requests") or {}).get("storage"), stream=f"{VOLUMES_PREFIX}{namespace}/{name}.tar",
    )

    def done(size: int, started: dt.datetime) -> None:
        capture.bytes, capture.captured_at = size, started
        captures.volumes.append(capture)

    produce = lambda: transfer.capture(api, namespace, name)  # noqa: E731 - started lazily by the repository
    archive = recorder.recorded(f"volume {namespace}/{name}", produce, done)
    captures.streams.append(StreamSource(capture.stream, tar_segments(archive), segmented=True))


# -- databases -------------------------------------------------------------------------------


def _database_targets(plan: Plan, objects: list[Obj]) -> list[DatabaseTarget]:
    found: dict[tuple[str, str | None, str], DatabaseTarget] = {}
    if plan.spec.databases.auto_detect:
        for obj in objects:
            for target in detect_databases(obj):
                found[(target.namespace, target.workload.name if target.workload else None, target.container)] = target
    for declared in plan.spec.databases.declared:
        workload = _declared_workload(objects, declared.namespace, declared.workload.kind, declared.workload.name) if declared.workload else None
        target = declared_target(declared, workload)
        found[(target.namespace, target.workload.name if target.workload else None, target.container)] = target
    return list(found.values())


def _declared_workload(objects: list[Obj], namespace: str, kind: str, name: str) -> Obj | None:
    return next((o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name and o["metadata"].get("namespace") == namespace), None)


def running_pod(api: ApiClient, namespace: str, labels: dict[str, str]) -> Obj:
    selector = LabelSelector(match_labels=labels)
    pods = [pod for pod in list_objects(api, resource_for(api, "v1", "Pod"), namespace)
            if pod_running(pod) and selector_matches(selector, pod["metadata"].get("labels"))]
    if not pods:
        raise LookupError(f"no running pod in {namespace} with labels {labels}")
    return pods[0]


def _add_database(api: ApiClient, captures: DataCaptures, recorder: Recorder, target: DatabaseTarget) -> None:
    workload = target.workload.name if target.workload else "pod"
    stream = f"{DATABASES_PREFIX}{target.namespace}/{workload}-{target.container}.dump"
    state: dict[str, str] = {}

    def produce() -> Iterator[bytes]:
        if target.password_stdin is not None:
            raise NotImplementedError("a password read from a Secret on stdin is not supported yet; use the container env")
        pod = running_pod(api, target.namespace, target.pod_labels)
        state["pod"] = pod["metadata"]["name"]
        # A database pod that a restore just recreated is Running a moment before exec works.
        wait_exec_ready(api, target.namespace, state["pod"], target.container, timeout=60)
        return exec_stream(api, target.namespace, state["pod"], target.container, target.dump_command)

    def done(size: int, started: dt.datetime) -> None:
        captures.databases.append(DatabaseCapture(
            namespace=target.namespace, workload=target.workload, pod=state.get("pod", ""), container=target.container,
            engine=target.engine, databases=target.databases, claim=target.claim, stream=stream, tool=target.tool,
            bytes=size, captured_at=started,
        ))

    item = f"database {target.namespace}/{workload} ({target.engine})"
    captures.streams.append(StreamSource(stream, recorder.recorded(item, produce, done)))


# -- model artifacts -------------------------------------------------------------------------


def _add_artifacts(captures: DataCaptures, recorder: Recorder, plan: Plan, location: ArtifactLocation,
                   referrers: list[ObjectRef], access: BucketAccess) -> None:
    try:
        client = access.client(location)
    except CredentialsUnavailable as error:  # never fall back to mlark's own keys: nothing is read
        owners = ", ".join(f"{ref.kind} {ref.namespace}/{ref.name}" for ref in referrers)
        recorder.results.append(ItemResult(item=f"artifacts {location.uri}", status="warning",
                                           message=f"not captured: no credentials for {owners}: {error}"))
        return
    prefix = location.prefix + "/" if location.prefix and not location.prefix.endswith("/") else location.prefix
    try:
        listed = [item for page in client.get_paginator("list_objects_v2").paginate(Bucket=location.bucket, Prefix=prefix)
                  for item in page.get("Contents", [])]
    except Exception as error:  # an unreachable or forbidden store is one failed item, not a failed backup
        recorder.results.append(ItemResult(item=f"artifacts {location.uri}", status="failed", message=f"cannot list: {error}"))
        return
    if not listed:
        recorder.results.append(ItemResult(item=f"artifacts {location.uri}", status="warning", message="no object under this prefix"))
    for item in listed:
        key = item["Key"]
        if key.endswith("/") or not select_artifact(plan.spec.artifacts, location.bucket, key):
            continue
        if any(capture_key(s.name) == (location.bucket, key) for s in captures.streams if s.name.startswith(ARTIFACTS_PREFIX)):
            continue
        _add_artifact(captures, recorder, client, location, item, referrers)


def capture_key(stream: str) -> tuple[str, str]:
    bucket, _, key = stream[len(ARTIFACTS_PREFIX):].partition("/")
    return bucket, key


def _add_artifact(captures: DataCaptures, recorder: Recorder, client: Any, location: ArtifactLocation,
                  item: dict[str, Any], referrers: list[ObjectRef]) -> None:
    key = item["Key"]
    stream = f"{ARTIFACTS_PREFIX}{location.bucket}/{key}"
    state: dict[str, Any] = {}

    def produce() -> Iterator[bytes]:
        response = client.get_object(Bucket=location.bucket, Key=key)
        state["etag"] = str(response.get("ETag", "")).strip('"') or None
        state["version"] = response.get("VersionId")
        return response["Body"].iter_chunks(1 << 20)

    def done(size: int, started: dt.datetime) -> None:
        captures.artifacts.append(ArtifactCapture(
            uri=f"s3://{location.bucket}/{key}", endpoint=location.endpoint, bucket=location.bucket, key=key, size=size,
            etag=state.get("etag"), version_id=state.get("version"), stream=stream, referenced_by=referrers,
        ))

    captures.streams.append(StreamSource(stream, recorder.recorded(f"artifact s3://{location.bucket}/{key}", produce, done)))


def artifact_uris(objects: list[Obj]) -> dict[str, list[str]]:
    """Where the plan's model artifacts are (s3 URI -> the objects pointing there), read from
    the objects alone: no storage is contacted (for `mlark plan show`)."""
    return {location.uri: sorted(str(ref) for ref in referrers) for location, referrers in artifact_locations(objects).items()}
