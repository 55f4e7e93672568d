"""Loopback ports of the local environment.

Every port is an offset from one base (MLARK_DEV_PORT_BASE, default 17000) so that a
developer's demo environment and the test suite's environment can run side by side.
"""

from __future__ import annotations

import os

CLUSTER_OFFSETS = {"primary": 100, "recovery": 200}


def port_base() -> int:
    return int(os.environ.get("MLARK_DEV_PORT_BASE", "17000"))


def s3_port() -> int:
    return port_base() + 333


def seaweed_internal_ports() -> dict[str, int]:
    """The other listeners of SeaweedFS (master, volume, filer, their gRPC ports, admin, webdav)."""
    base = port_base() + 340
    names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3_grpc", "admin", "webdav", "metrics", "iam"]
    return {name: base + index for index, name in enumerate(names)}


def postgres_port() -> int:
    return port_base() + 432


def mariadb_port() -> int:
    return port_base() + 306


def redis_port() -> int:
    return port_base() + 379


def model_server_ports() -> dict[str, int]:
    return {"http": port_base() + 80, "grpc": port_base() + 81, "metrics": port_base() + 82}


def cluster_ports(cluster: str) -> dict[str, int]:
    """Ports of one cluster's control plane; clusters are `primary` and `recovery`."""
    base = port_base() + CLUSTER_OFFSETS[cluster]
    return {
        "etcd_client": base,
        "etcd_peer": base + 1,
        "apiserver": base + 10,
        "controller_manager": base + 11,
        "scheduler": base + 12,
        "kwok": base + 13,
        "kwok_metrics": base + 14,
    }


def simulated_pod_port_range(cluster: str) -> range:
    """Ports handed to the local processes that stand in for pods (databases, model servers)."""
    start = port_base() + 500 + CLUSTER_OFFSETS[cluster] * 2
    return range(start, start + 150)
