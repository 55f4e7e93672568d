"""A kind served only outside its group's preferred version is still listed (pure)."""

from mlark.kube.discovery import Discovery, ResourceType

VERBS = frozenset({"list", "get", "create"})


def test_kind_only_in_a_non_preferred_version_is_kept() -> None:
    discovery = Discovery(types=(
        ResourceType("serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices", True, VERBS, preferred=True),
        ResourceType("serving.kserve.io", "v1alpha1", "ServingRuntime", "servingruntimes", True, VERBS),
        ResourceType("serving.kserve.io", "v1alpha1", "InferenceService", "inferenceservices", True, VERBS),
    ))
    chosen = {(t.kind, t.version) for t in discovery.listable(namespaced=True)}
    assert chosen == {("InferenceService", "v1beta1"), ("ServingRuntime", "v1alpha1")}
