"""Kubeconfig files for the local clusters."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_kubeconfig(
    path: Path, *, cluster: str, server: str, ca_path: Path, cert_path: Path, key_path: Path, user: str = "admin"
) -> None:
    """Write a kubeconfig whose only context is named after the cluster."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server, "certificate-authority": str(ca_path)}}],
        "users": [{"name": f"{cluster}-{user}", "user": {"client-certificate": str(cert_path), "client-key": str(key_path)}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": f"{cluster}-{user}"}}],
        "current-context": cluster,
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    path.chmod(0o600)
