"""Connections to a Kubernetes API server from a kubeconfig, with clear errors.

    api_client(kubeconfig=None, context=None) -> kubernetes.client.ApiClient
    KubeAccessError  (re-exported from mlark.kube.errors)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.incluster_config import InClusterConfigLoader

from mlark.kube.errors import KubeAccessError

__all__ = ["KubeAccessError", "api_client"]


SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")


def api_client(kubeconfig: Path | str | None = None, context: str | None = None) -> client.ApiClient:
    """An ApiClient for `context` of `kubeconfig` (defaults: $KUBECONFIG, ~/.kube/config, current context).

    Inside a pod with neither (a scheduled drill), the pod's service account is used."""
    if kubeconfig is None and context is None and _in_a_pod_without_kubeconfig():
        return in_cluster_client(SERVICE_ACCOUNT / "token", SERVICE_ACCOUNT / "ca.crt", os.environ)
    configuration = client.Configuration()
    try:
        config.load_kube_config(
            config_file=str(kubeconfig) if kubeconfig else None,
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except ConfigException as error:
        where = f" in {kubeconfig}" if kubeconfig else ""
        raise KubeAccessError(f"cannot use kubeconfig{where}: {error}") from error
    except FileNotFoundError as error:
        raise KubeAccessError(f"kubeconfig not found: {error.filename}") from error
    # The client's default urllib3 retries turn a refused connection into minutes of waiting.
    configuration.retries = urllib3.Retry(total=2, connect=2, read=0, backoff_factor=0.2)
    return client.ApiClient(configuration)


def _in_a_pod_without_kubeconfig() -> bool:
    default = Path(os.path.expanduser(config.kube_config.KUBE_CONFIG_DEFAULT_LOCATION))
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")) and not os.environ.get("KUBECONFIG") and not default.exists()


def in_cluster_client(token_file: Path, ca_file: Path, environ: Mapping[str, str]) -> client.ApiClient:
    """An ApiClient from a service account token (re-read as the kubelet rotates it) and the
    KUBERNETES_SERVICE_HOST/PORT of `environ`."""
    configuration = client.Configuration()
    try:
        InClusterConfigLoader(token_filename=str(token_file), cert_filename=str(ca_file), environ=environ,
                              try_refresh_token=True).load_and_set(configuration)
    except ConfigException as error:
        raise KubeAccessError(f"cannot use the pod's service account: {error}") from error
    configuration.retries = urllib3.Retry(total=2, connect=2, read=0, backoff_factor=0.2)
    return client.ApiClient(configuration)
