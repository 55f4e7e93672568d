"""The object benchmark's data set: 10,000 objects, the stated mix in every namespace, deterministic."""

from bench.objects import generate


def test_default_data_set_is_10000_objects_in_50_namespaces():
    items = generate.manifests()
    table = generate.counts(items)
    assert len(items) == 10_000
    assert {kind: sum(per.values()) for kind, per in table.items()} == {"ConfigMap": 4000, "Secret": 3000, "BenchModel": 3000}
    for per in table.values():
        assert sorted(per) == sorted(generate.namespace_names(50))
        assert len(set(per.values())) == 1  # the same count in every namespace


def test_mix_for_other_sizes():
    assert generate.Mix.for_total(1000, 10) == generate.Mix(configmaps=40, secrets=30, models=30)
    assert generate.Mix.for_total(1003, 10).total == 100  # rounded down to whole namespaces
    items = generate.manifests(objects=120, namespaces=3, prefix="t")
    assert len(items) == 120
    assert {item["metadata"]["namespace"] for item in items} == {"t-0", "t-1", "t-2"}


def test_deterministic_unique_and_pointing_at_existing_secrets():
    first, second = generate.manifests(objects=600, namespaces=3), generate.manifests(objects=600, namespaces=3)
    assert first == second
    keys = {(item["kind"], item["metadata"]["namespace"], item["metadata"]["name"]) for item in first}
    assert len(keys) == len(first)
    for item in first:
        if item["kind"] == generate.KIND:
            secret = item["spec"]["predictor"]["model"]["storage"]["key"]
            assert ("Secret", item["metadata"]["namespace"], secret) in keys
    crd = generate.crd()
    assert crd["spec"]["names"]["kind"] == generate.KIND and crd["metadata"]["name"] == f"{generate.PLURAL}.{generate.GROUP}"
