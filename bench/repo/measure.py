"""Run one command and measure it: wall time, CPU time, peak RSS of the process tree."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

_PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Measurement:
    command: list[str]
    seconds: float
    returncode: int
    user_seconds: float
    system_seconds: float
    max_rss_bytes: int  # largest single process (kernel's ru_maxrss over the tree)
    tree_rss_bytes: int  # largest sum of RSS over the process tree, sampled
    stdout_path: str
    stderr_path: str

    @property
    def peak_rss_bytes(self) -> int:
        return max(self.max_rss_bytes, self.tree_rss_bytes)

    def stdout(self) -> str:
        return Path(self.stdout_path).read_text(errors="replace")

    def stderr_tail(self, lines: int = 15) -> str:
        return "\n".join(Path(self.stderr_path).read_text(errors="replace").splitlines()[-lines:])

    def to_json(self) -> dict[str, object]:
        return {
            "command": self.command,
            "seconds": round(self.seconds, 3),
            "returncode": self.returncode,
            "user_seconds": round(self.user_seconds, 2),
            "system_seconds": round(self.system_seconds, 2),
            "max_rss_bytes": self.max_rss_bytes,
            "tree_rss_bytes": self.tree_rss_bytes,
            "peak_rss_bytes": self.peak_rss_bytes,
        }


def tree_rss(root: int) -> int:
    """Sum of the resident set sizes of ``root`` and all its descendants, now."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as handle:
                stat = handle.read()
        except OSError:
            continue
        # pid (comm) state ppid ... ; comm may hold spaces and parentheses
        fields = stat[stat.rfind(b")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    tree = {root}
    changed = True
    while changed:
        changed = False
        for pid, parent in parents.items():
            if parent in tree and pid not in tree:
                tree.add(pid)
                changed = True
    total = 0
    for pid in tree:
        try:
            with open(f"/proc/{pid}/statm", "rb") as handle:
                total += int(handle.read().split()[1]) * _PAGE
        except (OSError, IndexError, ValueError):
            continue
    return total


def run(command: list[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
        log_prefix: Path, sample_interval: float = 0.1, timeout: float | None = None) -> Measurement:
    """Run ``command`` to completion; stdout and stderr go to ``log_prefix``.out/.err."""
    log_prefix.parent.mkdir(parents=True, exist_ok=True)
    out_path = log_prefix.with_name(log_prefix.name + ".out")
    err_path = log_prefix.with_name(log_prefix.name + ".err")
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=full_env, cwd=cwd)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                peak = max(peak, tree_rss(process.pid))
                done.wait(sample_interval)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        killer = None
        if timeout is not None:
            killer = threading.Timer(timeout, process.kill)
            killer.start()
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
        if killer is not None:
            killer.cancel()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Measurement(
        command=[str(part) for part in command],
        seconds=elapsed,
        returncode=process.returncode,
        user_seconds=usage.ru_utime,
        system_seconds=usage.ru_stime,
        max_rss_bytes=usage.ru_maxrss * 1024,
        tree_rss_bytes=peak,
        stdout_path=str(out_path),
        stderr_path=str(err_path),
    )
