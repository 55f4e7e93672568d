"""Fast listing of objects as plain dicts (raw JSON, no typed models), page by page.

    list_pages(api, rtype, namespace=None, *, label_selector=None, field_selector=None, page_size=500)
        -> Iterator[list[dict]]           one list per page (limit/continue)
    list_objects(api, rtype, namespace=None, ...) -> list[dict]
    list_many(api, requests, *, workers=4, ...) -> Iterator[Listed]
        several (ResourceType, namespace) lists at once on a small thread pool, in completion order

Every object has apiVersion and kind filled in (the API server leaves them out of list items).
namespace=None lists a namespaced type across all namespaces. A continue token that expired
(410 Gone) restarts the list from the beginning once, then fails with KubeConflict.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from mlark.kube.discovery import ResourceType
from mlark.kube.errors import KubeApiError, KubeConflict
from mlark.kube.rest import Target, request_bytes

Obj = dict[str, Any]
DEFAULT_PAGE_SIZE = 500


def _page(api: ApiClient, rtype: ResourceType, namespace: str | None, query: list[tuple[str, Any]],
          target: Target) -> tuple[list[Obj], str]:
    document = json.loads(request_bytes(api, "GET", rtype.path(namespace), query=query, target=target, timeout=120))
    items: list[Obj] = document.get("items") or []
    api_version, kind = rtype.api_version, rtype.kind
    for item in items:
        item["apiVersion"] = api_version
        item["kind"] = kind
    return items, str((document.get("metadata") or {}).get("continue") or "")


def list_pages(api: ApiClient, rtype: ResourceType, namespace: str | None = None, *,
               label_selector: str | None = None, field_selector: str | None = None,
               page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[list[Obj]]:
    """The objects of one type in one namespace (or all), one page at a time."""
    target = Target("list", rtype.group_resource, namespace if rtype.namespaced else None)
    base: list[tuple[str, Any]] = [("limit", page_size)]
    if label_selector:
        base.append(("labelSelector", label_selector))
    if field_selector:
        base.append(("fieldSelector", field_selector))
    token, restarted = "", False
    while True:
        query = base + ([("continue", token)] if token else [])
        try:
            items, token = _page(api, rtype, namespace, query, target)
        except KubeApiError as error:
            if error.status != 410 or restarted:
                if error.status == 410:
                    raise KubeConflict(f"conflict: list {rtype.group_resource}: the list changed too fast to page "
                                       "through twice (continue token expired)", status=410) from error
                raise
            restarted, token = True, ""  # expired token: start over (callers see the first pages again)
            continue
        yield items
        if not token:
            return


def list_objects(api: ApiClient, rtype: ResourceType, namespace: str | None = None, *,
                 label_selector: str | None = None, field_selector: str | None = None,
                 page_size: int = DEFAULT_PAGE_SIZE) -> list[Obj]:
    """All objects of one type in one namespace (or all namespaces / cluster-scoped)."""
    objects: list[Obj] = []
    for page in list_pages(api, rtype, namespace, label_selector=label_selector, field_selector=field_selector,
                           page_size=page_size):
        objects.extend(page)
    return objects


@dataclass
class Listed:
    """The result of one list of list_many: the objects, or the error that stopped it."""

    rtype: ResourceType
    namespace: str | None
    objects: list[Obj] = field(default_factory=list)
    error: KubeApiError | None = None


def list_many(api: ApiClient, requests: Iterable[tuple[ResourceType, str | None]], *, workers: int = 4,
              label_selector: str | None = None, page_size: int = DEFAULT_PAGE_SIZE) -> Iterator[Listed]:
    """Run many lists concurrently; yields each as it completes. API errors (forbidden, not found)
    are returned per list in Listed.error; an unreachable server raises."""

    def one(rtype: ResourceType, namespace: str | None) -> Listed:
        try:
            return Listed(rtype, namespace, list_objects(api, rtype, namespace, label_selector=label_selector,
                                                         page_size=page_size))
        except KubeApiError as error:
            return Listed(rtype, namespace, error=error)

    pending_requests = iter(requests)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running: set[Future[Listed]] = set()
        for rtype, namespace in pending_requests:  # keep at most 2×workers queued: bounded memory
            running.add(pool.submit(one, rtype, namespace))
            if len(running) >= workers * 2:
                break
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                for rtype, namespace in pending_requests:
                    running.add(pool.submit(one, rtype, namespace))
                    break
                yield future.result()
