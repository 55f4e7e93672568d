"""Helpers for repository tests: cheap key derivation, tree builders and comparison, a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlark.repo.backend import LocalBackend
from mlark.repo.crypto import KdfParams
from mlark.repo.models import ChunkerParams
from mlark.repo.repository import Repository

PASSWORD = "correct horse"
# Tests create many repositories; argon2id at 1 MiB keeps that fast. Key files record their
# parameters, so opening still exercises the real derivation path.
FAST_KDF = KdfParams(time_cost=1, memory_kib=1024, parallelism=1)
SMALL_CHUNKS = ChunkerParams(min_size=16 * 1024, avg_size=64 * 1024, max_size=256 * 1024)


def make_repo(path: Path, **options: Any) -> Repository:
    options.setdefault("chunker", SMALL_CHUNKS)
    options.setdefault("pack_size", 1024 * 1024)
    return Repository.init(LocalBackend(path), PASSWORD, kdf=FAST_KDF, **options)


def reopen(repo: Repository) -> Repository:
    return Repository.open(repo.backend, PASSWORD)


def tree_state(root: Path) -> dict[str, tuple[Any, ...]]:
    """Everything a restore must reproduce: type, permissions, mtime, content or link target."""
    state: dict[str, tuple[Any, ...]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = str(path.relative_to(root))
        if path.is_symlink():
            state[rel] = ("link", os.readlink(path), st.st_mtime_ns)
        elif path.is_dir():
            state[rel] = ("dir", st.st_mode & 0o7777, st.st_mtime_ns)
        else:
            state[rel] = ("file", st.st_mode & 0o7777, st.st_mtime_ns, path.read_bytes())
    return state


def cli(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None, check: bool = False) -> subprocess.CompletedProcess[bytes]:
    # Wide COLUMNS: rich would wrap long error lines at 80 columns when not on a terminal.
    full_env = {**os.environ, "MLARK_PASSWORD": PASSWORD, "COLUMNS": "500", **(env or {})}
    result = subprocess.run([sys.executable, "-m", "mlark", "repo", *args], input=stdin, capture_output=True, env=full_env, timeout=120)
    if check and result.returncode != 0:
        raise AssertionError(f"mlark repo {' '.join(args)} failed ({result.returncode}): {result.stderr.decode()}")
    return result


def cli_json(*args: str, **kwargs: Any) -> Any:
    return json.loads(cli(*args, "-o", "json", check=True, **kwargs).stdout)


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return make_repo(tmp_path / "repo")


@pytest.fixture
def repo_path(tmp_path: Path) -> Path:
    make_repo(tmp_path / "repo")
    return tmp_path / "repo"
