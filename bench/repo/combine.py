"""Pool the rounds of several benchmark runs (same data set, same tool versions) into one table.

    .venv/bin/python -m bench.repo.combine bench/out/repo-A.json bench/out/repo-B.json

On a shared machine one run's wall-clock figures move with the load; the median over more
rounds is steadier. Runs of different tool versions or data sets are refused.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.repo.run import markdown, summarize


def combine(paths: list[Path]) -> dict[str, object]:
    runs = [json.loads(path.read_text()) for path in paths]
    first = runs[0]
    combined: dict[str, object] = {key: first[key] for key in ("machine", "cache", "dataset", "mutation")}
    combined["command"] = "; ".join(run["command"] for run in runs)
    combined["date"] = ", ".join(run["date"] for run in runs)
    combined["repeat"] = sum(run["repeat"] for run in runs)
    tools: dict[str, dict[str, object]] = {}
    for run, path in zip(runs, paths):
        if run["dataset"]["total_bytes"] != first["dataset"]["total_bytes"] or run["dataset"]["seed"] != first["dataset"]["seed"]:
            raise SystemExit(f"{path}: another data set than {paths[0]}")
        for name, entry in run["tools"].items():
            if "skipped" in entry:
                continue
            pooled = tools.setdefault(name, {"version": entry["version"], "settings": entry["settings"], "rounds": []})
            same = pooled["version"].split(" (commit")[0] == entry["version"].split(" (commit")[0]
            if not same:
                raise SystemExit(f"{path}: {name} {entry['version']} differs from {pooled['version']}")
            if entry["version"] not in str(pooled["version"]):
                pooled["version"] = f"{pooled['version']}, {entry['version']}"
            pooled["rounds"].extend(entry.get("rounds", []))  # type: ignore[union-attr]
    combined["tools"] = tools  # rounds are paired by position within each run
    summarize(combined)
    return combined


def main(argv: list[str] | None = None) -> int:
    paths = [Path(arg) for arg in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print(__doc__, file=sys.stderr)
        return 2
    result = combine(paths)
    print(f"{result['repeat']} rounds from {len(paths)} runs; load average {result['load_average_1min']}\n")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
