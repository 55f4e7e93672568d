"""Translation of client failures into mlark's errors (pure: no cluster)."""

from __future__ import annotations

import json

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from mlark.kube.errors import (KubeAccessError, KubeConflict, KubeError, KubeForbidden, KubeInvalid, KubeNotFound,
                               KubeUnreachable, api_errors, translate)


def _api_exception(status: int, reason: str, message: str) -> ApiException:
    error = ApiException(status=status, reason=reason)
    error.body = json.dumps({"kind": "Status", "status": "Failure", "reason": reason, "message": message, "code": status})
    return error


def test_forbidden_names_verb_resource_namespace_and_keeps_the_server_message() -> None:
    error = translate(_api_exception(403, "Forbidden", 'secrets is forbidden: User "alice" cannot list resource'),
                      verb="list", resource="secrets", namespace="rhoai-demo")
    assert isinstance(error, KubeForbidden) and error.status == 403
    assert str(error) == ('forbidden: cannot list secrets in namespace rhoai-demo: '
                          'secrets is forbidden: User "alice" cannot list resource')


@pytest.mark.parametrize(("status", "reason", "kind"), [
    (404, "NotFound", KubeNotFound), (409, "AlreadyExists", KubeConflict), (422, "Invalid", KubeInvalid)])
def test_status_codes_map_to_classes(status: int, reason: str, kind: type) -> None:
    error = translate(_api_exception(status, reason, "x"), verb="create", resource="inferenceservices.serving.kserve.io",
                      namespace="n", name="iris")
    assert isinstance(error, kind) and error.reason == reason
    assert "create inferenceservices.serving.kserve.io/iris in namespace n" in str(error)


def test_cluster_scoped_and_network_errors() -> None:
    error = translate(_api_exception(404, "NotFound", "gone"), verb="get", resource="storageclasses.storage.k8s.io",
                      name="fast")
    assert "get storageclasses.storage.k8s.io/fast (cluster-scoped)" in str(error)
    refused = translate(urllib3.exceptions.NewConnectionError(None, "Connection refused"), verb="list", resource="pods")
    assert isinstance(refused, KubeUnreachable) and isinstance(refused, KubeAccessError)
    assert str(refused).startswith("API server unreachable (list pods")


def test_context_manager_chains_the_cause() -> None:
    with pytest.raises(KubeError) as caught:
        with api_errors(verb="delete", resource="pods", namespace="n", name="p"):
            raise _api_exception(404, "NotFound", 'pods "p" not found')
    assert isinstance(caught.value.__cause__, ApiException)
