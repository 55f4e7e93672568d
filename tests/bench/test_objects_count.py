"""The object benchmark counts its data set on a fresh cluster too: a kind whose CRD is not
installed yet has no objects (it used to stop the benchmark with "does not serve kind")."""

from __future__ import annotations

import pytest
from kubernetes import client
from kubernetes.client import ApiClient

from bench.objects import cluster

pytestmark = pytest.mark.cluster
NOT_SERVED = ("bench-absent.mlark.io/v1", "NeverInstalled")


def test_a_kind_without_its_crd_counts_zero_and_the_others_are_counted(kube_primary: ApiClient, fresh_namespace: str) -> None:
    core = client.CoreV1Api(kube_primary)
    for index in range(3):
        core.create_namespaced_config_map(fresh_namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"c{index}")))
    counted = cluster.count(kube_primary, [fresh_namespace], kinds=[("v1", "ConfigMap"), NOT_SERVED])
    assert counted == {"ConfigMap": 3}
