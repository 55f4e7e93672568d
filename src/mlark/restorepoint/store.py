"""Reading restore points back from a repository (writing happens in mlark.backup)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from mlark.repo import Repository, read_file
from mlark.repo.models import Snapshot
from mlark.restorepoint import MANIFEST_STREAM, RESTORE_POINT_TAG
from mlark.restorepoint.models import RestorePoint, RestorePointSummary

SUMMARY_KEY = "restore_point"


class RestorePointNotFound(LookupError):
    """No restore point matches the reference given."""


def plan_tag(plan: str) -> str:
    return f"mlark:plan={plan}"


def summaries(repo: Repository, plan: str | None = None) -> list[tuple[str, Snapshot, RestorePointSummary]]:
    """Every restore point (of one plan, if given), oldest first."""
    found = []
    for snapshot_id, snapshot in repo.snapshots():
        if RESTORE_POINT_TAG not in snapshot.tags or SUMMARY_KEY not in snapshot.metadata:
            continue
        if plan is not None and plan_tag(plan) not in snapshot.tags:
            continue
        found.append((snapshot_id, snapshot, RestorePointSummary.model_validate(snapshot.metadata[SUMMARY_KEY])))
    return sorted(found, key=lambda item: item[1].time)


def resolve(repo: Repository, reference: str, plan: str | None = None) -> tuple[str, Snapshot]:
    """A restore point by id, id prefix, or `latest` (of the plan, if given)."""
    candidates = summaries(repo, plan)
    if reference == "latest":
        if not candidates:
            scope = f" of plan {plan}" if plan else ""
            raise RestorePointNotFound(f"no restore point{scope} in the repository")
        snapshot_id, snapshot, _ = candidates[-1]
        return snapshot_id, snapshot
    matches = [(snapshot_id, snapshot) for snapshot_id, snapshot, _ in candidates if snapshot_id.startswith(reference)]
    if len(matches) != 1:
        problem = "no restore point" if not matches else f"{len(matches)} restore points"
        raise RestorePointNotFound(f"{problem} matches {reference!r}")
    return matches[0]


def read_stream(repo: Repository, snapshot_id: str, name: str) -> Iterator[bytes]:
    return read_file(repo, snapshot_id, name)


def load_manifest(repo: Repository, snapshot_id: str) -> RestorePoint:
    return RestorePoint.model_validate_json(b"".join(read_stream(repo, snapshot_id, MANIFEST_STREAM)))


def read_objects(repo: Repository, snapshot_id: str, manifest: RestorePoint) -> Iterator[dict[str, Any]]:
    """Every captured object, namespace by namespace (cluster-scoped first)."""
    for namespace in sorted(manifest.object_streams):
        yield from iter_json_lines(read_stream(repo, snapshot_id, manifest.object_streams[namespace]))


def iter_json_lines(chunks: Iterator[bytes]) -> Iterator[dict[str, Any]]:
    pending = b""
    for chunk in chunks:
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                yield json.loads(line)
    if pending.strip():
        yield json.loads(pending)


def delete(repo: Repository, snapshot_id: str) -> None:
    """Forget one restore point (its data is freed by the next prune)."""
    from mlark.repo.backend.base import Kind
    from mlark.repo.locks import RepoLock

    with RepoLock(repo.backend, exclusive=True, operation="forget"):
        repo.backend.remove(Kind.snapshots, snapshot_id)
