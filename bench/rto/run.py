"""Recovery time of the seed scenario on the local cluster (issue 4, "Benchmark").

    python -m bench.rto.run [--rounds 3] [--dataset-mib 24] [--no-drill] [--keep-env] [--out DIR]

Runs in an environment of its own (MLARK_DEV_HOME=/tmp/mlark-bench-rto, MLARK_DEV_PORT_BASE=22000
unless set), which it starts, and stops again at the end (unless --keep-env):

1. the primary cluster and data services, the rhoai-demo scenario, a data set in the workbench
   (as the seed story test writes), and one backup with the example plan;
2. per round: the seed's disaster, then `mlark restore create ... -o json` as a user runs it,
   timed from the start of the process; then the iris predictor is asked until it answers [0, 2]
   (the RTO ends there); then the restored state is verified against the restore point's
   fingerprints as a drill does (fingerprints again, compared, plus the consistency checks);
3. one drill (`mlark drill run`) into the recovery cluster, whose RTO is reported beside.

Phases come from the restore's own result, grouped as the drill's audit record groups them
(objects, volume data, databases); the CLI's start-up and planning (process start to the first
phase) and its end (saving the restore record, exit) are shown on their own; readiness is from
the restore process's exit to the predictor's right answer (polled once a second). Peak RSS is
the mlark restore process's (`/usr/bin/time -v`, else the children's ru_maxrss).
Results: a table on stdout, JSON and Markdown under bench/out/rto-<time>/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLAN = ROOT / "examples" / "plans" / "rhoai-demo.yaml"
DEFAULT_ENV = {"MLARK_DEV_HOME": "/tmp/mlark-bench-rto", "MLARK_DEV_PORT_BASE": "22000"}
TARGET_SECONDS = 60.0
COLUMNS = [  # (key, heading)
    ("startup", "CLI start + plan"), ("objects", "objects"), ("volume_data", "volume data"), ("databases", "databases"),
    ("record", "record + exit"), ("readiness", "readiness"), ("rto", "**RTO**"), ("verification", "verification"),
    ("rto_verified", "RTO + verification"), ("peak_rss_mib", "peak RSS MiB"), ("load", "load 1m"),
]

# Set before mlark.dev is used: every path and port of the local environment derives from them.
for _name, _value in DEFAULT_ENV.items():
    os.environ.setdefault(_name, _value)

from kubernetes.client import ApiClient  # noqa: E402

from bench.objects.run import _commit, machine  # noqa: E402
from mlark.dev import environment  # noqa: E402
from mlark.dev.cluster import kubeconfig_path  # noqa: E402
from mlark.dev.scenario.deploy import deploy  # noqa: E402
from mlark.dev.scenario.disaster import seed_disaster  # noqa: E402
from mlark.dev.services.s3 import start_s3  # noqa: E402
from mlark.drill.run import _checks, _restored_only  # noqa: E402
from mlark.drill.timing import restore_phases  # noqa: E402
from mlark.kube.client import api_client  # noqa: E402
from mlark.restore.steps import Skipped  # noqa: E402
from mlark.restore.summary import RestoreResult  # noqa: E402
from mlark.restorepoint.store import load_manifest, read_objects  # noqa: E402
from mlark.verify.models import Fingerprint  # noqa: E402
from tests.e2e.story import MODEL_CATALOG_EXCLUSIONS, PASSWORD_VARIABLE, Story, iris_classes, write_plan, write_workbench_file  # noqa: E402
from tests.e2e.test_drills import DRILL_FLAGS  # noqa: E402


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def story_environment(story: Story) -> dict[str, str]:
    """The environment Story.mlark gives the CLI (kubeconfig, repository password)."""
    password = "story-password"
    return {**os.environ, "KUBECONFIG": str(story.kubeconfig), PASSWORD_VARIABLE: password, "MLARK_PASSWORD": password}


def timed_restore(story: Story, where: Path) -> tuple[dict[str, Any], float, float, int]:
    """`mlark restore create` as the seed runs it; returns its JSON, wall start, seconds, peak RSS bytes."""
    command = [sys.executable, "-m", "mlark", "restore", "create", "--from-backup", "latest", "--plan", str(story.plan),
               "--without-operators", *MODEL_CATALOG_EXCLUSIONS, "-o", "json"]
    rss_file = where / "time-v.txt"
    wrapper = ["/usr/bin/time", "-v", "-o", str(rss_file)] if shutil.which("/usr/bin/time") else []
    wall_start, clock = time.time(), time.monotonic()
    process = subprocess.run([*wrapper, *command], capture_output=True, text=True, env=story_environment(story), timeout=900)
    seconds = time.monotonic() - clock
    (where / "restore.json").write_text(process.stdout)
    (where / "restore.stderr").write_text(process.stderr)
    if process.returncode != 0:
        raise SystemExit(f"mlark restore create exited {process.returncode}:\n{process.stdout[-2000:]}\n{process.stderr[-2000:]}")
    if wrapper:
        match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", rss_file.read_text())
        peak = int(match.group(1)) * 1024 if match else 0
    else:  # ru_maxrss of the largest child waited for so far (kB on Linux)
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    return json.loads(process.stdout), wall_start, seconds, peak


def verification(api: ApiClient, story: Story, result: RestoreResult) -> tuple[float, float, list[dict[str, Any]]]:
    """The drill's checks of the restored state against the restore point's fingerprints:
    (seconds to read the restore point, seconds to verify, the checks)."""
    from mlark.cli.common import open_repository

    clock = time.monotonic()
    os.environ[PASSWORD_VARIABLE] = story_environment(story)[PASSWORD_VARIABLE]
    repo = open_repository(str(story.repository), None, password_env=PASSWORD_VARIABLE)
    manifest = load_manifest(repo, result.restore_point)
    objects = list(read_objects(repo, result.restore_point, manifest))
    expected = _restored_only([Fingerprint.model_validate(item) for item in manifest.fingerprints.get("taken", [])],
                              [Skipped.model_validate(item) for item in result.planned_skips])
    loaded = time.monotonic()
    checks = _checks(api, objects, manifest, expected, {})
    return loaded - clock, time.monotonic() - loaded, [check.model_dump(mode="json") for check in checks]


def one_round(index: int, api: ApiClient, story: Story, out: Path) -> dict[str, Any]:
    where = out / f"round-{index}"
    where.mkdir(parents=True)
    log(f"round {index}: the seed's disaster")
    seed_disaster(api)
    load = os.getloadavg()[0]
    log(f"round {index}: mlark restore create (load {load:.2f})")
    output, wall_start, process_seconds, peak = timed_restore(story, where)
    result = RestoreResult.model_validate(output)
    classes = iris_classes(api, timeout=300)
    rto = time.time() - wall_start
    if classes != [0, 2]:
        raise SystemExit(f"round {index}: the iris predictor answered {classes}, not [0, 2]")
    log(f"round {index}: predictor answers {classes} after {rto:.1f} s; verifying")
    load_seconds, verify_seconds, checks = verification(api, story, result)
    failed = [f"{c['name']}: {c['message']}" for c in checks if not c["passed"]]
    assert result.finished is not None
    started, finished = result.started.timestamp(), result.finished.timestamp()
    readiness = rto - process_seconds
    grouped = restore_phases(result, readiness, verify_seconds)
    row = {
        "round": index, "restore_phase": result.phase.value, "restore_point": result.restore_point,
        "startup": round(started - wall_start, 3), "objects": grouped.objects, "volume_data": grouped.volume_data,
        "databases": grouped.databases, "record": round(wall_start + process_seconds - finished, 3),
        "readiness": grouped.readiness, "rto": round(rto, 3), "verification": grouped.verification,
        "rto_verified": round(rto + verify_seconds, 3), "restore_process_seconds": round(process_seconds, 3),
        "restore_rto_seconds": round(result.rto_seconds, 3), "restore_point_load_seconds": round(load_seconds, 3),
        "peak_rss_mib": round(peak / 2**20, 1), "load": round(load, 2),
        "phases": {phase.name.value: round(phase.seconds, 3) for phase in result.phases},
        "data": [{"type": d.type, "subject": d.subject, "outcome": d.outcome.value, "bytes": d.bytes, "seconds": d.seconds}
                 for d in result.data],
        "checks": len(checks), "checks_failed": failed,
    }
    (where / "round.json").write_text(json.dumps(row, indent=2))
    log(f"round {index}: RTO {rto:.1f} s, verification {verify_seconds:.1f} s, {len(checks) - len(failed)}/{len(checks)} checks passed")
    return row


def drill(story: Story, out: Path) -> dict[str, Any]:
    log("drill: starting the recovery cluster")
    environment.up(["recovery"], progress=log)
    load = os.getloadavg()[0]
    log(f"drill: mlark drill run into the recovery cluster (load {load:.2f})")
    clock = time.monotonic()
    process = story.mlark("drill", "run", "--plan", str(story.plan), "--audit-dir", str(out / "audit"), *DRILL_FLAGS, "-o", "json",
                          check=False, kubeconfig=kubeconfig_path("recovery"))
    seconds = time.monotonic() - clock
    (out / "drill.json").write_text(process.stdout)
    (out / "drill.stderr").write_text(process.stderr)
    if process.returncode not in (0, 11):
        raise SystemExit(f"mlark drill run exited {process.returncode}:\n{process.stderr[-2000:]}")
    record = json.loads(process.stdout)
    phases = record["phases"]
    return {"outcome": record["outcome"], "causes": record["causes"], "rto_seconds": record["rto_seconds"],
            "process_seconds": round(seconds, 3), "teardown_seconds": (record.get("teardown") or {}).get("seconds"),
            "load": round(load, 2), **{key: phases[key] for key in ("objects", "volume_data", "databases", "readiness", "verification")}}


def _cell(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, (int, float)) else str(value)


def table(rows: list[dict[str, Any]], median: dict[str, Any], drilled: dict[str, Any] | None) -> str:
    lines = ["| round | " + " | ".join(heading for _, heading in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for row in rows:
        lines.append(f"| {row['round']} | " + " | ".join(_cell(row[key]) for key, _ in COLUMNS) + " |")
    lines.append("| **median** | " + " | ".join(f"**{_cell(median[key])}**" for key, _ in COLUMNS) + " |")
    if drilled:
        cells = {"startup": "–", "record": "–", "rto": "–", "rto_verified": drilled["rto_seconds"], "peak_rss_mib": "–", **drilled}
        lines.append("| drill (recovery cluster) | " + " | ".join(_cell(cells.get(key, "–")) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dataset-mib", type=int, default=24, help="random data written into the workbench before the backup")
    parser.add_argument("--no-drill", action="store_true", help="skip the drill on the recovery cluster")
    parser.add_argument("--keep-env", action="store_true", help="leave the environment running at the end")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or ROOT / "bench" / "out" / f"rto-{datetime.now():%Y%m%d-%H%M%S}"
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "commit": _commit(), "machine": machine(),
        "environment": {name: os.environ[name] for name in DEFAULT_ENV}, "rounds": args.rounds, "dataset_mib": args.dataset_mib,
        "target_seconds": TARGET_SECONDS,
    }
    try:
        log(f"starting the environment in {os.environ['MLARK_DEV_HOME']} (ports from {os.environ['MLARK_DEV_PORT_BASE']})")
        environment.up(["primary"], progress=log)
        api = api_client(kubeconfig_path("primary"))
        log("deploying the rhoai-demo scenario")
        deploy(api, start_s3(), progress=log)
        story = Story(repository=out / "repository", plan=out / "plan.yaml", kubeconfig=kubeconfig_path("primary"))
        write_plan(PLAN, story.plan, story.repository)
        story.mlark("repo", "init", "--repo", str(story.repository))
        if args.dataset_mib:
            write_workbench_file(api, "training-data.bin", os.urandom(args.dataset_mib << 20))
        log("backup with the example plan")
        clock = time.monotonic()
        backup = story.json("backup", "create", "--plan", str(story.plan))
        report["backup"] = {"seconds": round(time.monotonic() - clock, 3), "phase": backup["restore_point"]["phase"],
                            "stats": backup["restore_point"]["stats"]}
        rows = [one_round(index, api, story, out) for index in range(1, args.rounds + 1)]
        median = {key: round(statistics.median(row[key] for row in rows), 3) for key, _ in COLUMNS}
        report.update(per_round=rows, median=median, target_met=median["rto"] < TARGET_SECONDS)
        (out / "result.json").write_text(json.dumps(report, indent=2))
        report["drill"] = None if args.no_drill else drill(story, out)
    finally:
        (out / "result.json").write_text(json.dumps(report, indent=2, default=str))
        if not args.keep_env:
            log("stopping the environment")
            environment.down(progress=log)
    rendered = table(report["per_round"], report["median"], report["drill"])
    (out / "table.md").write_text(rendered + "\n")
    print(rendered)
    print(f"\nmedian RTO {report['median']['rto']:.1f} s (target < {TARGET_SECONDS:.0f} s: "
          f"{'met' if report['target_met'] else 'MISSED'}); results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
