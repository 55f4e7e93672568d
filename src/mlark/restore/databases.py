"""Loading a database dump into the database pod of a restored workload, by exec."""

from __future__ import annotations

import time

from kubernetes.client import ApiClient

from mlark.apps.databases import commands
from mlark.kube.exec import exec_feed, sized_stdin, wait_exec_ready
from mlark.repo import Repository
from mlark.restore.steps import LoadDatabase
from mlark.restore.workloads import wait_workload_running
from mlark.restorepoint.store import read_stream

# A database container is Running before its server accepts connections: a load that fails
# to connect has changed nothing and is tried again.
NOT_YET_LISTENING = ("can't connect", "connection refused", "could not connect", "no such file or directory", "is the server running")
ATTEMPTS = 30


class DatabaseLoadError(RuntimeError):
    """The dump could not be loaded; the message names the database and the client's error."""


def load_database(api: ApiClient, repo: Repository, snapshot_id: str, step: LoadDatabase, timeout: float = 300.0) -> None:
    _, load, _ = commands(step.capture.engine, list(step.capture.databases))  # type: ignore[arg-type]
    if load is None:
        raise DatabaseLoadError(f"{step.capture.engine} dumps cannot be loaded by exec")
    pod = wait_workload_running(api, step.namespace, step.selector, timeout)["metadata"]["name"]
    wait_exec_ready(api, step.namespace, pod, step.container, timeout)
    for attempt in range(ATTEMPTS):
        chunks = read_stream(repo, snapshot_id, step.capture.stream)
        # Exactly the dump's size is fed and read: some runtimes never pass on the close of stdin.
        result = exec_feed(api, step.namespace, pod, step.container, sized_stdin(load, step.capture.bytes), chunks)
        if result.returncode == 0:
            return
        error = result.stderr.decode(errors="replace").strip() or result.message
        # Exit -1: the exec broke in the runtime, not in the client; the dump (DROP ... IF EXISTS,
        # --clean) can be loaded again over whatever part arrived.
        retry = result.returncode == -1 or any(text in error.lower() for text in NOT_YET_LISTENING)
        if attempt + 1 == ATTEMPTS or not retry:
            raise DatabaseLoadError(f"loading {step.capture.stream} into {step.namespace}/{pod} failed "
                                    f"(exit {result.returncode}): {error[-500:]}")
        time.sleep(1.0)
