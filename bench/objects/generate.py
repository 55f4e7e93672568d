"""The object benchmark's data set: namespaces full of ConfigMaps, Secrets and custom resources.

    python -m bench.objects.generate [--objects 10000] [--namespaces 50] [--prefix bench]

The pure part (`crd`, `namespace`, `manifests`, `counts`) builds plain dicts, deterministic for
a seed; `apply` creates them on a cluster with a bounded pool of threads (one POST per object,
existing objects skipped, so a second run only fills in what is missing).

Every namespace gets the same mix (40% ConfigMaps, 30% Secrets, 30% custom resources), shaped
like an AI platform's: model and pipeline configuration as YAML in ConfigMaps, S3 data
connections in Secrets (the OpenShift AI dashboard's labels and annotations), and
InferenceService-like custom resources of a CRD the benchmark installs (`BenchModel`), each
pointing at its data connection and a model path.
"""

from __future__ import annotations

import argparse
import base64
import random
import sys
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]

GROUP = "bench.mlark.io"
VERSION = "v1"
KIND = "BenchModel"
PLURAL = "benchmodels"
LABEL = "mlark.io/bench"  # on every namespace the benchmark owns: value "objects"
DEFAULT_OBJECTS = 10_000
DEFAULT_NAMESPACES = 50
DEFAULT_PREFIX = "bench"
SHARES = {"ConfigMap": 0.4, "Secret": 0.3, KIND: 0.3}

_FORMATS = [("sklearn", "1"), ("xgboost", "2"), ("onnx", "1"), ("pytorch", "2"), ("vLLM", "0")]
_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width", "age", "tenure", "balance",
             "num_products", "credit_score", "is_active", "region", "segment"]


@dataclass(frozen=True)
class Mix:
    """How many objects of each kind one namespace holds."""

    configmaps: int
    secrets: int
    models: int

    @property
    def total(self) -> int:
        return self.configmaps + self.secrets + self.models

    @classmethod
    def for_total(cls, objects: int, namespaces: int) -> Mix:
        """The per-namespace mix for `objects` in all (rounded down to a multiple of namespaces)."""
        per = objects // namespaces
        configmaps, secrets = round(per * SHARES["ConfigMap"]), round(per * SHARES["Secret"])
        return cls(configmaps, secrets, per - configmaps - secrets)


def namespace_names(namespaces: int, prefix: str = DEFAULT_PREFIX) -> list[str]:
    return [f"{prefix}-{index}" for index in range(namespaces)]


def crd() -> Obj:
    """The CustomResourceDefinition of the InferenceService-like kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}", "labels": {LABEL: "objects"}},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"kind": KIND, "plural": PLURAL, "singular": KIND.lower(), "listKind": f"{KIND}List"},
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                        "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    },
                }},
            }],
        },
    }


def namespace(name: str) -> Obj:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {LABEL: "objects", "opendatahub.io/dashboard": "true"},
                         "annotations": {"openshift.io/display-name": f"Benchmark project {name}"}}}


def _labels(app: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": "bench", "opendatahub.io/dashboard": "true"}


def _configmap(ns: str, index: int, rng: random.Random) -> Obj:
    features = rng.sample(_FEATURES, 6)
    config = "\n".join([
        "model:",
        f"  name: model-{index}",
        f"  framework: {rng.choice(_FORMATS)[0]}",
        "training:",
        f"  epochs: {rng.randint(5, 200)}",
        f"  batch_size: {rng.choice([16, 32, 64, 128, 256])}",
        f"  learning_rate: {rng.choice([1e-5, 3e-5, 1e-4, 3e-4, 1e-3])}",
        f"  seed: {rng.randint(0, 2**31)}",
        "features:",
        *[f"  - name: {feature}\n    scale: {rng.random():.6f}\n    shift: {rng.random():.6f}" for feature in features],
        "serving:",
        f"  max_batch_size: {rng.choice([1, 8, 32])}",
        f"  timeout_seconds: {rng.choice([10, 30, 60])}",
    ])
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"model-config-{index}", "namespace": ns, "labels": _labels(f"model-{index}")},
            "data": {"config.yaml": config, "threshold": f"{rng.random():.4f}",
                     "labels.txt": "\n".join(f"class-{c}" for c in range(rng.randint(2, 12)))}}


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _secret(ns: str, index: int, rng: random.Random) -> Obj:
    key = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(20))
    secret = "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/+") for _ in range(40))
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": f"data-connection-{index}", "namespace": ns,
                         "labels": {**_labels(f"data-connection-{index}"), "opendatahub.io/managed": "true"},
                         "annotations": {"opendatahub.io/connection-type": "s3",
                                         "openshift.io/display-name": f"Data connection {index}"}},
            "data": {"AWS_ACCESS_KEY_ID": _b64(key), "AWS_SECRET_ACCESS_KEY": _b64(secret),
                     "AWS_DEFAULT_REGION": _b64("us-east-1"), "AWS_S3_BUCKET": _b64(f"models-{ns}"),
                     "AWS_S3_ENDPOINT": _b64("https://s3.example.internal:443")}}


def _model(ns: str, index: int, secrets: int, rng: random.Random) -> Obj:
    name, version = rng.choice(_FORMATS)
    cpu = rng.choice([1, 2, 4])
    return {"apiVersion": f"{GROUP}/{VERSION}", "kind": KIND,
            "metadata": {"name": f"model-{index}", "namespace": ns, "labels": _labels(f"model-{index}"),
                         "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment",
                                         "openshift.io/display-name": f"Model {index}"}},
            "spec": {"predictor": {
                "minReplicas": 1, "maxReplicas": rng.choice([1, 2, 4]),
                "serviceAccountName": "default",
                "model": {
                    "modelFormat": {"name": name, "version": version},
                    "runtime": f"{name.lower()}-runtime",
                    "storage": {"key": f"data-connection-{index % max(secrets, 1)}",
                                "path": f"models/model-{index}/v{rng.randint(1, 9)}"},
                    "args": [f"--model_name=model-{index}", "--workers=1"],
                    "resources": {"requests": {"cpu": str(cpu), "memory": f"{cpu * 2}Gi"},
                                  "limits": {"cpu": str(cpu * 2), "memory": f"{cpu * 4}Gi"}},
                },
                "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
            }},
            }


def manifests(objects: int = DEFAULT_OBJECTS, namespaces: int = DEFAULT_NAMESPACES, prefix: str = DEFAULT_PREFIX,
              seed: int = 20261125) -> list[Obj]:
    """Every namespaced object of the data set (not the namespaces, not the CRD), namespace by namespace."""
    mix = Mix.for_total(objects, namespaces)
    items: list[Obj] = []
    for ns in namespace_names(namespaces, prefix):
        rng = random.Random(f"{seed}/{ns}")
        items += [_configmap(ns, index, rng) for index in range(mix.configmaps)]
        items += [_secret(ns, index, rng) for index in range(mix.secrets)]
        items += [_model(ns, index, mix.secrets, rng) for index in range(mix.models)]
    return items


def counts(items: Iterable[Obj]) -> dict[str, Counter[str]]:
    """kind -> namespace -> how many."""
    table: dict[str, Counter[str]] = {}
    for item in items:
        table.setdefault(item["kind"], Counter())[item["metadata"].get("namespace") or ""] += 1
    return table


# -- on a cluster ----------------------------------------------------------------------------------


def apply(api: Any, items: list[Obj], *, workers: int = 16, progress: Any = print) -> dict[str, int]:
    """Create `items` (existing ones skipped) on `workers` threads; actions counted."""
    from mlark.kube.apply import create

    def one(obj: Obj) -> str:
        result = create(api, obj, "skip")
        if not result.ok:
            raise RuntimeError(f"cannot create {obj['kind']} {obj['metadata'].get('namespace')}/"
                               f"{obj['metadata']['name']}: {result.reason}")
        return result.action.value

    done: Counter[str] = Counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for action in pool.map(one, items):
            done[action] += 1
            if sum(done.values()) % 2000 == 0:
                progress(f"  {sum(done.values())}/{len(items)} objects")
    return dict(done)


def install(api: Any, objects: int = DEFAULT_OBJECTS, namespaces: int = DEFAULT_NAMESPACES,
            prefix: str = DEFAULT_PREFIX, *, workers: int = 16, progress: Any = print) -> dict[str, Any]:
    """The CRD, the namespaces and every object on the cluster; what it did and how fast."""
    from mlark.kube.apply import crd_established, create, wait_for

    started = time.monotonic()
    create(api, crd(), "skip")
    wait_for(api, "apiextensions.k8s.io/v1", "CustomResourceDefinition", f"{PLURAL}.{GROUP}", None, crd_established,
             timeout=60)
    apply(api, [namespace(name) for name in namespace_names(namespaces, prefix)], workers=workers, progress=progress)
    items = manifests(objects, namespaces, prefix)
    actions = apply(api, items, workers=workers, progress=progress)
    seconds = time.monotonic() - started
    return {"objects": len(items), "actions": actions, "seconds": round(seconds, 2),
            "objects_per_second": round(len(items) / seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.objects.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=DEFAULT_OBJECTS)
    parser.add_argument("--namespaces", type=int, default=DEFAULT_NAMESPACES)
    parser.add_argument("--prefix", default=DEFAULT_PREFIX)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--kubeconfig", help="default: the local primary cluster ($MLARK_DEV_HOME)")
    args = parser.parse_args(argv)
    from bench.objects.cluster import connect

    report = install(connect(args.kubeconfig), args.objects, args.namespaces, args.prefix, workers=args.workers)
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
