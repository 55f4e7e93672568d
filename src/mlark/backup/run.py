"""One backup of a plan: collect, graph, quiesce, capture, resume, write the restore point."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from kubernetes.client import ApiClient
from pydantic import BaseModel

from mlark.apps import graph, images, unresolved
from mlark.backup.collect import collect
from mlark.backup.data import DataCaptures, plan_data
from mlark.backup.hooks import run_hooks
from mlark.backup.streams import Recorder, now
from mlark.kube.rest import request
from mlark.plan.models import Plan
from mlark.repo import BackupOptions, BackupSummary, Repository, StreamSource
from mlark.repo import backup as repository_backup
from mlark.restorepoint import MANIFEST_STREAM, OBJECTS_PREFIX, RESTORE_POINT_TAG
from mlark.restorepoint.models import CaptureStats, ItemResult, ObjectRef, Phase, RestorePoint, RestorePointSummary
from mlark.restorepoint.store import SUMMARY_KEY, plan_tag

Obj = dict[str, Any]
Progress = Callable[[str], None]


class BackupResult(BaseModel):
    snapshot_id: str
    restore_point: RestorePoint
    repository: BackupSummary


def create_backup(api: ApiClient, plan: Plan, repo: Repository, *, progress: Progress = lambda m: None) -> BackupResult:
    """Capture everything `plan` selects into one restore point of `repo`."""
    started = time.monotonic()
    collection = collect(api, plan, progress)
    objects = collection.objects
    edges = graph(objects)
    manifest = RestorePoint(
        plan=plan.name, created=now(), cluster=_cluster_info(api), namespaces=collection.namespaces.selected, edges=edges,
        images=[image for obj in objects for image in images(obj)],
    )
    recorder = Recorder(results=list(collection.results))
    recorder.results += [ItemResult(item="reference", status="warning", message=text) for text in unresolved(edges)]
    for text in unresolved(edges):
        progress(f"warning: {text}")
    streams = _object_streams(manifest, objects)
    recorder.results += run_hooks(api, list(plan.spec.hooks.pre), "pre")
    captures = plan_data(api, plan, objects, recorder)
    metadata: dict[str, Any] = {}
    streams += captures.streams
    streams.append(StreamSource(MANIFEST_STREAM, _finish(api, plan, objects, manifest, captures, recorder, metadata, started, progress)))
    progress(f"capturing {len(captures.streams)} data streams")
    options = BackupOptions(tags=[RESTORE_POINT_TAG, plan_tag(plan.name)], host=f"plan/{plan.name}", metadata=metadata)
    try:
        summary = repository_backup(repo, streams=streams, options=options)
    except BaseException:
        run_hooks_safely(api, plan, recorder)  # the applications must not stay quiesced
        raise
    manifest.stats = _stats(manifest.stats, summary)
    return BackupResult(snapshot_id=summary.snapshot_id, restore_point=manifest, repository=summary)


def _object_streams(manifest: RestorePoint, objects: list[Obj]) -> list[StreamSource]:
    by_namespace: dict[str, list[Obj]] = {}
    for obj in objects:
        by_namespace.setdefault(obj["metadata"].get("namespace") or "", []).append(obj)
    streams = []
    for namespace, items in sorted(by_namespace.items()):
        name = f"{OBJECTS_PREFIX}{namespace or '_cluster'}.jsonl"
        manifest.object_streams[namespace] = name
        payload = b"".join(json.dumps(obj, separators=(",", ":"), sort_keys=True).encode() + b"\n" for obj in items)
        streams.append(StreamSource(name, [payload]))
        for obj in items:
            key = f"{obj['kind']}.{ObjectRef.of(obj).group}" if ObjectRef.of(obj).group else obj["kind"]
            manifest.object_counts[key] = manifest.object_counts.get(key, 0) + 1
    manifest.stats.objects = len(objects)
    return streams


def _finish(api: ApiClient, plan: Plan, objects: list[Obj], manifest: RestorePoint, captures: DataCaptures,
            recorder: Recorder, metadata: dict[str, Any], started: float, progress: Progress) -> Iterator[bytes]:
    """The manifest stream, produced last: by then every data stream has been read."""
    manifest.volumes, manifest.databases, manifest.artifacts = captures.volumes, captures.databases, captures.artifacts
    # Still quiesced: what the fingerprints see is what the captures hold.
    progress("taking fingerprints")
    _fingerprint(api, plan, objects, manifest, recorder)
    run_hooks_safely(api, plan, recorder)
    manifest.consistency_window.start, manifest.consistency_window.end = recorder.first_capture, recorder.last_capture
    manifest.results = recorder.results
    failed = [result for result in recorder.results if result.status == "failed"]
    manifest.phase = Phase.partially_failed if failed else Phase.completed
    manifest.stats.volumes, manifest.stats.databases = len(captures.volumes), len(captures.databases)
    manifest.stats.artifacts = len(captures.artifacts)
    manifest.stats.duration_seconds = round(time.monotonic() - started, 3)
    metadata[SUMMARY_KEY] = RestorePointSummary(
        plan=plan.name, created=manifest.created, namespaces=manifest.namespaces, phase=manifest.phase,
        stats=manifest.stats, warnings=len(manifest.warnings),
    ).model_dump(mode="json")
    progress(f"restore point {manifest.phase.value}: {len(failed)} failed, {len(manifest.warnings)} warnings")
    yield manifest.model_dump_json().encode()


def _fingerprint(api: ApiClient, plan: Plan, objects: list[Obj], manifest: RestorePoint, recorder: Recorder) -> None:
    from mlark.verify.consistency import check_consistency
    from mlark.verify.take import take_fingerprints

    fingerprints = take_fingerprints(api, objects, manifest, plan.spec.verification)
    consistency = check_consistency(api, objects, manifest, fingerprints=fingerprints)
    manifest.fingerprints = {
        "taken": [fingerprint.model_dump(mode="json") for fingerprint in fingerprints],
        "consistency": [check.model_dump(mode="json") for check in consistency],
    }
    for fingerprint in fingerprints:
        if fingerprint.error is not None:
            recorder.results.append(ItemResult(item=f"fingerprint {fingerprint.name}", status="warning", message=fingerprint.error))
    for check in consistency:
        if check.passed is False:  # at backup time a broken link is a warning: the backup still has value
            recorder.results.append(ItemResult(item=check.name, status="warning", message=check.message))


def run_hooks_safely(api: ApiClient, plan: Plan, recorder: Recorder) -> None:
    if recorder.post_hooks_done:
        return
    recorder.post_hooks_done = True
    try:
        recorder.results += run_hooks(api, list(plan.spec.hooks.post), "post")
    except Exception as error:  # a failed resume is reported, the capture itself stands
        recorder.results.append(ItemResult(item="post hooks", status="failed", message=str(error)))


def _stats(stats: CaptureStats, summary: BackupSummary) -> CaptureStats:
    return stats.model_copy(update={
        "bytes_read": summary.bytes_read, "bytes_new": summary.bytes_new, "bytes_stored": summary.bytes_stored,
        "duration_seconds": summary.duration_seconds,
    })


def _cluster_info(api: ApiClient) -> dict[str, str]:
    version = request(api, "GET", "/version")
    return {"server": api.configuration.host, "version": str(version.get("gitVersion", ""))}
