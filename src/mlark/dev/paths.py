"""Where the local environment keeps its state, and where built tools are cached.

Both live outside the repository: the cache survives across clones (keyed by version), the
state directory holds data directories, logs and pid files of the running environment.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_root() -> Path:
    """Built binaries and virtual environments, keyed by version (MLARK_CACHE overrides)."""
    explicit = os.environ.get("MLARK_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlark"


def state_root() -> Path:
    """Data, logs and pid files of the running local environment (MLARK_DEV_HOME overrides)."""
    explicit = os.environ.get("MLARK_DEV_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mlark" / "dev"


def component_dir(name: str) -> Path:
    path = state_root() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    path = state_root() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path
