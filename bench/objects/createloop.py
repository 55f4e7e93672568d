"""The server's limit, measured in the same run: a bare client-go create loop (bench/objects/go/createloop).

    measure(tool_dir, kubeconfig, namespace, out, count=10000, workers=32) -> dict

It creates `count` ConfigMaps of about the data set's mean object size in a fresh namespace
with `workers` goroutines on one client (HTTP/2, client-side rate limits raised out of the way):
nothing but the POSTs, so its objects/s is what the API server accepts on this machine now.
The caller deletes the namespace afterwards.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from bench.repo.measure import run as run_measured

WORKERS = 32
# The data set's objects are 837 bytes of JSON on average (ConfigMaps 937, Secrets 694,
# custom resources 846); a ConfigMap with 700 bytes of data and its metadata is about as large.
PAYLOAD_BYTES = 700


def measure(tools: Path, kubeconfig: Path, namespace: str, out: Path, *, count: int, workers: int = WORKERS,
            payload_bytes: int = PAYLOAD_BYTES) -> dict[str, Any]:
    load = os.getloadavg()[0]
    command = [str(tools / "createloop"), "--kubeconfig", str(kubeconfig), "--namespace", namespace, "--count", str(count),
               "--workers", str(workers), "--payload-bytes", str(payload_bytes)]
    measured = run_measured(command, log_prefix=out / namespace)
    if measured.returncode != 0:
        raise SystemExit(f"create loop failed ({measured.returncode}):\n{measured.stderr_tail()}\n{measured.stdout()}")
    report = json.loads(measured.stdout().strip().splitlines()[-1])
    return {"step": "bare create loop", "namespace": namespace, "objects": report["objects"], "seconds": round(report["seconds"], 3),
            "objects_per_second": round(report["objects_per_second"], 1), "workers": workers, "payload_bytes": payload_bytes,
            "client_qps": report["qps"], "client_burst": report["burst"], "peak_rss_bytes": measured.peak_rss_bytes,
            "cpu_seconds": round(measured.user_seconds + measured.system_seconds, 2), "load_before": round(load, 2)}
