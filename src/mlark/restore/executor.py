"""Run a RestorePlan against a cluster, step by step, and record every outcome.

The planner decided what and in which order; this module only talks to the cluster and the
repository. A failed step is recorded and the restore goes on (PartiallyFailed), except where a
later step could only make things worse (a database load into a database that was not created).

Consecutive creates of one kind (all Secrets of the config phase, all custom resources of a
kind) are sent on a bounded pool of threads: no plugin records a dependency between two objects
of the same kind, and an object whose owner is in the same run starts a new run, so its owner's
uid is known when it is created. Results are recorded in plan order all the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any

from kubernetes.client import ApiClient

from mlark.kube.apply import Action, ApplyResult, create, crd_established, get, pvc_bound, wait_for
from mlark.kube.errors import KubeError
from mlark.kube.rest import request
from mlark.repo import Repository
from mlark.restore.artifacts import ArtifactStores
from mlark.restore.databases import load_database
from mlark.restore.facts import SCC_UID_RANGE
from mlark.restore.ownership import describe_reown, reown_shifts
from mlark.restore.steps import (Condition, CreateObject, LinkOwners, LoadDatabase, OwnerLink, RestoreArtifact, RestorePlan,
                                 RestoreVolume, ReownVolume, WaitFor)
from mlark.restore.summary import DataResult, ObjectResult, Outcome, PhaseResult, RestoreResult
from mlark.restore.workloads import wait_workload_running
from mlark.restorepoint.models import ObjectRef
from mlark.restorepoint.store import read_stream
from mlark.volumedata import transfer

Progress = Callable[[str], None]
Key = tuple[str, str, str | None, str]
CREATE_WORKERS = 8  # concurrent creates of one run; the API server, not mlark, is the limit beyond


def _key(ref: ObjectRef) -> Key:
    return (ref.group, ref.kind, ref.namespace, ref.name)


class Executor:
    def __init__(self, api: ApiClient, repo: Repository, snapshot_id: str, stores: ArtifactStores,
                 result: RestoreResult, progress: Progress, reconciles: Callable[[str, str], bool] = lambda g, k: True,
                 assigns_ranges: bool = True) -> None:
        self.api, self.repo, self.snapshot_id, self.stores = api, repo, snapshot_id, stores
        self.reconciles = reconciles
        self.assigns_ranges = assigns_ranges  # OpenShift: new namespaces get sa.scc.* ranges
        self.result, self.progress = result, progress
        self.uids: dict[Key, str] = {}  # target objects present after their step: their uid
        self.created: set[Key] = set()  # created by this restore (guards data steps)

    def run(self, plan: RestorePlan) -> RestoreResult:
        for phase in plan.phases:
            record = PhaseResult(name=phase.name, started=_now())
            self.result.phases.append(record)
            if phase.steps:
                self.progress(f"{phase.name.value}: {len(phase.steps)} steps")
            for run in _runs(phase.steps):
                outcomes = self._creates(run) if len(run) > 1 else [self._step(run[0])]
                record.failed += outcomes.count(False)
            record.finished = _now()
        self.result.conclude(_now())
        return self.result

    def _step(self, step: Any) -> bool:
        handlers: dict[type, Callable[[Any], bool]] = {
            CreateObject: self._create, WaitFor: self._wait, RestoreVolume: self._volume, ReownVolume: self._reown,
            LoadDatabase: self._database, RestoreArtifact: self._artifact, LinkOwners: self._link,
        }
        return handlers[type(step)](step)

    # -- objects ----------------------------------------------------------------------------------

    def _create(self, step: CreateObject) -> bool:
        return self._record(step, *self._apply(step))

    def _creates(self, steps: list[CreateObject]) -> list[bool]:
        """One run of creates on a pool of threads; recorded in plan order."""
        with ThreadPoolExecutor(max_workers=min(CREATE_WORKERS, len(steps))) as pool:
            applied = list(pool.map(self._apply, steps))
        return [self._record(step, *result) for step, result in zip(steps, applied)]

    def _apply(self, step: CreateObject) -> tuple[ApplyResult | KubeError, float]:
        """The API call of one create (safe on any thread: it only reads the owners' uids)."""
        started = time.monotonic()
        body = dict(step.object)
        metadata = dict(body.get("metadata") or {})
        owners = self._owner_references(step.owners)
        if owners:
            metadata["ownerReferences"] = owners
        body["metadata"] = metadata
        try:
            return create(self.api, body, step.policy.value), time.monotonic() - started
        except KubeError as error:
            return error, time.monotonic() - started

    def _record(self, step: CreateObject, applied: ApplyResult | KubeError, seconds: float) -> bool:
        if isinstance(applied, KubeError):
            outcome, reason = Outcome.failed, str(applied)
        else:
            outcome = {Action.created: Outcome.created, Action.updated: Outcome.updated,
                       Action.skipped: Outcome.skipped, Action.failed: Outcome.failed}[applied.action]
            reason = applied.reason
            if applied.object is not None:
                self.uids[_key(step.ref)] = str((applied.object.get("metadata") or {}).get("uid", ""))
        if outcome is Outcome.created:
            self.created.add(_key(step.ref))
        self.result.objects.append(ObjectResult(ref=step.ref, source=step.source, outcome=outcome, reason=reason,
                                                seconds=round(seconds, 3)))
        return outcome is not Outcome.failed

    def _owner_references(self, owners: list[OwnerLink]) -> list[dict[str, Any]]:
        references = []
        for link in owners:
            uid = self.uids.get(_key(link.owner))
            if uid:
                references.append({"apiVersion": link.owner.api_version, "kind": link.owner.kind, "name": link.owner.name,
                                   "uid": uid, "controller": link.controller, "blockOwnerDeletion": link.block_owner_deletion})
        return references

    def _link(self, step: LinkOwners) -> bool:
        owners = self._owner_references(step.owners)
        if not owners or _key(step.ref) not in self.uids:
            return True  # owner or object absent: nothing to link, already reported
        path = _object_path(self.api, step.ref)
        try:
            request(self.api, "PATCH", path, body={"metadata": {"ownerReferences": owners}},
                    content_type="application/merge-patch+json")
        except KubeError as error:
            self._data("link", str(step.ref), Outcome.failed, f"cannot link owners: {error}")
            return False
        return True

    # -- waits --------------------------------------------------------------------------------------

    def _wait(self, step: WaitFor) -> bool:
        ref = step.ref
        try:
            if step.condition is Condition.established:
                wait_for(self.api, "apiextensions.k8s.io/v1", "CustomResourceDefinition", ref.name, None, crd_established,
                         timeout=step.timeout_seconds)
            elif step.condition is Condition.bound and (ref.group, ref.kind) == ("", "PersistentVolumeClaim"):
                wait_for(self.api, "v1", "PersistentVolumeClaim", ref.name, ref.namespace, pvc_bound, timeout=step.timeout_seconds)
            elif step.condition is Condition.bound:
                if not self.reconciles(ref.group, ref.kind):
                    return self._data("wait", f"Bound {ref}", Outcome.skipped, "no operator on the target binds this kind")
                wait_for(self.api, ref.api_version, ref.kind, ref.name, ref.namespace, _phase_bound, timeout=step.timeout_seconds)
            elif step.condition is Condition.running:
                wait_workload_running(self.api, ref.namespace or "", step.selector, step.timeout_seconds)
            elif step.condition is Condition.range_assigned:
                return self._wait_range(step)
            return True
        except KubeError as error:
            self._data("wait", f"{step.condition.value} {ref}", Outcome.failed, str(error))
            return False

    # -- data ---------------------------------------------------------------------------------------

    def _volume(self, step: RestoreVolume) -> bool:
        subject = f"{step.namespace}/{step.claim}"
        claim = ObjectRef(kind="PersistentVolumeClaim", namespace=step.namespace, name=step.claim)
        if step.only_if_created and _key(claim) not in self.created:
            return self._data("volume", subject, Outcome.skipped, "the claim existed: its data is left as it is")
        started = time.monotonic()
        try:
            archive = lambda: read_stream(self.repo, self.snapshot_id, step.capture.stream)  # noqa: E731 - re-read per attempt
            transfer.restore(self.api, step.namespace, step.claim, archive, step.capture.bytes)
        except Exception as error:  # recorded per volume; the other steps go on
            return self._data("volume", subject, Outcome.failed, str(error))
        return self._data("volume", subject, Outcome.created, "", step.capture.bytes, time.monotonic() - started)

    def _reown(self, step: ReownVolume) -> bool:
        subject = f"{step.namespace}/{step.claim}"
        started = time.monotonic()
        try:
            uids, gids = reown_shifts(step, self._namespace_annotations(step.namespace))
            if uids is None and gids is None:
                return self._data("reown", subject, Outcome.skipped, "the target namespace has no UID range: owners kept")
            moved = transfer.reown(self.api, step.namespace, step.claim, uids, gids)
        except Exception as error:  # recorded per volume; the other steps go on
            return self._data("reown", subject, Outcome.failed, str(error))
        return self._data("reown", subject, Outcome.updated, describe_reown(uids, gids, moved.files),
                          seconds=time.monotonic() - started)

    def _namespace_annotations(self, namespace: str) -> dict[str, str]:
        found = get(self.api, "v1", "Namespace", namespace) or {}
        return dict((found.get("metadata") or {}).get("annotations") or {})

    def _wait_range(self, step: WaitFor) -> bool:
        """OpenShift assigns a new namespace its ranges within seconds; other clusters never do."""
        name = step.ref.name
        if not self.assigns_ranges:
            return self._data("wait", f"RangeAssigned {step.ref}", Outcome.skipped,
                              "the target assigns no UID ranges (not OpenShift): restored files keep their owners")
        wait_for(self.api, "v1", "Namespace", name, None,
                 lambda obj: SCC_UID_RANGE in ((obj or {}).get("metadata") or {}).get("annotations", {}),
                 timeout=step.timeout_seconds, what=f"a UID range for namespace {name}")
        return True

    def _database(self, step: LoadDatabase) -> bool:
        subject = f"{step.namespace}/{step.workload.name if step.workload else step.container} ({step.capture.engine})"
        if step.guard is not None and _key(step.guard) not in self.created:
            return self._data("database", subject, Outcome.skipped, f"{step.guard} existed: its database is left as it is")
        started = time.monotonic()
        try:
            load_database(self.api, self.repo, self.snapshot_id, step)
        except Exception as error:  # recorded per database; the other steps go on
            return self._data("database", subject, Outcome.failed, str(error))
        return self._data("database", subject, Outcome.created, "", step.capture.bytes, time.monotonic() - started)

    def _artifact(self, step: RestoreArtifact) -> bool:
        subject = f"{step.bucket}/{step.key}"
        started = time.monotonic()
        try:
            written, reason = self.stores.restore(self.repo, self.snapshot_id, step)
        except Exception as error:  # recorded per object; the other steps go on
            return self._data("artifact", subject, Outcome.failed, str(error))
        outcome = Outcome.created if written else Outcome.skipped
        return self._data("artifact", subject, outcome, reason, step.capture.size if written else 0, time.monotonic() - started)

    def _data(self, kind: str, subject: str, outcome: Outcome, reason: str, size: int = 0, seconds: float = 0.0) -> bool:
        self.result.data.append(DataResult(type=kind, subject=subject, outcome=outcome, reason=reason, bytes=size,  # type: ignore[arg-type]
                                           seconds=round(seconds, 3)))
        if outcome is Outcome.failed:
            self.progress(f"failed: {kind} {subject}: {reason}")
        return outcome is not Outcome.failed


def _runs(steps: list[Any]) -> Iterator[list[Any]]:
    """The steps in runs that may go at once: consecutive creates of one kind, none owned by
    another of the run; every other step is a run of its own."""
    run: list[CreateObject] = []
    in_run: set[Key] = set()
    for step in steps:
        if (isinstance(step, CreateObject) and run and (step.ref.group, step.ref.kind) == (run[0].ref.group, run[0].ref.kind)
                and not any(_key(link.owner) in in_run for link in step.owners)):
            run.append(step)
            in_run.add(_key(step.ref))
            continue
        if run:
            yield run
        run, in_run = ([step], {_key(step.ref)}) if isinstance(step, CreateObject) else ([], set())
        if not run:
            yield [step]
    if run:
        yield run


def _phase_bound(obj: dict[str, Any] | None) -> bool:
    return ((obj or {}).get("status") or {}).get("phase") == "Bound"


def _object_path(api: ApiClient, ref: ObjectRef) -> str:
    from mlark.kube.discovery import resource_for

    return resource_for(api, ref.api_version, ref.kind).path(ref.namespace, ref.name)


def _now() -> datetime:
    return datetime.now(timezone.utc)
