"""Profile mlark's backup and restore of the benchmark data set with py-spy.

py-spy samples every thread of the process (cProfile sees only one), natively compiled
code included, without changing the program. Install it outside the project's
environment, e.g. ``pip install --target DIR py-spy`` and pass ``--py-spy DIR/bin/py-spy``.

    .venv/bin/python -m bench.repo.profile --size 512M --py-spy PATH/py-spy [--gil]

It makes a data set (or reuses ``--data DIR``), runs ``mlark repo backup`` and ``mlark repo
restore`` under ``py-spy record --threads`` (with ``--gil``: only samples of the thread
holding the GIL, which shows whether the GIL is the limit), and prints, per thread and per
function, the sampled seconds. Raw samples stay in the output directory.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.repo import dataset
from bench.repo.run import DEFAULT_OUT, warm
from bench.repo.tools import PASSWORD, mlark_command

_LOCATION = re.compile(r" \(.*?:\d+\)")


def summarize(raw: Path, rate: int, top: int = 12) -> str:
    """Per thread: sampled seconds in total, and the functions most often on its stack."""
    per_thread: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    leaves: collections.Counter[str] = collections.Counter()
    totals: collections.Counter[str] = collections.Counter()
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = stack.split(";")
        thread = re.sub(r"^thread\s*\([0-9a-fx]+\):?\s*", "", frames[0]).strip()
        names = [_LOCATION.sub("", frame) for frame in frames[1:]]
        totals[thread] += count
        if names:
            leaves[names[-1]] += count
        for name in set(names):
            per_thread[thread][name] += count
    lines = [f"samples: {sum(totals.values())} at {rate}/s"]
    for thread, count in totals.most_common():
        lines.append(f"thread {thread or '?'}: {count / rate:.2f} s")
        # frames on (nearly) every sample of the thread say nothing: thread start-up, the CLI's call chain
        shown = [(name, n) for name, n in per_thread[thread].most_common() if n < 0.97 * count][:top]
        lines.extend(f"    {n / rate:6.2f} s  {name}" for name, n in shown)
    lines.append("innermost frames (time in the function itself, C calls included):")
    lines.extend(f"    {n / rate:6.2f} s  {name}" for name, n in leaves.most_common(top))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.repo.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="path of the py-spy binary")
    parser.add_argument("--size", default="512M")
    parser.add_argument("--data", type=Path, help="existing data set to use instead of generating one")
    parser.add_argument("--gil", action="store_true", help="sample only the thread holding the GIL")
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not args.py_spy:
        print("error: py-spy not found: pip install --target DIR py-spy, then --py-spy DIR/bin/py-spy", file=sys.stderr)
        return 2
    run_dir = (args.out / f"profile-{time.strftime('%Y%m%d-%H%M%S')}").resolve()
    run_dir.mkdir(parents=True)
    data = args.data
    if data is None:
        data = run_dir / "data"
        dataset.generate(data, dataset.parse_size(args.size))
    env = dict(os.environ, MLARK_PASSWORD=PASSWORD)
    env.pop("PYTHONPATH", None)
    repo, target = run_dir / "repo", run_dir / "restore"
    subprocess.run(mlark_command() + ["repo", "init", "--repo", str(repo)], env=env, check=True, capture_output=True)
    warm(data)
    steps = {
        "backup": mlark_command() + ["repo", "backup", "--repo", str(repo), str(data), "-o", "json"],
        "restore": mlark_command() + ["repo", "restore", "--repo", str(repo), "latest", "--target", str(target), "-o", "json"],
    }
    for name, command in steps.items():
        raw = run_dir / f"{name}.txt"
        spy = [args.py_spy, "record", "--threads", "-r", str(args.rate), "-f", "raw", "-o", str(raw)]
        if args.gil:
            spy.append("--gil")
        os.sync()
        started = time.perf_counter()
        done = subprocess.run(spy + ["--"] + command, env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            print(f"{name} failed: {done.stderr[-2000:]}", file=sys.stderr)
            return 1
        print(f"== {name}: {elapsed:.2f} s wall (under py-spy){' — GIL holders only' if args.gil else ''}")
        print(summarize(raw, args.rate))
    shutil.rmtree(target, ignore_errors=True)
    print(f"raw samples: {run_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
