"""Drivers for the tools under comparison: restic, borg, kopia and mlark.

Every driver turns on encryption and compression:

- restic: repository format 2 (the first with compression), ``--compression auto``;
  restic always encrypts (AES-256-CTR + Poly1305-AES).
- borg: ``--encryption repokey`` (AES-256-CTR + HMAC-SHA256), ``--compression zstd,3``.
- kopia: default encryption (AES256-GCM-HMAC-SHA256), global policy ``--compression zstd``;
  automatic maintenance is switched off so no snapshot pays for a maintenance run that
  restic, borg and mlark would not do in the same command.
- mlark: ``mlark repo init|backup|restore`` with the password in ``MLARK_PASSWORD``; the
  engine compresses and encrypts every blob by design.

Each tool keeps its caches and configuration inside the run directory, never in the home
directory, so runs are independent.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

PASSWORD = "mlark-benchmark-password"
KOPIA_VERSION = "v0.22.3"


def cache_home() -> Path:
    """mlark's cache directory: $MLARK_CACHE, else $XDG_CACHE_HOME/mlark, else ~/.cache/mlark."""
    if os.environ.get("MLARK_CACHE"):
        return Path(os.environ["MLARK_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mlark"


def kopia_binary() -> str | None:
    """$KOPIA, else the binary built by scripts/install-bench-tools.sh, else kopia on PATH."""
    if os.environ.get("KOPIA"):
        return os.environ["KOPIA"]
    cached = cache_home() / "bin" / f"kopia-{KOPIA_VERSION}" / "kopia"
    if cached.is_file() and os.access(cached, os.X_OK):
        return str(cached)
    return shutil.which("kopia")


def mlark_command() -> list[str]:
    """The mlark CLI next to this interpreter, else ``python -m mlark``."""
    script = Path(sys.executable).with_name("mlark")
    if script.is_file():
        return [str(script)]
    return [sys.executable, "-m", "mlark"]


@dataclass
class Step:
    """One command to run (measured or not)."""

    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None


class Tool:
    name = ""
    description = ""

    def __init__(self, state: Path):
        self.state = state  # directory for this tool's caches and configuration
        self.state.mkdir(parents=True, exist_ok=True)

    def available(self) -> str | None:
        """None if the tool can run, else why not."""
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return {}

    def init(self, repo: Path) -> list[Step]:
        raise NotImplementedError

    def backup(self, repo: Path, source: Path, label: str) -> Step:
        raise NotImplementedError

    def restore(self, repo: Path, source: Path, target: Path) -> Step:
        """Restore the newest snapshot of ``source`` into ``target``."""
        raise NotImplementedError

    def backup_summary(self, stdout: str) -> dict[str, object]:
        """Tool-reported figures of a backup, if its output has any (best effort)."""
        return {}

    def _run_quiet(self, command: list[str]) -> str:
        env = dict(os.environ) | self.env()
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
        return (done.stdout + done.stderr).strip()


class Restic(Tool):
    name = "restic"
    description = "restic, repository v2, --compression auto (always encrypted)"

    def available(self) -> str | None:
        return None if shutil.which("restic") else "restic not installed (Debian package restic)"

    def version(self) -> str:
        return self._run_quiet(["restic", "version"]).split(" compiled")[0]

    def env(self) -> dict[str, str]:
        return {"RESTIC_PASSWORD": PASSWORD, "RESTIC_CACHE_DIR": str(self.state / "cache")}

    def _base(self, repo: Path) -> list[str]:
        return ["restic", "--repo", str(repo), "--cache-dir", str(self.state / "cache")]

    def init(self, repo: Path) -> list[Step]:
        return [Step(self._base(repo) + ["init", "--repository-version", "2"], self.env())]

    def backup(self, repo: Path, source: Path, label: str) -> Step:
        return Step(self._base(repo) + ["backup", "--compression", "auto", "--json", "--host", "bench",
                                        "--tag", label, str(source)], self.env())

    def restore(self, repo: Path, source: Path, target: Path) -> Step:
        return Step(self._base(repo) + ["restore", "latest", "--host", "bench", "--target", str(target)], self.env())

    def backup_summary(self, stdout: str) -> dict[str, object]:
        for line in reversed(stdout.splitlines()):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if data.get("message_type") == "summary":
                return {key: data.get(key) for key in ("files_new", "files_changed", "files_unmodified",
                                                       "data_added", "total_bytes_processed")}
        return {}


class Borg(Tool):
    name = "borg"
    description = "borg, --encryption repokey, --compression zstd,3"

    def available(self) -> str | None:
        return None if shutil.which("borg") else "borg not installed (Debian package borgbackup)"

    def version(self) -> str:
        return self._run_quiet(["borg", "--version"])

    def env(self) -> dict[str, str]:
        return {"BORG_PASSPHRASE": PASSWORD, "BORG_BASE_DIR": str(self.state),
                "BORG_RELOCATED_REPO_ACCESS_IS_OK": "yes", "BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK": "no"}

    def init(self, repo: Path) -> list[Step]:
        return [Step(["borg", "init", "--encryption", "repokey", str(repo)], self.env())]

    def backup(self, repo: Path, source: Path, label: str) -> Step:
        return Step(["borg", "create", "--compression", "zstd,3", "--json", f"{repo}::{label}", str(source)], self.env())

    def restore(self, repo: Path, source: Path, target: Path) -> Step:
        target.mkdir(parents=True, exist_ok=True)
        last = self._run_quiet(["borg", "list", "--last", "1", "--short", str(repo)]).splitlines()[-1].strip()
        return Step(["borg", "extract", f"{repo}::{last}"], self.env(), cwd=str(target))

    def backup_summary(self, stdout: str) -> dict[str, object]:
        try:
            stats = json.loads(stdout)["archive"]["stats"]
        except (ValueError, KeyError):
            return {}
        return {"nfiles": stats.get("nfiles"), "deduplicated_size": stats.get("deduplicated_size"),
                "original_size": stats.get("original_size")}


class Kopia(Tool):
    name = "kopia"
    description = "kopia, AES256-GCM-HMAC-SHA256, policy --compression zstd, auto maintenance off"

    def __init__(self, state: Path):
        super().__init__(state)
        self.binary = kopia_binary()

    def available(self) -> str | None:
        if self.binary is None:
            return f"kopia not found (scripts/install-bench-tools.sh builds {KOPIA_VERSION})"
        return None

    def version(self) -> str:
        return "kopia " + self._run_quiet([str(self.binary), "--version"]).split()[0]

    def env(self) -> dict[str, str]:
        return {"KOPIA_PASSWORD": PASSWORD, "KOPIA_CONFIG_PATH": str(self.state / "repository.config"),
                "KOPIA_LOG_DIR": str(self.state / "logs"), "KOPIA_CACHE_DIRECTORY": str(self.state / "cache"),
                "KOPIA_CHECK_FOR_UPDATES": "false"}

    def _base(self) -> list[str]:
        return [str(self.binary), "--config-file", str(self.state / "repository.config"),
                "--log-dir", str(self.state / "logs")]

    def init(self, repo: Path) -> list[Step]:
        base = self._base()
        return [
            Step(base + ["repository", "create", "filesystem", "--path", str(repo),
                         "--cache-directory", str(self.state / "cache")], self.env()),
            Step(base + ["policy", "set", "--global", "--compression", "zstd"], self.env()),
            Step(base + ["maintenance", "set", "--enable-quick", "false", "--enable-full", "false"], self.env()),
        ]

    def backup(self, repo: Path, source: Path, label: str) -> Step:
        return Step(self._base() + ["snapshot", "create", "--json", "--tags", f"label:{label}", str(source)], self.env())

    def restore(self, repo: Path, source: Path, target: Path) -> Step:
        listing = self._run_quiet(self._base() + ["snapshot", "list", "--json", str(source)])
        snapshots = json.loads(listing[listing.index("[") :])
        newest = max(snapshots, key=lambda s: s["startTime"])
        return Step(self._base() + ["snapshot", "restore", newest["id"], str(target)], self.env())

    def backup_summary(self, stdout: str) -> dict[str, object]:
        try:
            data = json.loads(stdout[stdout.index("{") :])
        except ValueError:
            return {}
        summary = data.get("rootEntry", {}).get("summ", {})
        return {"files": summary.get("files"), "size": summary.get("size")}


class Mlark(Tool):
    name = "mlark"
    description = "mlark repo (FastCDC, keyed BLAKE3, zstd, AEAD; engine defaults)"

    def __init__(self, state: Path):
        super().__init__(state)
        self.via_api = False

    def available(self) -> str | None:
        help_text = self._run_quiet(mlark_command() + ["repo", "backup", "--help"])
        if "--repo" in help_text:
            return None
        api = subprocess.run([sys.executable, "-c", "from mlark.repo import backup, restore, init_repository"],
                             capture_output=True, text=True, check=False)
        if api.returncode == 0:
            self.via_api = True  # the CLI is not there yet: drive the engine's Python API
            self.description += "; driven through the Python API (bench/repo/mlark_api.py), no CLI yet"
            return None
        lines = [line.strip(" \u2502\u256d\u256e\u2570\u256f\u2500") for line in help_text.splitlines()]
        reason = next((line for line in lines if "rror" in line or "No such" in line), lines[-1] if lines else "")
        return f"mlark repo backup is not available yet ({reason.strip()[:160]})"

    def version(self) -> str:
        text = self._run_quiet(mlark_command() + ["--version"])
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parents[2], check=False).stdout.strip()
        found = re.search(r"\d+\.\d+[^\s]*", text)
        return f"mlark {found.group(0) if found else '?'}" + (f" (commit {commit})" if commit else "")

    def env(self) -> dict[str, str]:
        return {"MLARK_PASSWORD": PASSWORD, "XDG_CACHE_HOME": str(self.state / "cache"),
                "MLARK_CACHE": str(self.state / "cache")}

    def _api(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "bench.repo.mlark_api", *args]

    def init(self, repo: Path) -> list[Step]:
        if self.via_api:
            return [Step(self._api("init", str(repo)), self.env(), cwd=str(_ROOT))]
        return [Step(mlark_command() + ["repo", "init", "--repo", str(repo)], self.env())]

    def backup(self, repo: Path, source: Path, label: str) -> Step:
        if self.via_api:
            return Step(self._api("backup", str(repo), str(source)), self.env(), cwd=str(_ROOT))
        return Step(mlark_command() + ["repo", "backup", "--repo", str(repo), str(source), "-o", "json"], self.env())

    def restore(self, repo: Path, source: Path, target: Path) -> Step:
        if self.via_api:
            return Step(self._api("restore", str(repo), str(target)), self.env(), cwd=str(_ROOT))
        return Step(mlark_command() + ["repo", "restore", "--repo", str(repo), "latest", "--target", str(target),
                                       "-o", "json"], self.env())

    def backup_summary(self, stdout: str) -> dict[str, object]:
        try:
            data = json.loads(stdout[stdout.index("{") : stdout.rindex("}") + 1])
        except ValueError:
            return {}
        return {key: value for key, value in data.items() if isinstance(value, (int, float, str))}


_ROOT = Path(__file__).resolve().parents[2]

TOOLS: dict[str, type[Tool]] = {"restic": Restic, "borg": Borg, "kopia": Kopia, "mlark": Mlark}
