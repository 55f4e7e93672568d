"""One measured step of the object benchmark, in a process of its own (so its peak RSS is mlark's).

    python -m bench.objects.worker capture --repo DIR --prefix bench [--kubeconfig K]
    python -m bench.objects.worker restore --repo DIR --prefix bench --suffix r [--kubeconfig K]

Prints one JSON document: what was done, the seconds of mlark's own calls, and ru_maxrss.
`run.py` starts these; they are not meant to be run by hand (but can be, to profile one step).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections import Counter

PASSWORD = "bench-objects"  # a throwaway repository under bench/out/


def plan_yaml(prefix: str) -> str:
    return f"""
apiVersion: mlark.io/v1alpha1
kind: Plan
metadata: {{name: bench-objects}}
spec:
  namespaces: {{globs: ["{prefix}-*"], exclude: ["{prefix}-*-*"]}}
  resources:
    exclude:
      - {{group: "", kind: ConfigMap, names: [kube-root-ca.crt]}}
  volumes: {{capture: false}}
  artifacts: {{capture: false}}
  databases: {{autoDetect: false}}
  targets:
    - {{name: local, repository: ./unused, passwordFrom: {{env: MLARK_PASSWORD}}}}
"""


def capture(args: argparse.Namespace) -> dict:
    from bench.objects.cluster import connect
    from mlark.backup.run import create_backup
    from mlark.plan.loader import parse_plan
    from mlark.repo import init_repository

    api = connect(args.kubeconfig)
    repo = init_repository(args.repo, PASSWORD)
    plan = parse_plan(plan_yaml(args.prefix))
    started = time.monotonic()
    result = create_backup(api, plan, repo)
    seconds = time.monotonic() - started
    point = result.restore_point
    return {"step": "capture", "seconds": round(seconds, 3), "objects": point.stats.objects,
            "object_counts": point.object_counts, "namespaces": len(point.namespaces), "phase": point.phase.value,
            "failed": [r.model_dump(mode="json") for r in point.results if r.status == "failed"][:10],
            "snapshot": result.snapshot_id, "bytes_read": result.repository.bytes_read,
            "bytes_stored": result.repository.bytes_stored}


def restore(args: argparse.Namespace) -> dict:
    from bench.objects.cluster import connect
    from mlark.repo import open_repository
    from mlark.restore.options import RestoreOptions
    from mlark.restore.run import execute, prepare
    from mlark.restorepoint.store import load_manifest, resolve

    if args.create_workers:  # an experiment knob (sweeps of the executor's pool), not a product option
        import mlark.restore.executor

        mlark.restore.executor.CREATE_WORKERS = args.create_workers
    api = connect(args.kubeconfig)
    repo = open_repository(args.repo, PASSWORD)
    namespaces = load_manifest(repo, resolve(repo, "latest")[0]).namespaces
    mapping = {name: f"{name}-{args.suffix}" for name in namespaces}
    options = RestoreOptions(restore_point="latest", namespace_mapping=mapping)
    started = time.monotonic()
    prepared, objects = prepare(api, repo, "latest", options, reconciled=[])
    planned = time.monotonic()
    result = execute(api, repo, prepared, objects, force=True)
    seconds = time.monotonic() - started
    outcomes = Counter(item.outcome.value for item in result.objects)
    return {"step": "restore", "seconds": round(seconds, 3), "prepare_seconds": round(planned - started, 3),
            "execute_seconds": round(seconds - (planned - started), 3), "objects": len(result.objects),
            "outcomes": dict(outcomes), "target_namespaces": sorted(mapping.values()),
            "failed": [f"{r.ref}: {r.reason}" for r in result.objects if r.outcome.value == "failed"][:10],
            "phases": {phase.name.value: round(phase.seconds, 3) for phase in result.phases}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.objects.worker")
    parser.add_argument("step", choices=["capture", "restore"])
    parser.add_argument("--repo", required=True)
    parser.add_argument("--prefix", default="bench")
    parser.add_argument("--suffix", default="r")
    parser.add_argument("--kubeconfig")
    parser.add_argument("--create-workers", type=int, help="restore: override the executor's pool size (experiments)")
    args = parser.parse_args(argv)
    report = capture(args) if args.step == "capture" else restore(args)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    report["ru_maxrss_bytes"] = usage.ru_maxrss * 1024
    report["process_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
