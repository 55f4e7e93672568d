"""One local Kubernetes cluster: etcd, kube-apiserver, controller-manager, scheduler, kwok.

Two clusters can run side by side (`primary` and `recovery`); each has its own ports, PKI,
etcd data and kubeconfig under the environment's state directory.
"""

from __future__ import annotations

import ssl
import sys
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from mlark.dev import process
from mlark.dev.bootstrap import bootstrap
from mlark.dev.kubeconfig import write_kubeconfig
from mlark.dev.paths import state_root
from mlark.dev.pki import API_SERVER_IPS, API_SERVER_NAMES, CertificateAuthority, service_account_key
from mlark.dev.ports import cluster_ports
from mlark.dev.services.common import stop as stop_service
from mlark.dev.toolchain import build
from mlark.kube.client import api_client

CLUSTER_NAMES = ("primary", "recovery")
SERVICE_CIDR = "10.96.0.0/16"
POD_CIDR = "10.244.0.1/16"
Progress = Callable[[str], None]


class ClusterStatus(BaseModel):
    name: str
    running: bool
    api_server: str
    kubeconfig: str
    version: str | None = None
    components: dict[str, bool]


@dataclass(frozen=True)
class Cluster:
    name: str

    def __post_init__(self) -> None:
        if self.name not in CLUSTER_NAMES:
            raise process.DevEnvironmentError(f"unknown cluster {self.name!r}; choose one of {', '.join(CLUSTER_NAMES)}")

    @property
    def directory(self) -> Path:
        path = state_root() / "clusters" / self.name
        path.mkdir(parents=True, exist_ok=True)
        return path

    @property
    def ports(self) -> dict[str, int]:
        return cluster_ports(self.name)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['apiserver']}"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def daemon(self, component: str) -> str:
        return f"{self.name}-{component}"

    # -- start-up ---------------------------------------------------------------------------

    def up(self, progress: Progress = lambda message: None) -> None:
        """Start every component that is not running yet (idempotent)."""
        build.ensure_all(log=process.log_file("toolchain-build"), progress=lambda message: progress(f"{self.name}: {message}"))
        pki = self._pki()
        self._start("etcd", self._etcd_argv(), self.ports["etcd_client"], progress)
        self._start("kube-apiserver", self._apiserver_argv(pki), self.ports["apiserver"], progress)
        process.wait_until(self.daemon("kube-apiserver"), self.ready, timeout=90)
        self._start("kube-controller-manager", self._controller_manager_argv(pki), self.ports["controller_manager"], progress)
        self._start("kube-scheduler", self._scheduler_argv(), self.ports["scheduler"], progress)
        progress(f"{self.name}: applying nodes, storage classes and kwok's CRDs")
        bootstrap(api_client(self.kubeconfig), self.name, build.binary(build.KWOK, "crds.yaml"))
        self._start("kwok", self._kwok_argv(pki), self.ports["kwok"], progress)
        self._start_simulator(progress)

    def _start_simulator(self, progress: Progress) -> None:
        name = self.daemon("simulator")
        if process.running_pid(name) is None:
            progress(f"{self.name}: starting the pod simulator")
            process.start_daemon(name, [sys.executable, "-m", "mlark.dev.simulator", "--cluster", self.name])

    def _start(self, component: str, argv: list[str], port: int, progress: Progress) -> None:
        name = self.daemon(component)
        if process.running_pid(name) is None:
            progress(f"{self.name}: starting {component}")
            process.require_free_ports(name, [port])
            process.start_daemon(name, argv)
        process.wait_for_port(name, port, timeout=90)

    def _pki(self) -> dict[str, Path]:
        directory = self.directory / "pki"
        authority = CertificateAuthority(directory)
        apiserver_cert, apiserver_key = authority.issue(
            "apiserver", "kube-apiserver", dns_names=API_SERVER_NAMES, ip_addresses=API_SERVER_IPS, server=True
        )
        admin_cert, admin_key = authority.issue("admin", "kubernetes-admin", organization="system:masters", client=True)
        node_cert, node_key = authority.issue(
            "kwok-kubelet", "kwok-kubelet", dns_names=["localhost"], ip_addresses=["127.0.0.1"], server=True
        )
        sa_private, sa_public = service_account_key(directory)
        write_kubeconfig(
            self.kubeconfig, cluster=self.name, server=self.server, ca_path=authority.cert_path,
            cert_path=admin_cert, key_path=admin_key,
        )
        return {
            "ca": authority.cert_path, "ca_key": authority.key_path,
            "apiserver_cert": apiserver_cert, "apiserver_key": apiserver_key,
            "admin_cert": admin_cert, "admin_key": admin_key,
            "node_cert": node_cert, "node_key": node_key,
            "sa_private": sa_private, "sa_public": sa_public,
        }

    def _etcd_argv(self) -> list[str]:
        client_url = f"http://127.0.0.1:{self.ports['etcd_client']}"
        peer_url = f"http://127.0.0.1:{self.ports['etcd_peer']}"
        return [
            str(build.binary(build.ETCD, "etcd")),
            f"--name={self.name}",
            f"--data-dir={self.directory / 'etcd'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster={self.name}={peer_url}",
            "--quota-backend-bytes=4294967296",
            "--unsafe-no-fsync=true",
            "--log-level=warn",
        ]

    def _apiserver_argv(self, pki: dict[str, Path]) -> list[str]:
        return [
            str(build.binary(build.KUBERNETES, "kube-apiserver")),
            f"--etcd-servers=http://127.0.0.1:{self.ports['etcd_client']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            # A loopback advertise address is refused by the endpoint reconciler; nothing in
            # the cluster needs the kubernetes Service endpoints.
            "--endpoint-reconciler-type=none",
            f"--secure-port={self.ports['apiserver']}",
            f"--tls-cert-file={pki['apiserver_cert']}",
            f"--tls-private-key-file={pki['apiserver_key']}",
            f"--client-ca-file={pki['ca']}",
            f"--service-account-key-file={pki['sa_public']}",
            f"--service-account-signing-key-file={pki['sa_private']}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--kubelet-client-certificate={pki['admin_cert']}",
            f"--kubelet-client-key={pki['admin_key']}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            "--allow-privileged=true",
            "--max-requests-inflight=0",
            "--max-mutating-requests-inflight=0",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=1",
        ]

    def _controller_manager_argv(self, pki: dict[str, Path]) -> list[str]:
        return [
            str(build.binary(build.KUBERNETES, "kube-controller-manager")),
            f"--kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports['controller_manager']}",
            f"--root-ca-file={pki['ca']}",
            f"--service-account-private-key-file={pki['sa_private']}",
            "--use-service-account-credentials=false",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--leader-elect=false",
            "--kube-api-qps=1000",
            "--kube-api-burst=2000",
            "--profiling=false",
            "--v=1",
        ]

    def _scheduler_argv(self) -> list[str]:
        return [
            str(build.binary(build.KUBERNETES, "kube-scheduler")),
            f"--config={self._scheduler_config()}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.ports['scheduler']}",
            "--profiling=false",
            "--v=1",
        ]

    def _scheduler_config(self) -> Path:
        """Short retry back-off: a pod created right after its PVC is retried within a second or
        two once the claim binds, instead of up to ten (the upstream default)."""
        path = self.directory / "scheduler.yaml"
        path.write_text(
            "apiVersion: kubescheduler.config.k8s.io/v1\n"
            "kind: KubeSchedulerConfiguration\n"
            f"clientConnection:\n  kubeconfig: {self.kubeconfig}\n"
            "leaderElection:\n  leaderElect: false\n"
            "podInitialBackoffSeconds: 1\n"
            "podMaxBackoffSeconds: 2\n"
        )
        return path

    def _kwok_argv(self, pki: dict[str, Path]) -> list[str]:
        return [
            str(build.binary(build.KWOK, "kwok")),
            f"--kubeconfig={self.kubeconfig}",
            f"--config={build.binary(build.KWOK, 'stages.yaml')}",
            f"--tls-cert-file={pki['node_cert']}",
            f"--tls-private-key-file={pki['node_key']}",
            "--manage-all-nodes=false",
            "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            "--node-ip=127.0.0.1",
            f"--node-name={self.name}-kwok-controller",
            f"--node-port={self.ports['kwok']}",
            f"--server-address=127.0.0.1:{self.ports['kwok']}",
            f"--cidr={POD_CIDR}",
            "--node-lease-duration-seconds=40",
            "--enable-crds=Exec,PortForward",
            "--v=1",
        ]

    # -- state --------------------------------------------------------------------------------

    def ready(self) -> bool:
        try:
            return self._get("/readyz") == "ok"
        except OSError:
            return False

    def version(self) -> str | None:
        import json

        try:
            return json.loads(self._get("/version"))["gitVersion"]
        except (OSError, ValueError, KeyError):
            return None

    def _get(self, path: str) -> str:
        pki = self.directory / "pki"
        context = ssl.create_default_context(cafile=str(pki / "ca.crt"))
        context.load_cert_chain(str(pki / "admin.crt"), str(pki / "admin.key"))
        with urllib.request.urlopen(self.server + path, context=context, timeout=3) as response:
            return response.read().decode()

    def components(self) -> dict[str, bool]:
        names = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok", "simulator")
        return {component: process.running_pid(self.daemon(component)) is not None for component in names}

    def status(self) -> ClusterStatus:
        components = self.components()
        running = all(components.values())
        return ClusterStatus(
            name=self.name,
            running=running,
            api_server=self.server,
            kubeconfig=str(self.kubeconfig),
            version=self.version() if components["kube-apiserver"] else None,
            components=components,
        )

    def down(self, progress: Progress = lambda message: None) -> None:
        for component in ("simulator", "kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
            if process.stop_daemon(self.daemon(component)):
                progress(f"{self.name}: stopped {component}")
            if component == "simulator":
                self._stop_simulated_pods(progress)

    def _stop_simulated_pods(self, progress: Progress) -> None:
        """Stop the processes standing in for pods; the simulator restarts them on the next up."""
        for name in process.running_daemons():
            if name.startswith(f"sim-{self.name}-"):
                stop_service(name)
                progress(f"{self.name}: stopped {name}")
        for record in (self.directory / "simulator" / "pods").glob("*.json"):
            record.unlink()


def kubeconfig_path(cluster: str = "primary") -> Path:
    """The kubeconfig of a local cluster (exists once the cluster has been started)."""
    return Cluster(cluster).kubeconfig
