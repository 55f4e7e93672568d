"""Repository benchmark: mlark side by side with restic, borg and kopia, in one run.

Usage (from the repository root)::

    .venv/bin/python -m bench.repo.run                 # 2 GiB, all tools
    .venv/bin/python -m bench.repo.run --size 256M     # quick run
    .venv/bin/python -m bench.repo.run --tools restic,mlark --size 64M

Steps, every tool on the same data:

1. generate the data set (bench/repo/dataset.py) under the output directory;
2. per tool: init a repository, then the initial backup (measured);
3. apply the 2% change; per tool: the incremental backup (measured);
4. per tool: restore the newest snapshot into an empty directory (measured), then check
   that every file is byte-identical to the source (not measured); the restores are deleted
   together once every tool has restored (see the note at the end of the round).

The data set is read once before each round so that every tool sees the same warm page
cache (``--drop-caches`` drops the kernel's caches before every measured step instead,
where that is permitted; it slows everything else on the machine). ``sync`` runs before
every measured step so that no tool pays for another's dirty pages.
Results: a table on stdout, and JSON plus a Markdown table in ``bench/out/``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import blake3

from bench.repo import dataset, measure
from bench.repo.tools import TOOLS, Tool

MB = 1_000_000
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "out"

# targets of issue 5, as (metric, peer, comparison, bound): ratio = mlark / peer
TARGETS = [
    ("backup_mbps", "restic", ">=", 2.0, "initial backup throughput >= 2x restic"),
    ("backup_mbps", "borg", ">=", 1.3, "initial backup throughput >= 1.3x borg"),
    ("restore_mbps", "restic", ">=", 1.0, "restore throughput >= restic"),
    ("restore_mbps", "borg", ">=", 1.5, "restore throughput >= 1.5x borg"),
    ("incremental_seconds", "restic", "<=", 1.0, "incremental backup time <= restic"),
    ("repo_bytes", "borg", "<=", 1.05, "repository size <= borg zstd,3 + 5%"),
]
RSS_LIMIT = 500 * MB


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def warm(root: Path) -> float:
    """Read every file once (page cache warm for all tools alike); returns seconds."""
    started = time.perf_counter()
    for directory, _, names in os.walk(root):
        for name in names:
            with open(os.path.join(directory, name), "rb") as handle:
                while handle.read(8 << 20):
                    pass
    return time.perf_counter() - started


def settle(drop_caches: bool) -> None:
    os.sync()
    if drop_caches:
        try:
            Path("/proc/sys/vm/drop_caches").write_text("3\n")
        except OSError as error:
            log(f"cannot drop caches: {error}")


# ext4 without a journal (this machine's file system) skips every inode freed in the last 60 s when
# it allocates a new one (recently_deleted() in fs/ext4/ialloc.c), reading that inode's table
# block each time; 360 s while that block is dirty, which creating files next to the freed ones
# makes it. Creating 20,000 files after a round's 60,000 were deleted cost a restore up to 3x its
# CPU (half of all samples in recently_deleted and the block lookups under it). Whichever tool
# restored within those minutes paid for it, so the runner waits them out before every measured
# restore, for every tool alike.
RECENTLY_DELETED_SECONDS = 60 + 300 + 5
_last_deletion = 0.0


def remove_tree(path: Path) -> None:
    """rmtree, remembering when: see RECENTLY_DELETED_SECONDS."""
    global _last_deletion
    if path.exists():
        shutil.rmtree(path, ignore_errors=True)
        _last_deletion = time.monotonic()


def wait_out_deletions() -> float:
    """Sleep until inodes freed by remove_tree() are no longer recent to ext4; returns seconds waited."""
    remaining = _last_deletion + RECENTLY_DELETED_SECONDS - time.monotonic() if _last_deletion else 0.0
    if remaining > 0:
        log(f"waiting {remaining:.0f} s: files were deleted {RECENTLY_DELETED_SECONDS - remaining:.0f} s ago "
            "(ext4 skips recently freed inodes)")
        time.sleep(remaining)
    return max(0.0, remaining)


def tree_digest(root: Path) -> dict[str, tuple[int, str]]:
    """relative path -> (size, blake3 hex) of every regular file."""
    result = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = os.path.join(directory, name)
            hasher = blake3.blake3()
            with open(path, "rb") as handle:
                while chunk := handle.read(8 << 20):
                    hasher.update(chunk)
            result[os.path.relpath(path, root)] = (os.lstat(path).st_size, hasher.hexdigest())
    return result


def find_restored_root(target: Path) -> Path | None:
    """The directory under ``target`` holding the data set's marker file."""
    for directory, dirs, names in os.walk(target):
        if dataset.MARKER in names:
            return Path(directory)
        dirs.sort()
    return None


def directory_bytes(root: Path) -> int:
    total = 0
    for directory, _, names in os.walk(root):
        for name in names:
            try:
                total += os.lstat(os.path.join(directory, name)).st_size
            except FileNotFoundError:
                pass
    return total


def machine_facts() -> dict[str, object]:
    memory = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = int(line.split()[1]) * 1024
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"nproc": os.cpu_count(), "memory_bytes": memory, "cpu": cpu, "kernel": platform.release(),
            "python": platform.python_version()}


def run_step(tool: Tool, step, log_prefix: Path, timeout: float) -> measure.Measurement:
    return measure.run(step.command, env=step.env, cwd=step.cwd, log_prefix=log_prefix, timeout=timeout)


class Failed(Exception):
    pass


def checked(measurement: measure.Measurement, what: str) -> measure.Measurement:
    if measurement.returncode != 0:
        raise Failed(f"{what} exited {measurement.returncode}: {measurement.stderr_tail()}")
    return measurement


def _prepare_tools(args: argparse.Namespace, run_dir: Path, results: dict[str, object]) -> list[str]:
    usable = []
    for name in args.tools:
        tool = TOOLS[name](run_dir / "state" / name)
        why = tool.available()
        if why:
            log(f"skipping {name}: {why}")
            results["tools"][name] = {"skipped": why}  # type: ignore[index]
            continue
        usable.append(name)
        results["tools"][name] = {"version": tool.version(), "settings": tool.description, "rounds": []}  # type: ignore[index]
        log(f"{name}: {results['tools'][name]['version']}")  # type: ignore[index]
    return usable


def one_round(args: argparse.Namespace, run_dir: Path, names: list[str], number: int,
              results: dict[str, object]) -> None:
    """Generate the data set, then initial backup, 2% change, incremental backup, restore per tool."""
    round_dir = run_dir / f"round-{number}"
    data = round_dir / "data"
    logs = run_dir / "logs" / f"round-{number}"
    size = dataset.parse_size(args.size)
    tools = [TOOLS[name](round_dir / "state" / name) for name in names]
    (round_dir / "repos").mkdir(parents=True, exist_ok=True)
    for tool in tools:
        tool.available()  # lets a driver pick its mode (e.g. mlark through the API)
    log(f"round {number}: order {', '.join(names)}; generating {args.size} data set (seed {args.seed})")
    manifest = dataset.generate(data, size, args.seed, args.small_files, progress=log)
    if number == 1:
        results["dataset"] = manifest.to_json() | {"finetuned_tensors": len(manifest.finetuned_tensors), "root": "data"}
    initial_bytes = manifest.total_bytes
    log(f"data set: {initial_bytes / MB:.0f} MB in {manifest.files} files ({manifest.seconds:.1f} s)")
    rounds: dict[str, dict[str, object]] = {name: {"order": position} for position, name in enumerate(names)}
    alive = list(tools)

    def attempt(tool: Tool, what: str, action) -> None:
        try:
            action()
        except (Failed, OSError, ValueError, KeyError, IndexError) as error:
            log(f"{tool.name}: {what} failed: {error}")
            rounds[tool.name]["error"] = f"{what}: {error}"
            alive.remove(tool)

    def measured(tool: Tool, step, what: str) -> measure.Measurement:
        settle(args.drop_caches)
        load = os.getloadavg()[0]
        m = checked(run_step(tool, step, logs / f"{tool.name}-{what}", args.timeout), what)
        rounds[tool.name][what] = m.to_json() | {"load_before": round(load, 2)}
        return m

    log(f"warming the page cache: {warm(data):.1f} s")
    for tool in list(alive):
        def initial(tool: Tool = tool) -> None:
            repo = round_dir / "repos" / tool.name
            for index, step in enumerate(tool.init(repo)):
                checked(run_step(tool, step, logs / f"{tool.name}-init-{index}", args.timeout), "init")
            m = measured(tool, tool.backup(repo, data, "initial"), "initial_backup")
            rounds[tool.name]["initial_backup"]["reported"] = tool.backup_summary(m.stdout())  # type: ignore[index]
            rounds[tool.name]["backup_mbps"] = round(initial_bytes / MB / m.seconds, 1)
            rounds[tool.name]["backup_cpu_seconds"] = round(m.user_seconds + m.system_seconds, 2)
            rounds[tool.name]["repo_bytes_initial"] = directory_bytes(repo)
            log(f"{tool.name}: initial backup {m.seconds:.1f} s, {initial_bytes / MB / m.seconds:.0f} MB/s, "
                f"CPU {m.user_seconds + m.system_seconds:.1f} s, peak RSS {m.peak_rss_bytes / MB:.0f} MB, "
                f"repo {rounds[tool.name]['repo_bytes_initial'] / MB:.0f} MB")
        attempt(tool, "initial backup", initial)

    mutation = dataset.mutate(data, args.seed, args.change)
    if number == 1:
        results["mutation"] = {k: v for k, v in mutation.to_json().items() if not isinstance(v, list)} | {
            "modified_files": len(mutation.modified_files), "new_files": len(mutation.new_files)}
    final_bytes, final_files = dataset.tree_bytes(data)
    if number == 1:
        results["dataset"]["bytes_after_change"] = final_bytes  # type: ignore[index]
        results["dataset"]["files_after_change"] = final_files  # type: ignore[index]
    log(f"changed {mutation.changed_bytes / MB:.1f} MB ({mutation.to_json()['changed_fraction']:.2%}); "
        f"warming: {warm(data):.1f} s")
    for tool in list(alive):
        def incremental(tool: Tool = tool) -> None:
            repo = round_dir / "repos" / tool.name
            m = measured(tool, tool.backup(repo, data, "incremental"), "incremental_backup")
            rounds[tool.name]["incremental_backup"]["reported"] = tool.backup_summary(m.stdout())  # type: ignore[index]
            rounds[tool.name]["incremental_seconds"] = round(m.seconds, 2)
            rounds[tool.name]["repo_bytes"] = directory_bytes(repo)
            log(f"{tool.name}: incremental backup {m.seconds:.2f} s, repo {rounds[tool.name]['repo_bytes'] / MB:.0f} MB")
        attempt(tool, "incremental backup", incremental)

    expected = tree_digest(data) if args.verify else None
    for tool in list(alive):
        def restore(tool: Tool = tool) -> None:
            repo = round_dir / "repos" / tool.name
            target = round_dir / "restore" / tool.name
            target.mkdir(parents=True)
            waited = wait_out_deletions()
            m = measured(tool, tool.restore(repo, data, target), "restore")
            rounds[tool.name]["restore"]["waited_for_deletions_seconds"] = round(waited, 1)  # type: ignore[index]
            started = time.perf_counter()
            os.sync()
            sync_seconds = time.perf_counter() - started
            rounds[tool.name]["restore"]["sync_after_seconds"] = round(sync_seconds, 2)  # type: ignore[index]
            rounds[tool.name]["restore_mbps"] = round(final_bytes / MB / m.seconds, 1)
            rounds[tool.name]["restore_cpu_seconds"] = round(m.user_seconds + m.system_seconds, 2)
            log(f"{tool.name}: restore {m.seconds:.1f} s, {final_bytes / MB / m.seconds:.0f} MB/s "
                f"(+{sync_seconds:.1f} s sync), CPU {m.user_seconds + m.system_seconds:.1f} s, "
                f"peak RSS {m.peak_rss_bytes / MB:.0f} MB")
            if expected is not None:
                root = find_restored_root(target)
                if root is None:
                    raise Failed("restored tree has no data set marker")
                got = tree_digest(root)
                missing = sorted(set(expected) - set(got))
                wrong = sorted(p for p in expected if p in got and got[p] != expected[p])
                extra = sorted(set(got) - set(expected))
                rounds[tool.name]["restore_verified"] = not (missing or wrong or extra)
                if missing or wrong or extra:
                    raise Failed(f"restored tree differs: {len(missing)} missing {missing[:3]}, "
                                 f"{len(wrong)} different {wrong[:3]}, {len(extra)} extra {extra[:3]}")
                log(f"{tool.name}: restored tree verified ({len(got)} files identical)")
        attempt(tool, "restore", restore)
    # Every restore stays until all tools have restored (see RECENTLY_DELETED_SECONDS).
    remove_tree(round_dir / "restore")

    for name, entry in rounds.items():
        peaks = [entry[step]["peak_rss_bytes"] for step in ("initial_backup", "incremental_backup", "restore")
                 if isinstance(entry.get(step), dict)]
        if peaks:
            entry["peak_rss_bytes"] = max(peaks)
        results["tools"][name]["rounds"].append(entry)  # type: ignore[index]
    if not args.keep:
        remove_tree(round_dir)


def benchmark(args: argparse.Namespace) -> dict[str, object]:
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    run_dir = (args.out / f"repo-{stamp}").resolve()
    run_dir.mkdir(parents=True)
    results: dict[str, object] = {
        "command": " ".join(["python -m bench.repo.run"] + (args.argv or [])),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": machine_facts(),
        "cache": "dropped before each measured step" if args.drop_caches else "warm (data set read before each round)",
        "repeat": args.repeat,
        "tools": {},
    }
    names = _prepare_tools(args, run_dir, results)
    for number in range(1, args.repeat + 1):
        shift = (number - 1) % max(1, len(names))
        one_round(args, run_dir, names[shift:] + names[:shift], number, results)
    summarize(results)
    results["run_dir"] = str(run_dir)
    return results


def summarize(results: dict[str, object]) -> None:
    """Medians over the rounds of each tool, mlark's ratios, the targets' verdicts (in place)."""
    tool_results: dict[str, dict[str, object]] = results["tools"]  # type: ignore[assignment]
    for entry in tool_results.values():
        rounds = entry.get("rounds") or []
        errors = [r["error"] for r in rounds if "error" in r]
        if errors:
            entry["error"] = errors[0]
        for metric in SUMMARY_METRICS:
            values = [r[metric] for r in rounds if isinstance(r.get(metric), (int, float))]
            entry.pop(metric, None)
            entry.pop(metric + "_range", None)
            if values and len(values) == len(rounds):
                entry[metric] = statistics.median(values)
                if len(values) > 1:
                    entry[metric + "_range"] = [min(values), max(values)]
    loads = [step["load_before"] for entry in tool_results.values() for r in entry.get("rounds", [])
             for step in r.values() if isinstance(step, dict) and "load_before" in step]
    results["load_average_1min"] = {"min": min(loads), "max": max(loads)} if loads else None
    results["ratios"] = ratios(tool_results)
    results["targets"] = targets(tool_results)


SUMMARY_METRICS = ["backup_mbps", "backup_cpu_seconds", "incremental_seconds", "restore_mbps", "restore_cpu_seconds",
                   "repo_bytes_initial", "repo_bytes", "peak_rss_bytes"]


METRICS = [
    ("backup_mbps", "initial backup MB/s", "higher"),
    ("backup_cpu_seconds", "initial backup CPU s", "lower"),
    ("incremental_seconds", "incremental backup s", "lower"),
    ("restore_mbps", "restore MB/s", "higher"),
    ("restore_cpu_seconds", "restore CPU s", "lower"),
    ("repo_bytes_initial", "repository MB after initial", "lower"),
    ("repo_bytes", "repository MB after incremental", "lower"),
    ("peak_rss_bytes", "peak RSS MB", "lower"),
]


def ratios(tool_results: dict[str, dict[str, object]]) -> dict[str, dict[str, float]]:
    """metric -> peer -> median over the rounds of (mlark's value / the peer's value in the same round).

    Pairing by round matters on a shared machine: both figures of a pair were taken minutes
    apart, under about the same load, while the load moves a lot between rounds.
    """
    mlark_rounds = tool_results.get("mlark", {}).get("rounds") or []
    out: dict[str, dict[str, float]] = {}
    for metric, _, _ in METRICS:
        for peer, entry in tool_results.items():
            if peer == "mlark":
                continue
            pairs = []
            for ours, theirs in zip(mlark_rounds, entry.get("rounds") or []):  # type: ignore[arg-type]
                a, b = ours.get(metric), theirs.get(metric)
                if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b:
                    pairs.append(a / b)
            if pairs:
                out.setdefault(metric, {})[peer] = round(statistics.median(pairs), 3)
    return out


def targets(tool_results: dict[str, dict[str, object]]) -> list[dict[str, object]]:
    table = ratios(tool_results)
    verdicts = []
    for metric, peer, comparison, bound, text in TARGETS:
        ratio = table.get(metric, {}).get(peer)
        met = None if ratio is None else (ratio >= bound if comparison == ">=" else ratio <= bound)
        verdicts.append({"target": text, "ratio": ratio, "bound": f"{comparison} {bound}", "met": met})
    rss = tool_results.get("mlark", {}).get("peak_rss_bytes")
    verdicts.append({"target": "peak RSS < 500 MB", "ratio": None if rss is None else round(rss / MB, 1),
                     "bound": "< 500 MB", "met": None if rss is None else rss < RSS_LIMIT})  # type: ignore[operator]
    return verdicts


def _cell(metric: str, value: object) -> str:
    if not isinstance(value, (int, float)):
        return "–"
    if metric in ("repo_bytes", "repo_bytes_initial", "peak_rss_bytes"):
        return f"{value / MB:,.0f}"
    if metric.endswith("seconds"):
        return f"{value:.2f}"
    return f"{value:,.0f}"


def markdown(results: dict[str, object]) -> str:
    tools: dict[str, dict[str, object]] = results["tools"]  # type: ignore[assignment]
    names = [name for name, entry in tools.items() if "skipped" not in entry]
    lines = ["| metric | " + " | ".join(names) + " | " + " | ".join(f"mlark/{n}" for n in names if n != "mlark") + " |",
             "|---|" + "---:|" * (len(names) + len([n for n in names if n != "mlark"]))]
    table = results.get("ratios", {})
    for metric, label, better in METRICS:
        cells = [_cell(metric, tools[name].get(metric)) for name in names]
        ratio_cells = []
        for name in names:
            if name == "mlark":
                continue
            ratio = table.get(metric, {}).get(name)  # type: ignore[union-attr]
            ratio_cells.append("–" if ratio is None else f"{ratio:.2f}")
        lines.append(f"| {label} ({better} is better) | " + " | ".join(cells) + " | " + " | ".join(ratio_cells) + " |")
    lines.append("")
    lines.append("| tool | version | settings |")
    lines.append("|---|---|---|")
    for name, entry in tools.items():
        lines.append(f"| {name} | {entry.get('version', '–')} | {entry.get('settings', entry.get('skipped', ''))}"
                     + (f" — FAILED: {entry['error'][:120]}" if entry.get("error") else "") + " |")
    verdicts = results.get("targets", [])
    if verdicts:
        lines.append("")
        lines.append("| target (issue 5) | measured | bound | met |")
        lines.append("|---|---:|---|---|")
        for verdict in verdicts:  # type: ignore[union-attr]
            met = {True: "yes", False: "**no**", None: "not measured"}[verdict["met"]]
            ratio = verdict["ratio"]
            lines.append(f"| {verdict['target']} | {'–' if ratio is None else ratio} | {verdict['bound']} | {met} |")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.repo.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="2G", help="data set size, e.g. 256M, 2G (default 2G)")
    parser.add_argument("--seed", type=int, default=dataset.DEFAULT_SEED)
    parser.add_argument("--small-files", type=int, default=None, help="default: 20,000 at 2 GiB, scaled below")
    parser.add_argument("--change", type=float, default=dataset.MUTATE_FRACTION, help="incremental change fraction")
    parser.add_argument("--tools", default=",".join(TOOLS), help="comma-separated, default: all")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default bench/out)")
    parser.add_argument("--drop-caches", action="store_true", help="drop kernel caches before every measured step")
    parser.add_argument("--no-verify", dest="verify", action="store_false", help="skip the byte-for-byte restore check")
    parser.add_argument("--keep", action="store_true", help="keep data set and repositories")
    parser.add_argument("--repeat", type=int, default=1, help="rounds (tool order rotated); medians are reported")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per measured command")
    args = parser.parse_args(argv)
    args.argv = argv if argv is not None else sys.argv[1:]
    args.tools = [name.strip() for name in args.tools.split(",") if name.strip()]
    unknown = [name for name in args.tools if name not in TOOLS]
    if unknown:
        parser.error(f"unknown tools {unknown}; choose from {', '.join(TOOLS)}")
    try:
        dataset.parse_size(args.size)
    except ValueError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(args.out).free
    need = dataset.parse_size(args.size) * (3 + len(args.tools))
    if free < need:
        print(f"error: {args.out} has {free / 2**30:.1f} GiB free, the run needs about {need / 2**30:.1f} GiB",
              file=sys.stderr)
        return 2
    results = benchmark(args)
    text = markdown(results)
    stem = Path(str(results["run_dir"]))
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
    stem.with_suffix(".md").write_text(
        f"Command: `{results['command']}`  \nDate: {results['date']}  \nMachine: {results['machine']}  \n"
        f"Data set: {results['dataset']['total_bytes'] / MB:,.0f} MB, {results['dataset']['files']} files; "  # type: ignore[index]
        f"change: {results['mutation']['changed_fraction']:.2%}  \nCache: {results['cache']}; rounds: {results['repeat']}; "
        f"1-min load average before measured steps: {results['load_average_1min']}\n\n{text}")
    print(text)
    print(f"results: {stem.with_suffix('.json')}", file=sys.stderr)
    return 1 if any("error" in entry for entry in results["tools"].values()) else 0  # type: ignore[union-attr]


if __name__ == "__main__":
    sys.exit(main())
