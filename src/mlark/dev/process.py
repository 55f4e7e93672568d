"""Start, find and stop the daemons of the local environment.

Each daemon runs in its own session (so it outlives the command that started it and can be
stopped with its children), writes to its own log file and is remembered by a pid file.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from mlark.dev.paths import log_dir, state_root


class DevEnvironmentError(RuntimeError):
    """A component of the local environment could not be started or reached."""




def pid_file(name: str) -> Path:
    path = state_root() / "pids"
    path.mkdir(parents=True, exist_ok=True)
    return path / f"{name}.pid"


def log_file(name: str) -> Path:
    return log_dir() / f"{name}.log"


def running_pid(name: str) -> int | None:
    """The pid of daemon `name` if it is alive, else None (a stale pid file is removed)."""
    path = pid_file(name)
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        path.unlink(missing_ok=True)
        return None
    if _is_zombie(pid):
        path.unlink(missing_ok=True)
        return None
    return pid


def _is_zombie(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, IndexError):
        return False
    return fields[0] == "Z"


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex((host, port)) == 0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def require_free_ports(name: str, ports: Sequence[int]) -> None:
    taken = [port for port in ports if port_in_use(port)]
    if taken:
        raise DevEnvironmentError(
            f"{name}: port {', '.join(map(str, taken))} on 127.0.0.1 is taken by another process; "
            "stop it or run `mlark dev env down` first"
        )


def start_daemon(
    name: str,
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> int:
    """Start argv as daemon `name` unless it already runs; return its pid."""
    existing = running_pid(name)
    if existing is not None:
        return existing
    log = log_file(name)
    with open(log, "ab") as out:
        out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        out.flush()
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                env={**os.environ, **(env or {})},
                start_new_session=True,
                user=user,
            )
        except FileNotFoundError as error:
            raise DevEnvironmentError(f"{name}: binary not found: {argv[0]} ({error})") from error
    pid_file(name).write_text(str(process.pid))
    return process.pid


def wait_until(
    name: str,
    ready: Callable[[], bool],
    *,
    timeout: float = 60.0,
    interval: float = 0.2,
) -> None:
    """Poll ready() until it holds; fail with the tail of the daemon's log if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if pid_file(name).exists() and running_pid(name) is None:
            raise DevEnvironmentError(f"{name} exited during start-up; last log lines:\n{log_tail(name)}")
        time.sleep(interval)
    raise DevEnvironmentError(f"{name} not ready after {timeout:.0f}s; last log lines:\n{log_tail(name)}")


def wait_for_port(name: str, port: int, timeout: float = 60.0) -> None:
    wait_until(name, lambda: port_in_use(port), timeout=timeout)


def log_tail(name: str, lines: int = 15) -> str:
    try:
        content = log_file(name).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(content[-lines:])


def stop_daemon(name: str, timeout: float = 20.0) -> bool:
    """Stop daemon `name` and its process group; return True if it was running."""
    pid = running_pid(name)
    if pid is None:
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and running_pid(name) is not None:
        time.sleep(0.1)
    if running_pid(name) is not None:
        _signal_group(pid, signal.SIGKILL)
        time.sleep(0.2)
    pid_file(name).unlink(missing_ok=True)
    return True


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, signum)
        except ProcessLookupError:
            pass


def running_daemons() -> list[str]:
    directory = state_root() / "pids"
    if not directory.exists():
        return []
    return sorted(path.stem for path in directory.glob("*.pid") if running_pid(path.stem) is not None)
