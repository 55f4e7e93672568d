"""The whole local environment: data services plus one or two Kubernetes clusters."""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel

from mlark.dev.cluster import CLUSTER_NAMES, Cluster, ClusterStatus, Progress
from mlark.dev.paths import state_root
from mlark.dev.ports import port_base
from mlark.dev.process import DevEnvironmentError, running_daemons
from mlark.dev.services.common import stop as stop_service
from mlark.dev.services.environment import ComponentStatus, services_down, services_status, services_up


class EnvironmentStatus(BaseModel):
    state_dir: str
    port_base: int
    clusters: list[ClusterStatus]
    services: list[ComponentStatus]

    @property
    def running(self) -> bool:
        return any(cluster.running for cluster in self.clusters) or any(service.running for service in self.services)


def up(clusters: list[str] | None = None, progress: Progress = lambda message: None) -> EnvironmentStatus:
    """Start the data services, then each cluster (idempotent: running parts are kept)."""
    selected = list(clusters or CLUSTER_NAMES)
    for name in selected:
        Cluster(name)  # rejects an unknown name before anything starts
    progress("starting data services: S3, PostgreSQL, MariaDB, Redis, model server")
    services_up()
    for name in selected:
        Cluster(name).up(progress)
    return status()


def down(progress: Progress = lambda message: None) -> None:
    """Stop every cluster and service; data stays on disk for the next `up`.

    Keeps going past a part that fails to stop, so one stuck daemon never leaves the rest
    running; the failures are reported together at the end."""
    failures: list[str] = []
    for name in CLUSTER_NAMES:
        _attempt(f"cluster {name}", lambda name=name: Cluster(name).down(progress), failures)
    _attempt("data services", lambda: [progress(f"stopped {name}") for name in services_down()], failures)
    # Anything else this environment started (a test's own database, a stray pod process).
    for name in running_daemons():
        _attempt(name, lambda name=name: stop_service(name) and progress(f"stopped {name}"), failures)
    if failures:
        raise DevEnvironmentError("could not stop everything:\n  " + "\n  ".join(failures))


def _attempt(what: str, action: Callable[[], object], failures: list[str]) -> None:
    try:
        action()
    except Exception as error:  # collected and reported once everything else is stopped
        failures.append(f"{what}: {error}")


def status() -> EnvironmentStatus:
    return EnvironmentStatus(
        state_dir=str(state_root()),
        port_base=port_base(),
        clusters=[Cluster(name).status() for name in CLUSTER_NAMES],
        services=services_status(),
    )
