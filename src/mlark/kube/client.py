"""Connections to a Kubernetes API server from a kubeconfig, with clear errors.

    api_client(kubeconfig=None, context=None) -> kubernetes.client.ApiClient
    KubeAccessError  (re-exported from mlark.kube.errors)
"""

from __future__ import annotations

from pathlib import Path

import urllib3
from kubernetes import client, config
from kubernetes.config.config_exception import ConfigException

from mlark.kube.errors import KubeAccessError

__all__ = ["KubeAccessError", "api_client"]


def api_client(kubeconfig: Path | str | None = None, context: str | None = None) -> client.ApiClient:
    """An ApiClient for `context` of `kubeconfig` (defaults: $KUBECONFIG, ~/.kube/config, current context)."""
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
