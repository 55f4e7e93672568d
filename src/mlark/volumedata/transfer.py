"""Capture a volume into a stream and restore a stream into a volume, through a mover pod."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Iterator
from kubernetes.client import ApiClient

from mlark.kube.apply import create, delete, get, pod_running, wait_for
from mlark.kube.errors import KubeError
from mlark.kube.exec import ExecResult, exec_capture, exec_feed, exec_stream, sized_stdin, wait_exec_ready
from mlark.kube.listing import list_objects
from mlark.kube.discovery import resource_for
from mlark.volumedata.mover import CAPTURE_COMMAND, CONTAINER, DEFAULT_IMAGE, RESTORE_COMMAND, mover_pod
from mlark.volumedata.ownership import PROBE_COMMAND, Census, Shift, reown_command


class VolumeTransferError(KubeError):
    """Moving a volume's data failed; the message names the claim."""


def node_using(api: ApiClient, namespace: str, claim: str) -> str | None:
    """The node of a running pod that mounts `claim`, if any."""
    pods = list_objects(api, resource_for(api, "v1", "Pod"), namespace)
    for pod in pods:
        volumes = (pod.get("spec") or {}).get("volumes") or []
        mounts = any((volume.get("persistentVolumeClaim") or {}).get("claimName") == claim for volume in volumes)
        if mounts and pod_running(pod) and not ((pod.get("metadata") or {}).get("labels") or {}).get("mlark.io/mover"):
            return (pod.get("spec") or {}).get("nodeName")
    return None


@contextlib.contextmanager
def mover(api: ApiClient, namespace: str, claim: str, purpose: str, *, image: str = DEFAULT_IMAGE,
          timeout: float = 180.0) -> Iterator[str]:
    """A running mover pod for claim (its name); deleted on exit, whatever happened."""
    _require_bound(api, namespace, claim)
    pod = mover_pod(namespace, claim, purpose, image=image, node_name=node_using(api, namespace, claim),
                    read_only=purpose == "capture", change_owners=purpose == "reown")
    name = pod["metadata"]["name"]
    delete(api, "v1", "Pod", name, namespace)  # a leftover of an interrupted run
    _wait_gone(api, namespace, name)
    result = create(api, pod, "fail")
    if not result.ok:
        raise VolumeTransferError(f"cannot create mover pod for PVC {namespace}/{claim}: {result.reason}")
    try:
        wait_for(api, "v1", "Pod", name, namespace, pod_running, timeout=timeout, what=f"mover pod {namespace}/{name}")
        wait_exec_ready(api, namespace, name, CONTAINER, timeout)
        yield name
    finally:
        delete(api, "v1", "Pod", name, namespace)


def _require_bound(api: ApiClient, namespace: str, claim: str) -> None:
    found = get(api, "v1", "PersistentVolumeClaim", claim, namespace)
    if found is None:
        raise VolumeTransferError(f"PVC {namespace}/{claim} does not exist")
    phase = (found.get("status") or {}).get("phase")
    if phase != "Bound":
        raise VolumeTransferError(f"PVC {namespace}/{claim} is {phase or 'not bound'}, not Bound: no volume to move data with")


def _wait_gone(api: ApiClient, namespace: str, name: str, timeout: float = 60.0) -> None:
    wait_for(api, "v1", "Pod", name, namespace, lambda obj: obj is None, timeout=timeout, what=f"old pod {name} gone")


def capture(api: ApiClient, namespace: str, claim: str, *, image: str = DEFAULT_IMAGE) -> Iterator[bytes]:
    """The volume's files as a tar stream (read-only mount)."""
    with mover(api, namespace, claim, "capture", image=image) as pod:
        yield from exec_stream(api, namespace, pod, CONTAINER, CAPTURE_COMMAND)


# An exec that ends without an exit code broke in the runtime, not in tar: unpacking the
# archive again over what arrived is safe, so it is tried again (a failing tar is not).
ATTEMPTS = 3


def restore(api: ApiClient, namespace: str, claim: str, archive: Callable[[], Iterable[bytes]], size: int, *,
            image: str = DEFAULT_IMAGE) -> ExecResult:
    """Unpack a tar stream of `size` bytes (from `archive()`, called once per attempt) into the volume."""
    with mover(api, namespace, claim, "restore", image=image) as pod:
        for _ in range(ATTEMPTS):
            # Exactly `size` bytes are fed and read: some runtimes never pass on the close of stdin.
            result = exec_feed(api, namespace, pod, CONTAINER, sized_stdin(RESTORE_COMMAND, size), archive())
            if result.returncode != -1:
                break
    if result.returncode != 0:
        raise VolumeTransferError(f"restoring PVC {namespace}/{claim} failed (tar exit {result.returncode}): {_detail(result)}")
    return result



@dataclass
class Reowned:
    """What re-owning changed: the ID moves applied and the files they touched."""

    uids: dict[int, int]
    gids: dict[int, int]
    files: int


def reown(api: ApiClient, namespace: str, claim: str, uids: Shift | None, gids: Shift | None, *,
          image: str = DEFAULT_IMAGE) -> Reowned:
    """Move the owners of the volume's files from the source ranges to the target ranges."""
    with mover(api, namespace, claim, "reown", image=image) as pod:
        probe = exec_capture(api, namespace, pod, CONTAINER, PROBE_COMMAND)
        if probe.returncode != 0:
            raise VolumeTransferError(f"listing the owners in PVC {namespace}/{claim} failed: {_detail(probe)}")
        census = Census.parse(probe.text)
        uid_map = uids.mapping(census.uids()) if uids else {}
        gid_map = gids.mapping(census.gids()) if gids else {}
        if uid_map or gid_map:
            result = exec_capture(api, namespace, pod, CONTAINER, reown_command(uid_map, gid_map))
            if result.returncode != 0:
                raise VolumeTransferError(f"re-owning the files of PVC {namespace}/{claim} failed (the mover runs as "
                                          f"root with CAP_CHOWN; on OpenShift its service account needs an SCC that "
                                          f"allows it, e.g. anyuid): {_detail(result)}")
    return Reowned(uids=uid_map, gids=gid_map, files=census.files_moved(uid_map, gid_map))


def _detail(result: ExecResult) -> str:
    return result.stderr.decode(errors="replace").strip()[-500:] or result.message
