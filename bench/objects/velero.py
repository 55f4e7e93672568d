"""Velero in the same run as mlark: a local `velero server` process against the same cluster.

    with VeleroServer.start(api, kubeconfig, tools, s3, work_dir, port=P) as velero:
        velero.backup("bench-1", namespaces)            -> dict (seconds, items, phase, peak RSS)
        velero.restore("bench-1", mapping)              -> dict

Objects only: no node agent, no volume snapshots, no file-system backup. What Velero needs for
that, found by running it (v1.18.3):

- its CRDs (`velero install --crds-only --dry-run -o yaml`, applied here through the API);
- a BackupStorageLocation that validates as Available: Velero refuses a backup to a location
  that is not, so an object store plugin is always needed (velero-plugin-for-aws in the plugin
  directory, on the environment's SeaweedFS S3, path-style, with a credentials file);
- a Deployment named `velero` in its namespace: every restore instantiates the built-in pod
  volume restore action, whose constructor reads that Deployment's image
  (pkg/restore/actions/pod_volume_restore_action.go) and fails the restore when it is absent.
  One with 0 replicas runs nothing and satisfies it.

The server runs in a session of its own; `stop()` ends it and its plugin processes (that
process group, by id) and removes the Backup and Restore objects it made.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from bench.repo.measure import tree_rss

NAMESPACE = "velero"
GROUP_VERSION = "velero.io/v1"
FINAL_PHASES = {"Completed", "PartiallyFailed", "Failed", "FailedValidation"}
# The location's prefix in the bucket: one per run, so the server syncs no Backup of an earlier run.
BUCKET = "mlark-bench-velero"


def _apply_all(api: Any, documents: list[dict[str, Any]]) -> None:
    from mlark.kube.apply import create

    for document in documents:
        result = create(api, document, "update")
        if not result.ok:
            raise RuntimeError(f"cannot apply {document['kind']} {document['metadata']['name']}: {result.reason}")


def install_crds(api: Any, velero: Path) -> int:
    """Velero's CRDs, as its installer prints them; the number applied."""
    from mlark.kube.apply import crd_established, wait_for

    printed = subprocess.run([str(velero), "install", "--crds-only", "--dry-run", "-o", "yaml"], capture_output=True,
                             text=True, check=True).stdout
    documents = []
    for document in yaml.safe_load_all(printed):
        if not document:
            continue
        documents += document.get("items", []) if document.get("kind") == "List" else [document]
    crds = [d for d in documents if d.get("kind") == "CustomResourceDefinition"]
    for crd in crds:  # the installer's output carries empty status fields the API rejects on create
        crd.pop("status", None)
        (crd.get("metadata") or {}).pop("creationTimestamp", None)
    _apply_all(api, crds)
    for crd in crds:
        wait_for(api, "apiextensions.k8s.io/v1", "CustomResourceDefinition", crd["metadata"]["name"], None, crd_established,
                 timeout=60)
    return len(crds)


def _placeholder_deployment() -> dict[str, Any]:
    """The `velero` Deployment every restore looks up (see the module docstring); 0 replicas."""
    labels = {"component": "velero", "deploy": "velero"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "velero", "namespace": NAMESPACE, "labels": labels},
            "spec": {"replicas": 0, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "velero", "image": "velero/velero:v1.18.3"}]}}}}


def _location(s3: Any, prefix: str) -> dict[str, Any]:
    return {"apiVersion": GROUP_VERSION, "kind": "BackupStorageLocation", "metadata": {"name": "default", "namespace": NAMESPACE},
            "spec": {"provider": "aws", "default": True, "objectStorage": {"bucket": BUCKET, "prefix": prefix},
                     "config": {"region": s3.region, "s3ForcePathStyle": "true", "s3Url": s3.endpoint}}}


def _ensure_bucket(s3: Any) -> None:
    client = s3.client()
    names = {bucket["Name"] for bucket in client.list_buckets().get("Buckets", [])}
    if BUCKET not in names:
        client.create_bucket(Bucket=BUCKET)


class VeleroServer:
    """One `velero server` process and the cluster objects it needs."""

    def __init__(self, api: Any, process: subprocess.Popen[bytes], log: Path, flags: dict[str, str]) -> None:
        self.api, self.process, self.log, self.flags = api, process, log, flags
        self.made: list[tuple[str, str]] = []  # (kind, name) of the Backups and Restores created

    @classmethod
    @contextmanager
    def start(cls, api: Any, kubeconfig: Path, tools: Path, s3: Any, work_dir: Path, *, port: int,
              client_qps: float | None = None, client_burst: int | None = None) -> Iterator[VeleroServer]:
        from mlark.kube.apply import create

        work_dir.mkdir(parents=True, exist_ok=True)
        plugins = work_dir / "plugins"
        plugins.mkdir(exist_ok=True)
        plugin = plugins / "velero-plugin-for-aws"
        if not plugin.exists():
            plugin.symlink_to(tools / "velero-plugin-for-aws")
        credentials = work_dir / "credentials"
        credentials.touch(mode=0o600)
        credentials.write_text(f"[default]\naws_access_key_id={s3.access_key}\naws_secret_access_key={s3.secret_key}\n")
        install_crds(api, tools / "velero")
        create(api, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}, "skip")
        _apply_all(api, [_placeholder_deployment(), _location(s3, work_dir.name)])
        _ensure_bucket(s3)
        flags = {"--kubeconfig": str(kubeconfig), "--namespace": NAMESPACE, "--plugin-dir": str(plugins),
                 "--metrics-address": f"127.0.0.1:{port}", "--profiler-address": f"127.0.0.1:{port + 1}",
                 "--store-validation-frequency": "5s", "--backup-sync-period": "1h", "--log-level": "info"}
        if client_qps is not None:
            flags["--client-qps"] = str(client_qps)
        if client_burst is not None:
            flags["--client-burst"] = str(client_burst)
        environment = {**os.environ, "AWS_SHARED_CREDENTIALS_FILE": str(credentials), "HOME": str(work_dir)}
        log = work_dir / "velero-server.log"
        with log.open("ab") as out:
            process = subprocess.Popen([str(tools / "velero"), "server", *[part for item in flags.items() for part in item]],
                                       stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=environment,
                                       cwd=work_dir, start_new_session=True)
        server = cls(api, process, log, flags)
        try:
            server._wait_available()
            yield server
        finally:
            server.stop()

    def _wait_available(self, timeout: float = 120.0) -> None:
        from mlark.kube.apply import get

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"velero server exited ({self.process.returncode}); see {self.log}")
            location = get(self.api, GROUP_VERSION, "BackupStorageLocation", "default", NAMESPACE) or {}
            if (location.get("status") or {}).get("phase") == "Available":
                return
            time.sleep(0.5)
        raise RuntimeError(f"Velero's storage location did not become Available in {timeout:.0f}s; see {self.log}")

    def _run(self, kind: str, name: str, spec: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Create a Backup or Restore and poll it to a final phase; wall time from create to final."""
        from mlark.kube.apply import create, get

        load = os.getloadavg()[0]
        before = _cpu_seconds(self.process.pid)
        body = {"apiVersion": GROUP_VERSION, "kind": kind, "metadata": {"name": name, "namespace": NAMESPACE}, "spec": spec}
        started = time.monotonic()
        created = create(self.api, body, "fail")
        if not created.ok:
            raise RuntimeError(f"cannot create Velero {kind} {name}: {created.reason}")
        self.made.append((kind, name))
        peak, status = 0, {}
        while time.monotonic() - started < timeout:
            peak = max(peak, tree_rss(self.process.pid))
            status = (get(self.api, GROUP_VERSION, kind, name, NAMESPACE) or {}).get("status") or {}
            if status.get("phase") in FINAL_PHASES:
                break
            time.sleep(0.1)
        seconds = time.monotonic() - started
        if status.get("phase") not in FINAL_PHASES:
            raise RuntimeError(f"Velero {kind} {name} not finished after {timeout:.0f}s (phase {status.get('phase')}); see {self.log}")
        progress = status.get("progress") or {}
        items = progress.get("itemsBackedUp" if kind == "Backup" else "itemsRestored", 0)
        return {"step": f"velero {kind.lower()}", "name": name, "phase": status["phase"], "seconds": round(seconds, 3),
                "objects": items, "total_items": progress.get("totalItems", 0), "errors": status.get("errors", 0),
                "warnings": status.get("warnings", 0), "objects_per_second": round(items / seconds, 1) if seconds else 0.0,
                "peak_rss_bytes": max(peak, _hwm_tree(self.process.pid)), "load_before": round(load, 2),
                "cpu_seconds": round(_cpu_seconds(self.process.pid) - before, 2)}

    def backup(self, name: str, namespaces: list[str], timeout: float = 900.0) -> dict[str, Any]:
        spec = {"includedNamespaces": namespaces, "snapshotVolumes": False, "defaultVolumesToFsBackup": False,
                "storageLocation": "default", "ttl": "24h0m0s"}
        return self._run("Backup", name, spec, timeout)

    def restore(self, name: str, backup: str, mapping: dict[str, str], timeout: float = 1800.0) -> dict[str, Any]:
        spec = {"backupName": backup, "namespaceMapping": mapping, "restorePVs": False,
                "existingResourcePolicy": "none"}
        result = self._run("Restore", name, spec, timeout)
        result["target_namespaces"] = sorted(mapping.values())
        return result

    def stop(self) -> None:
        """Delete what this server made (while it still runs its finalizers), then end its process group."""
        from mlark.kube.apply import delete, get

        for kind, name in reversed(self.made):
            delete(self.api, GROUP_VERSION, kind, name, NAMESPACE)
        deadline = time.monotonic() + 60
        while self.process.poll() is None and time.monotonic() < deadline and any(
                get(self.api, GROUP_VERSION, kind, name, NAMESPACE) for kind, name in self.made):
            time.sleep(0.5)
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        try:  # plugin processes left behind in the server's group
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _tree(root: int) -> list[int]:
    children = Path(f"/proc/{root}/task/{root}/children")
    try:
        pids = [int(pid) for pid in children.read_text().split()]
    except OSError:
        return [root]
    return [root, *[pid for child in pids for pid in _tree(child)]]


def _hwm_tree(root: int) -> int:
    """The largest peak RSS (VmHWM) of one process of the tree (the server or a plugin)."""
    peak = 0
    for pid in _tree(root):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:
            continue
    return peak


def _cpu_seconds(root: int) -> float:
    """User + system CPU seconds of the server and its plugin processes, so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in _tree(root):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total / ticks
