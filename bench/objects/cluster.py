"""The benchmark's cluster helpers: connect, count what a set of namespaces holds, delete them."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.objects.generate import GROUP, KIND, VERSION

COUNTED = [("v1", "ConfigMap"), ("v1", "Secret"), (f"{GROUP}/{VERSION}", KIND)]


def kubeconfig(path: str | None = None) -> Path:
    """`path`, else the local primary cluster's (honours $MLARK_DEV_HOME)."""
    if path:
        return Path(path)
    from mlark.dev.cluster import kubeconfig_path

    return kubeconfig_path("primary")


def connect(path: str | None = None) -> Any:
    from mlark.kube.client import api_client

    return api_client(kubeconfig(path))


def count(api: Any, namespaces: list[str], *, skip_names: frozenset[str] = frozenset({"kube-root-ca.crt"})) -> Counter[str]:
    """kind -> objects of the counted kinds in `namespaces` (one list per kind, all namespaces)."""
    from mlark.kube.discovery import resource_for
    from mlark.kube.errors import KubeNotFound
    from mlark.kube.listing import list_objects

    wanted, total = set(namespaces), Counter[str]()
    for api_version, kind in COUNTED:
        try:
            rtype = resource_for(api, api_version, kind)
        except KubeNotFound:  # the benchmark's CRD is not installed yet (a fresh cluster): none of that kind
            continue
        for item in list_objects(api, rtype):
            meta = item["metadata"]
            if meta.get("namespace") in wanted and meta["name"] not in skip_names:
                total[kind] += 1
    return total


def namespaces(api: Any) -> set[str]:
    from mlark.kube.discovery import resource_for
    from mlark.kube.listing import list_objects

    return {item["metadata"]["name"] for item in list_objects(api, resource_for(api, "v1", "Namespace"))}


def delete_namespaces(api: Any, names: list[str], *, wait: float = 300.0) -> float:
    """Delete `names` and wait until they are gone; the seconds it took."""
    from mlark.kube.apply import delete, get

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda name: delete(api, "v1", "Namespace", name), names))
    pending = list(names)
    while pending and time.monotonic() - started < wait:
        pending = [name for name in pending if get(api, "v1", "Namespace", name) is not None]
        if pending:
            time.sleep(1.0)
    if pending:
        raise RuntimeError(f"{len(pending)} namespaces still terminating after {wait:.0f}s: {', '.join(pending[:5])} ...")
    return time.monotonic() - started
