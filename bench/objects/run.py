"""Capture and restore of many Kubernetes objects: objects per second and peak RSS (issue 3).

    python -m bench.objects.run [--objects 10000] [--namespaces 50] [--repeat 1] [--keep]

Against the local primary cluster (`mlark dev env up -c primary`; $MLARK_DEV_HOME and
$MLARK_DEV_PORT_BASE select the environment) or `--kubeconfig`. One round:

1. the data set is created once (`bench/objects/generate.py`; objects already there are kept);
2. capture: `mlark.backup.run.create_backup` of a plan selecting `<prefix>-*` into a fresh
   repository (volumes, artifacts and databases off), in a process of its own;
3. restore: `prepare` + `execute` of that restore point into mapped namespaces
   (`<prefix>-7` -> `<prefix>-7-r`), in a process of its own; then the restored ConfigMaps,
   Secrets and custom resources are counted against the source;
4. the restored namespaces are deleted (and waited for) unless `--keep`.

Objects per second = objects of the restore point / seconds of mlark's own call (the
Python start-up and imports, about 1-2 s, are left out; they are in `process_seconds`). Peak
RSS is the kernel's ru_maxrss of the step's process. Results: a table on stdout, JSON under
bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.objects import cluster, generate
from bench.repo.measure import run as measure

TARGETS = {"capture": 2000.0, "restore": 500.0}  # objects/s, issue 3
RSS_TARGET_MB = 300.0
# Velero's published figures (not measured here: no container runtime or images on this machine).
VELERO_PUBLISHED = {"capture": 170.0, "restore": 15.0}  # restore: 10-20 objects/s restoring Secrets
ROOT = Path(__file__).resolve().parents[2]


def machine() -> dict[str, Any]:
    memory = 0
    with open("/proc/meminfo") as handle:
        for line in handle:
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    return {"nproc": os.cpu_count(), "memory_gib": round(memory / 2**30, 1), "cpu": cpu, "python": platform.python_version(),
            "kernel": platform.release()}


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def step(name: str, args: list[str], out: Path, env: dict[str, str]) -> dict[str, Any]:
    load = os.getloadavg()[0]
    command = [sys.executable, "-m", "bench.objects.worker", name, *args]
    measured = measure(command, env=env, cwd=ROOT, log_prefix=out / f"{name}")
    if measured.returncode != 0:
        raise SystemExit(f"{name} failed ({measured.returncode}):\n{measured.stderr_tail()}")
    report = json.loads(measured.stdout().strip().splitlines()[-1])
    report.update(process_seconds=round(measured.seconds, 3), cpu_seconds=round(measured.user_seconds + measured.system_seconds, 2),
                  peak_rss_bytes=max(report["ru_maxrss_bytes"], measured.peak_rss_bytes), load_before=round(load, 2),
                  objects_per_second=round(report["objects"] / report["seconds"], 1))
    return report


def one_round(index: int, args: argparse.Namespace, api: Any, out: Path, env: dict[str, str]) -> dict[str, Any]:
    where = out / f"round-{index}"
    where.mkdir(parents=True)
    common = ["--repo", str(where / "repo"), "--prefix", args.prefix] + (["--kubeconfig", args.kubeconfig] if args.kubeconfig else [])
    print(f"round {index}: capture ...", flush=True)
    capture = step("capture", common, where, env)
    print(f"  {capture['objects']} objects in {capture['seconds']:.2f} s ({capture['objects_per_second']:.0f}/s), "
          f"peak RSS {capture['peak_rss_bytes'] / 1e6:.0f} MB", flush=True)
    print(f"round {index}: restore ...", flush=True)
    restore = step("restore", [*common, "--suffix", args.suffix], where, env)
    print(f"  {restore['objects']} objects in {restore['seconds']:.2f} s ({restore['objects_per_second']:.0f}/s; "
          f"plan {restore['prepare_seconds']:.1f} s), peak RSS {restore['peak_rss_bytes'] / 1e6:.0f} MB", flush=True)
    sources = generate.namespace_names(args.namespaces, args.prefix)
    restored = cluster.count(api, [f"{name}-{args.suffix}" for name in sources])
    expected = cluster.count(api, sources)
    restore["verified"] = restored == expected
    restore["restored_counts"] = dict(restored)
    if restore["verified"]:
        print(f"  restored objects counted: {dict(restored)} (equal to the source)")
    else:
        print(f"  MISMATCH: restored {dict(restored)}, source {dict(expected)}")
    if not args.keep:
        seconds = cluster.delete_namespaces(api, restore["target_namespaces"])
        print(f"  restored namespaces deleted in {seconds:.0f} s", flush=True)
    return {"capture": capture, "restore": restore}


def _median(rounds: list[dict[str, Any]], name: str, field: str) -> float:
    return statistics.median(r[name][field] for r in rounds)


def table(rounds: list[dict[str, Any]]) -> str:
    rows = ["| step | objects | seconds | objects/s | target | vs target | Velero (published) | vs Velero | peak RSS MB | vs 300 MB |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name in ("capture", "restore"):
        rate = _median(rounds, name, "objects_per_second")
        rss = max(r[name]["peak_rss_bytes"] for r in rounds) / 1e6
        velero = VELERO_PUBLISHED[name]
        velero_text = "~170" if name == "capture" else "10-20"
        rows.append(f"| {name} | {rounds[0][name]['objects']:,} | {_median(rounds, name, 'seconds'):.2f} | {rate:,.0f} | "
                    f"{TARGETS[name]:,.0f} | {rate / TARGETS[name]:.2f}x {'met' if rate >= TARGETS[name] else 'missed'} | "
                    f"{velero_text} | {rate / velero:.0f}x | {rss:.0f} | {'met' if rss < RSS_TARGET_MB else 'missed'} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.objects.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=generate.DEFAULT_OBJECTS, help="objects in all (default 10000)")
    parser.add_argument("--namespaces", type=int, default=generate.DEFAULT_NAMESPACES, help="default 50")
    parser.add_argument("--prefix", default=generate.DEFAULT_PREFIX, help="namespace prefix (default bench)")
    parser.add_argument("--suffix", default="r", help="restored namespace = source + '-' + suffix (default r)")
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the table shows medians (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the restored namespaces (default: delete them)")
    parser.add_argument("--kubeconfig", help="default: the local primary cluster ($MLARK_DEV_HOME)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args(argv)

    api = cluster.connect(args.kubeconfig)
    targets = [f"{name}-{args.suffix}" for name in generate.namespace_names(args.namespaces, args.prefix)]
    leftovers = sorted(set(targets) & cluster.namespaces(api))
    if leftovers:
        print(f"deleting {len(leftovers)} restored namespaces left by an earlier run ...", flush=True)
        cluster.delete_namespaces(api, leftovers)
    sources = generate.namespace_names(args.namespaces, args.prefix)
    wanted = {kind: sum(per.values()) for kind, per in generate.counts(generate.manifests(args.objects, args.namespaces, args.prefix)).items()}
    present = dict(cluster.count(api, sources))
    if present == wanted:
        created: dict[str, Any] = {"objects": sum(wanted.values()), "actions": {"present": sum(wanted.values())}}
        print(f"data set: {present} already on the cluster", flush=True)
    else:
        print(f"data set: {wanted} in {args.namespaces} namespaces ...", flush=True)
        created = generate.install(api, args.objects, args.namespaces, args.prefix, progress=lambda message: None)
        print(f"  {created['actions']} in {created['seconds']:.0f} s ({created['objects_per_second']:.0f} objects/s)", flush=True)

    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    out = args.out / f"objects-{stamp}"
    env = {"PYTHONPATH": str(ROOT)}
    rounds = [one_round(index + 1, args, api, out, env) for index in range(args.repeat)]
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": _commit(), "machine": machine(),
              "command": " ".join(["python -m bench.objects.run", *(argv if argv is not None else sys.argv[1:])]),
              "objects": args.objects, "namespaces": args.namespaces, "generate": created, "rounds": rounds,
              "targets": {**TARGETS, "peak_rss_mb": RSS_TARGET_MB}, "velero_published": VELERO_PUBLISHED}
    (out / "result.json").write_text(json.dumps(report, indent=2))
    text = table(rounds)
    (out / "table.md").write_text(text + "\n")
    print()
    print(text)
    print(f"\n{report['machine']}; load average before the steps: "
          f"{[(r['capture']['load_before'], r['restore']['load_before']) for r in rounds]}")
    print(f"results: {out}")
    return 0 if all(r["restore"]["verified"] for r in rounds) else 1


if __name__ == "__main__":
    sys.exit(main())
