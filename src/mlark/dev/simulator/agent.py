"""The simulator's loop: watch pods on kwok nodes, run their stand-in processes, wire exec."""

from __future__ import annotations

import base64
import json
import logging
import shutil
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException
from pydantic import BaseModel

from mlark.dev.process import DevEnvironmentError, port_in_use
from mlark.dev.services.common import stop as stop_service
from mlark.dev.simulator import plan as planning
from mlark.dev.simulator.provisioner import Provisioner

log = logging.getLogger("mlark.simulator")
KWOK_GROUP, KWOK_VERSION = "kwok.x-k8s.io", "v1alpha1"


class AppliedPod(BaseModel):
    """What the simulator started for one pod, kept on disk so a restart can clean up."""

    namespace: str
    name: str
    uid: str
    daemons: list[str] = []
    ports: dict[str, int] = {}


class PodSimulator:
    def __init__(self, cluster: str, api: client.ApiClient, state_dir: Path, ports: range) -> None:
        self.cluster = cluster
        self.core = client.CoreV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.state_dir = state_dir
        self.pods_dir = state_dir / "pods"
        self.pods_dir.mkdir(parents=True, exist_ok=True)
        self.provisioner = Provisioner(api, state_dir / "volumes")
        self.port_range = ports
        self.applied: dict[str, AppliedPod] = self._load_applied()
        self.in_progress: set[str] = set()
        self.reserved: set[int] = set()
        self.lock = threading.Lock()
        self.workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="pod")

    # -- loop -----------------------------------------------------------------------------------

    def run_forever(self, interval: float = 0.5) -> None:
        while True:
            try:
                self.reconcile()
            except Exception:  # the loop must survive an API hiccup; the next round retries
                log.exception("reconcile failed")
            time.sleep(interval)

    def reconcile(self) -> None:
        self.provisioner.reconcile()
        live = {pod.metadata.uid: pod for pod in self._scheduled_pods()}
        for uid in set(self.applied) - set(live):
            self._teardown(self.applied[uid])
        for uid, pod in live.items():
            with self.lock:
                if uid in self.applied or uid in self.in_progress:
                    continue
                self.in_progress.add(uid)
            self.workers.submit(self._apply_safely, pod)

    def _scheduled_pods(self) -> list[client.V1Pod]:
        pods = self.core.list_pod_for_all_namespaces().items
        return [
            pod for pod in pods
            if pod.spec.node_name and pod.metadata.deletion_timestamp is None
            and (pod.status.phase or "Pending") not in ("Succeeded", "Failed")
        ]

    # -- one pod ----------------------------------------------------------------------------------

    def _apply_safely(self, pod: client.V1Pod) -> None:
        uid = pod.metadata.uid
        applied = AppliedPod(namespace=pod.metadata.namespace, name=pod.metadata.name, uid=uid)
        try:
            self._apply(pod, applied)
        except Exception as error:  # anything half-started is undone; the next round retries
            if isinstance(error, planning.Unresolvable):
                log.info("pod %s/%s waits: %s", applied.namespace, applied.name, error)
            else:
                log.error("pod %s/%s: %s", applied.namespace, applied.name, error)
            self._teardown(applied)
        finally:
            with self.lock:
                self.in_progress.discard(uid)

    def _apply(self, pod: client.V1Pod, applied: AppliedPod) -> None:
        manifest = self.core.api_client.sanitize_for_serialization(pod)
        namespace = pod.metadata.namespace
        scratch = self.pods_dir / pod.metadata.uid
        scratch.mkdir(parents=True, exist_ok=True)
        pod_plan = planning.plan_pod(
            manifest, self._volume_dirs(manifest, scratch), str(scratch),
            self._secrets(namespace), self._config_maps(namespace),
        )
        exec_extra: dict[str, dict[str, str]] = {}
        forwards: list[dict[str, Any]] = []
        for process in pod_plan.processes:
            port = self._start_process(process, applied, scratch)
            client_dir = scratch / "client" / process.container
            client_dir.mkdir(parents=True, exist_ok=True)
            if process.kind is planning.ProcessKind.mariadb:
                options = client_dir / "my.cnf"
                options.write_text(planning.mariadb_client_options(process, port))
                options.chmod(0o600)
            if process.kind is planning.ProcessKind.redis:
                (client_dir / "bin").mkdir(exist_ok=True)
                wrapper = client_dir / "bin" / "redis-cli"
                wrapper.write_text(planning.redis_cli_wrapper(shutil.which("redis-cli") or "/usr/bin/redis-cli", port))
                wrapper.chmod(0o755)
            exec_extra[process.container] = planning.exec_env(process, port, str(client_dir))
            forwards.append({"ports": [planning.CONTAINER_PORTS[process.kind]], "target": {"port": port, "address": "127.0.0.1"}})
        self._write_kwok_objects(manifest, pod_plan, exec_extra, forwards)
        self.applied[applied.uid] = applied
        (self.pods_dir / f"{applied.uid}.json").write_text(applied.model_dump_json())
        log.info("pod %s/%s ready (%d local processes)", namespace, pod.metadata.name, len(pod_plan.processes))

    def _start_process(self, process: planning.ProcessPlan, applied: AppliedPod, scratch: Path) -> int:
        from mlark.dev.simulator import workloads

        daemon = f"sim-{self.cluster}-{applied.uid[:13]}-{process.container}"
        ports_needed = 3 if process.kind is planning.ProcessKind.mlserver else 1
        ports = self._allocate_ports(ports_needed)
        applied.daemons.append(daemon)
        applied.ports.update({f"{process.container}:{index}": port for index, port in enumerate(ports)})
        (self.pods_dir / f"{applied.uid}.json").write_text(applied.model_dump_json())
        return workloads.start(process, daemon, ports, scratch)

    def _allocate_ports(self, count: int) -> list[int]:
        # Pods are applied on several threads: a port is reserved the moment it is chosen,
        # long before the process behind it listens.
        with self.lock:
            taken = self.reserved | {port for pod in self.applied.values() for port in pod.ports.values()}
            chosen = [port for port in self.port_range if port not in taken and not port_in_use(port)][:count]
            if len(chosen) < count:
                raise DevEnvironmentError(f"no free loopback port left for simulated pods in {self.port_range}")
            self.reserved.update(chosen)
            return chosen

    def _volume_dirs(self, pod: dict[str, Any], scratch: Path) -> dict[str, str]:
        result: dict[str, str] = {}
        for volume in pod["spec"].get("volumes") or []:
            if "persistentVolumeClaim" in volume:
                result[volume["name"]] = self._claim_dir(pod["metadata"]["namespace"], volume["persistentVolumeClaim"]["claimName"])
            elif "emptyDir" in volume:
                path = scratch / "volumes" / volume["name"]
                path.mkdir(parents=True, exist_ok=True)
                result[volume["name"]] = str(path)
        return result

    def _claim_dir(self, namespace: str, claim_name: str) -> str:
        try:
            claim = self.core.read_namespaced_persistent_volume_claim(claim_name, namespace)
        except ApiException as error:
            raise planning.Unresolvable(f"PVC {claim_name} not found") from error
        if not claim.spec.volume_name or claim.status.phase != "Bound":
            raise planning.Unresolvable(f"PVC {claim_name} not bound yet")
        volume = self.core.read_persistent_volume(claim.spec.volume_name)
        if volume.spec.host_path is None:
            raise planning.Unresolvable(f"PV {volume.metadata.name} has no local directory")
        return volume.spec.host_path.path

    def _secrets(self, namespace: str) -> dict[str, dict[str, str]]:
        return {
            item.metadata.name: {key: base64.b64decode(value).decode(errors="replace") for key, value in (item.data or {}).items()}
            for item in self.core.list_namespaced_secret(namespace).items
        }

    def _config_maps(self, namespace: str) -> dict[str, dict[str, str]]:
        return {item.metadata.name: dict(item.data or {}) for item in self.core.list_namespaced_config_map(namespace).items}

    def _write_kwok_objects(
        self, pod: dict[str, Any], pod_plan: planning.PodPlan, exec_extra: dict[str, dict[str, str]], forwards: list[dict[str, Any]]
    ) -> None:
        execs = [
            {
                "containers": [item.container],
                "local": {
                    "workDir": item.work_dir,
                    "envs": [{"name": k, "value": v} for k, v in {**item.env, **exec_extra.get(item.container, {})}.items()],
                },
            }
            for item in pod_plan.execs
        ]
        self._apply_kwok_object("execs", "Exec", pod, {"execs": execs})
        if forwards:
            self._apply_kwok_object("portforwards", "PortForward", pod, {"forwards": forwards})

    def _apply_kwok_object(self, plural: str, kind: str, pod: dict[str, Any], spec: dict[str, Any]) -> None:
        metadata = pod["metadata"]
        body = {
            "apiVersion": f"{KWOK_GROUP}/{KWOK_VERSION}",
            "kind": kind,
            "metadata": {
                "name": metadata["name"],
                "namespace": metadata["namespace"],
                # Owned by the pod, so the garbage collector removes it with the pod.
                "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": metadata["name"], "uid": metadata["uid"]}],
            },
            "spec": spec,
        }
        try:
            self.custom.create_namespaced_custom_object(KWOK_GROUP, KWOK_VERSION, metadata["namespace"], plural, body)
        except ApiException as error:
            if error.status != 409:
                raise
            self.custom.delete_namespaced_custom_object(KWOK_GROUP, KWOK_VERSION, metadata["namespace"], plural, metadata["name"])
            self.custom.create_namespaced_custom_object(KWOK_GROUP, KWOK_VERSION, metadata["namespace"], plural, body)

    def _teardown(self, applied: AppliedPod) -> None:
        for daemon in applied.daemons:
            stop_service(daemon)
        with self.lock:
            self.reserved.difference_update(applied.ports.values())
        self.applied.pop(applied.uid, None)
        (self.pods_dir / f"{applied.uid}.json").unlink(missing_ok=True)
        log.info("pod %s/%s gone: stopped %s", applied.namespace, applied.name, ", ".join(applied.daemons) or "nothing")

    def _load_applied(self) -> dict[str, AppliedPod]:
        result = {}
        for path in self.pods_dir.glob("*.json"):
            try:
                applied = AppliedPod.model_validate(json.loads(path.read_text()))
            except ValueError:
                continue
            result[applied.uid] = applied
        return result

    def teardown_all(self) -> None:
        for applied in list(self.applied.values()):
            self._teardown(applied)
