"""MLServer's own virtual environment, built once and cached outside the repository.

MLServer pins fastapi/starlette versions that clash with mlark's, so it never shares an
environment with mlark. The venv is keyed by MLServer's version; a marker file written last
tells a complete build from one that was interrupted (which is then rebuilt).
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
import time
from pathlib import Path

from mlark.dev.paths import cache_root
from mlark.dev.process import DevEnvironmentError

MLSERVER_VERSION = "1.7.1"
# scikit-learn is pinned because the model is pickled (joblib) by this venv and loaded by
# the same one: a version change must mean a new venv, not a silently different unpickle.
REQUIREMENTS = [
    f"mlserver=={MLSERVER_VERSION}",
    f"mlserver-sklearn=={MLSERVER_VERSION}",
    "scikit-learn==1.9.1",
    "joblib>=1.4,<2",
    "boto3>=1.40,<2",
]
MARKER = ".mlark-complete"


def venv_dir() -> Path:
    return cache_root() / "venvs" / f"mlserver-{MLSERVER_VERSION}"


def venv_python() -> Path:
    return venv_dir() / "bin" / "python"


def mlserver_executable() -> Path:
    return venv_dir() / "bin" / "mlserver"


def venv_ready() -> bool:
    marker = venv_dir() / MARKER
    return marker.exists() and marker.read_text().strip() == "\n".join(REQUIREMENTS).strip()


def ensure_mlserver_venv(*, quiet: bool = True) -> Path:
    """Build the MLServer venv if absent or incomplete; return its python. Safe to call concurrently."""
    if venv_ready():
        return venv_python()
    target = venv_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    with open(lock_path, "w") as lock:
        # Another process may be building it: wait for it instead of building twice.
        fcntl.flock(lock, fcntl.LOCK_EX)
        if venv_ready():
            return venv_python()
        shutil.rmtree(target, ignore_errors=True)
        log = target.parent / f"{target.name}.build.log"
        started = time.monotonic()
        with open(log, "w") as out:
            _run([sys.executable, "-m", "venv", str(target)], out, log)
            pip = [str(target / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check"]
            if quiet:
                pip.append("-q")
            _run([*pip, "--upgrade", "pip"], out, log)
            _run([*pip, *REQUIREMENTS], out, log)
            out.write(f"built in {time.monotonic() - started:.0f}s\n")
        (target / MARKER).write_text("\n".join(REQUIREMENTS))
    return venv_python()


def _run(argv: list[str], out: object, log: Path) -> None:
    result = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, check=False)  # type: ignore[arg-type]
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise DevEnvironmentError(f"building the MLServer venv failed ({' '.join(argv[:4])} ...); see {log}:\n{tail}")
