"""Capture and restore of many Kubernetes objects, side by side with Velero and a bare create loop.

    python -m bench.objects.run [--objects 10000] [--namespaces 50] [--repeat 2] [--keep] [--no-peers]

Against the local primary cluster (`mlark dev env up -c primary`; $MLARK_DEV_HOME and
$MLARK_DEV_PORT_BASE select the environment) or `--kubeconfig`. The peers (Velero, its AWS
plugin and the create loop) are built once by scripts/install-objects-bench-tools.sh. One round:

1. the data set is created once (`bench/objects/generate.py`; objects already there are kept);
2. mlark capture: `mlark.backup.run.create_backup` of a plan selecting `<prefix>-*` into a fresh
   repository (volumes, artifacts and databases off), in a process of its own;
3. Velero backup of the same namespaces (objects only) by a local `velero server` storing to the
   environment's S3 (bench/objects/velero.py);
4. the bare create loop (client-go, 32 workers, bench/objects/createloop.py): as many ConfigMaps
   as the data set has objects, into a fresh namespace; then deleted;
5. mlark restore: `prepare` + `execute` of the restore point into mapped namespaces
   (`<prefix>-7` -> `<prefix>-7-r`), in a process of its own; the restored ConfigMaps, Secrets and
   custom resources are counted against the source, then the namespaces deleted;
6. Velero restore of its backup into `<prefix>-7-v` ..., counted and deleted the same way;
7. the bare create loop again (the server's limit before and after the restores).

Every ratio in the report is of two figures of the same round. Objects per second for mlark =
objects of the restore point / seconds of mlark's own call (the Python start-up and imports,
about 1-2 s, are left out; they are in `process_seconds`); for Velero = items it reports
backed up or restored / seconds from creating its Backup or Restore to its final phase. Peak
RSS: the kernel's ru_maxrss of mlark's step process; for Velero the server's and its plugins'.
Results: a table on stdout, JSON under bench/out/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.objects import cluster, createloop, generate
from bench.repo.measure import run as measure

TARGETS = {"capture": 2000.0, "restore": 500.0}  # objects/s, issue 3
RSS_TARGET_MB = 300.0
# Context only, never a ratio of the report: Velero's published figures (about 170 objects/s
# capture, 10-20 objects/s restoring Secrets), measured elsewhere on other hardware.
VELERO_PUBLISHED = {"capture": 170.0, "restore": "10-20"}
ROOT = Path(__file__).resolve().parents[2]
VELERO_PORT_OFFSET = 90  # velero server's metrics and profiler ports: MLARK_DEV_PORT_BASE + 90, + 91


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


def peer_tools() -> Path:
    """The directory of velero, velero-plugin-for-aws and createloop (built once, ~15 min)."""
    script = ROOT / "scripts" / "install-objects-bench-tools.sh"
    built = subprocess.run(["bash", str(script)], capture_output=True, text=True, check=False)
    if built.returncode != 0:
        raise SystemExit(f"building the benchmark's peers failed:\n{built.stderr[-3000:]}")
    return Path(built.stdout.strip().splitlines()[-1])


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


def _say(label: str, report: dict[str, Any]) -> None:
    print(f"  {label}: {report['objects']} objects in {report['seconds']:.2f} s ({report['objects_per_second']:.0f}/s), "
          f"peak RSS {report['peak_rss_bytes'] / 1e6:.0f} MB, CPU {report.get('cpu_seconds', 0):.1f} s, "
          f"load {report['load_before']:.1f}", flush=True)


def _check_and_clean(api: Any, report: dict[str, Any], sources: list[str], targets: list[str], keep: bool) -> None:
    """Count what a restore made against the source (in `report`), then delete it unless `keep`."""
    restored, expected = cluster.count(api, targets), cluster.count(api, sources)
    report["verified"] = restored == expected
    report["restored_counts"] = dict(restored)
    print(f"    counted: {dict(restored)}" + (" (equal to the source)" if report["verified"] else f" MISMATCH, source {dict(expected)}"))
    if not keep:
        print(f"    restored namespaces deleted in {cluster.delete_namespaces(api, targets):.0f} s", flush=True)


def _loop(api: Any, args: argparse.Namespace, tools: Path, out: Path, name: str) -> dict[str, Any]:
    report = createloop.measure(tools, cluster.kubeconfig(args.kubeconfig), name, out, count=args.objects,
                                workers=args.loop_workers)
    _say("bare create loop", report)
    cluster.delete_namespaces(api, [name])
    return report


def one_round(index: int, args: argparse.Namespace, api: Any, out: Path, env: dict[str, str], tools: Path | None,
              velero: Any) -> dict[str, Any]:
    where = out / f"round-{index}"
    where.mkdir(parents=True)
    sources = generate.namespace_names(args.namespaces, args.prefix)
    common = ["--repo", str(where / "repo"), "--prefix", args.prefix] + (["--kubeconfig", args.kubeconfig] if args.kubeconfig else [])
    result: dict[str, Any] = {}
    print(f"round {index}:", flush=True)
    result["capture"] = step("capture", common, where, env)
    _say("mlark capture", result["capture"])
    if velero is not None:
        result["velero_backup"] = velero.backup(f"bench-{out.name}-{index}", sources)
        _say("Velero backup", result["velero_backup"])
    if tools is not None:
        result["loop_before"] = _loop(api, args, tools, where, f"mlark-bench-loop-{index}a")
    result["restore"] = step("restore", [*common, "--suffix", args.suffix], where, env)
    _say("mlark restore", result["restore"])
    print(f"    planning {result['restore']['prepare_seconds']:.1f} s, creating {result['restore']['execute_seconds']:.1f} s")
    _check_and_clean(api, result["restore"], sources, result["restore"]["target_namespaces"], args.keep)
    if velero is not None:
        mapping = {name: f"{name}-v" for name in sources}
        result["velero_restore"] = velero.restore(f"bench-{out.name}-{index}", f"bench-{out.name}-{index}", mapping)
        _say("Velero restore", result["velero_restore"])
        _check_and_clean(api, result["velero_restore"], sources, sorted(mapping.values()), args.keep)
    if tools is not None:
        result["loop_after"] = _loop(api, args, tools, where, f"mlark-bench-loop-{index}b")
    return result


def ratios(round_: dict[str, Any]) -> dict[str, float]:
    """The same-round ratios: mlark / Velero objects/s, mlark's restore / the bare create loop."""
    rate = lambda name: round_[name]["objects_per_second"]  # noqa: E731
    found: dict[str, float] = {}
    if "velero_backup" in round_:
        found["capture_vs_velero"] = rate("capture") / rate("velero_backup")
        found["restore_vs_velero"] = rate("restore") / rate("velero_restore")
    if "loop_before" in round_:
        found["loop_objects_per_second"] = (rate("loop_before") + rate("loop_after")) / 2
        found["restore_share_of_loop"] = rate("restore") / found["loop_objects_per_second"]
    return found


def _spread(values: list[float], text: str = "{:,.0f}") -> str:
    middle = text.format(statistics.median(values))
    return middle if len(values) == 1 else f"{middle} ({', '.join(text.format(v) for v in values)})"


def table(rounds: list[dict[str, Any]]) -> str:
    """Medians over the rounds, each round's figure in parentheses; ratios only within a round."""
    per = [ratios(r) for r in rounds]
    values = lambda name, field: [r[name][field] for r in rounds if name in r]  # noqa: E731
    rss = lambda name: _spread([v / 1e6 for v in values(name, "peak_rss_bytes")])  # noqa: E731
    rows = ["| step | objects | mlark objects/s | Velero objects/s | mlark / Velero (same round) | mlark peak RSS MB | Velero peak RSS MB |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for name, peer in (("capture", "velero_backup"), ("restore", "velero_restore")):
        field = "capture_vs_velero" if name == "capture" else "restore_vs_velero"
        has_peer = bool(values(peer, "objects"))
        rows.append(f"| {name} | {rounds[0][name]['objects']:,} | {_spread(values(name, 'objects_per_second'))} | "
                    f"{_spread(values(peer, 'objects_per_second')) if has_peer else 'not run'} | "
                    f"{_spread([r[field] for r in per], '{:.1f}x') if has_peer else '-'} | {rss(name)} | "
                    f"{rss(peer) if has_peer else '-'} |")
    if any("loop_before" in r for r in rounds):
        loops = [r["loop_objects_per_second"] for r in per]
        rows += ["", "| server's limit (same round) | objects/s | mlark restore as % of it |", "|---|---:|---:|",
                 f"| bare create loop (client-go, {rounds[0]['loop_before']['workers']} workers; before and after the restores) | "
                 f"{_spread(loops)} | {_spread([100 * r['restore_share_of_loop'] for r in per], '{:.0f}%')} |"]
    capture, restore = (statistics.median(values(n, "objects_per_second")) for n in ("capture", "restore"))
    rows += ["", f"Issue 3's targets: capture {capture:,.0f} of >= {TARGETS['capture']:,.0f} objects/s, restore {restore:,.0f} "
                 f"of >= {TARGETS['restore']:,.0f} objects/s, peak RSS < {RSS_TARGET_MB:.0f} MB. Context only, not measured here: "
                 f"Velero's published figures are ~{VELERO_PUBLISHED['capture']:.0f} objects/s capture and "
                 f"{VELERO_PUBLISHED['restore']} objects/s restoring Secrets."]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.objects.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=generate.DEFAULT_OBJECTS, help="objects in all (default 10000)")
    parser.add_argument("--namespaces", type=int, default=generate.DEFAULT_NAMESPACES, help="default 50")
    parser.add_argument("--prefix", default=generate.DEFAULT_PREFIX, help="namespace prefix (default bench)")
    parser.add_argument("--suffix", default="r", help="restored namespace = source + '-' + suffix (default r)")
    parser.add_argument("--repeat", type=int, default=2, help="rounds; the table shows medians and each round (default 2)")
    parser.add_argument("--keep", action="store_true", help="keep the restored namespaces (default: delete them)")
    parser.add_argument("--no-peers", action="store_true", help="mlark only: no Velero, no bare create loop")
    parser.add_argument("--no-velero", action="store_true", help="no Velero (the bare create loop still runs)")
    parser.add_argument("--loop-workers", type=int, default=createloop.WORKERS, help="bare create loop workers (default 32)")
    parser.add_argument("--velero-client-qps", type=float, help="velero server --client-qps (default: Velero's own, 100)")
    parser.add_argument("--velero-client-burst", type=int, help="velero server --client-burst (default: Velero's own, 100)")
    parser.add_argument("--kubeconfig", help="default: the local primary cluster ($MLARK_DEV_HOME)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    args = parser.parse_args(argv)
    # A SIGTERM (a timeout) unwinds like an error, so the velero server and its plugins are stopped.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))

    tools = None if args.no_peers else peer_tools()
    api = cluster.connect(args.kubeconfig)
    sources = generate.namespace_names(args.namespaces, args.prefix)
    targets = [f"{name}-{suffix}" for name in sources for suffix in (args.suffix, "v")]
    leftovers = sorted((set(targets) | {n for n in cluster.namespaces(api) if n.startswith("mlark-bench-loop-")}) & cluster.namespaces(api))
    if leftovers:
        print(f"deleting {len(leftovers)} namespaces left by an earlier run ...", flush=True)
        cluster.delete_namespaces(api, leftovers)
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
    with ExitStack() as stack:
        velero = None
        if tools is not None and not args.no_velero:
            from bench.objects.velero import VeleroServer
            from mlark.dev.ports import port_base
            from mlark.dev.services.s3 import s3_endpoint

            velero = stack.enter_context(VeleroServer.start(
                api, cluster.kubeconfig(args.kubeconfig), tools, s3_endpoint(), out / "velero",
                port=port_base() + VELERO_PORT_OFFSET, client_qps=args.velero_client_qps, client_burst=args.velero_client_burst))
            print(f"velero server running (pid {velero.process.pid}), storage location Available", flush=True)
        rounds = []
        for index in range(args.repeat):
            rounds.append(one_round(index + 1, args, api, out, env, tools, velero))
            (out / f"round-{index + 1}" / "round.json").write_text(json.dumps(rounds[-1], indent=2))  # kept if a later round fails
    report = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": _commit(), "machine": machine(),
              "command": " ".join(["python -m bench.objects.run", *(argv if argv is not None else sys.argv[1:])]),
              "objects": args.objects, "namespaces": args.namespaces, "generate": created, "rounds": rounds,
              "ratios": [ratios(r) for r in rounds], "peers": str(tools) if tools else None,
              "targets": {**TARGETS, "peak_rss_mb": RSS_TARGET_MB}, "velero_published_context": VELERO_PUBLISHED}
    (out / "result.json").write_text(json.dumps(report, indent=2))
    text = table(rounds)
    (out / "table.md").write_text(text + "\n")
    print()
    print(text)
    print(f"\n{report['machine']}; load average before the steps: "
          f"{[{k: v['load_before'] for k, v in r.items()} for r in rounds]}")
    print(f"results: {out}")
    return 0 if all(r[name]["verified"] for r in rounds for name in ("restore", "velero_restore") if name in r) else 1


if __name__ == "__main__":
    sys.exit(main())
