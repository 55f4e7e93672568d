"""Build (once) and locate the binaries of the local control plane."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlark.dev.paths import cache_root
from mlark.dev.process import DevEnvironmentError

TOOLCHAIN_DIR = Path(__file__).resolve().parent
KUBERNETES_VERSION = "v1.37.2"
ETCD_VERSION = "v3.6.16"
KWOK_VERSION = "v0.8.0"


@dataclass(frozen=True)
class Component:
    """One wrapper module and the commands it builds."""

    name: str
    version: str
    packages: tuple[str, ...]
    ldflags: str = "-s -w"

    @property
    def module_dir(self) -> Path:
        return TOOLCHAIN_DIR / self.name

    def digest(self) -> str:
        content = hashlib.sha256()
        for file_name in ("go.mod", "go.sum"):
            content.update((self.module_dir / file_name).read_bytes())
        return content.hexdigest()[:12]

    @property
    def bin_dir(self) -> Path:
        return cache_root() / "bin" / f"{self.name}-{self.version}-{self.digest()}"


def _kubernetes_ldflags() -> str:
    major, minor = KUBERNETES_VERSION.lstrip("v").split(".")[:2]
    variables = {
        "gitVersion": KUBERNETES_VERSION,
        "gitMajor": major,
        "gitMinor": minor,
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
    }
    flags = " ".join(f"-X k8s.io/component-base/version.{key}={value}" for key, value in variables.items())
    return f"-s -w {flags}"


KUBERNETES = Component(
    "kube",
    KUBERNETES_VERSION,
    (
        "k8s.io/kubernetes/cmd/kube-apiserver",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-scheduler",
    ),
    _kubernetes_ldflags(),
)
ETCD = Component("etcd", ETCD_VERSION, ("mlark.dev/toolchain/etcd",))
KWOK = Component("kwok", KWOK_VERSION, ("sigs.k8s.io/kwok/cmd/kwok",))
ALL = (KUBERNETES, ETCD, KWOK)

# kwok from v0.8.0 needs its node and pod lifecycle stages passed explicitly; they ship in
# its module source, which the build has downloaded anyway.
KWOK_STAGE_DIRS = ("kustomize/stage/node/fast", "kustomize/stage/node/heartbeat-with-lease", "kustomize/stage/pod/fast")
# The kwok configuration kinds the pod simulator creates at run time, one CRD each.
KWOK_CRD_FILES = ("kwok.x-k8s.io_execs.yaml", "kwok.x-k8s.io_portforwards.yaml")


Progress = Callable[[str], None]
# First builds (empty Go module and build caches) on a 2-core machine, to tell the user how
# long the wait is; the Go module downloads are part of it.
EXPECTED_SECONDS = {"kube": 720, "etcd": 45, "kwok": 60}
REPORT_EVERY_SECONDS = 12.0


def binary(component: Component, command: str) -> Path:
    return component.bin_dir / command


def is_built(component: Component) -> bool:
    return (component.bin_dir / ".complete").exists()


def ensure_built(component: Component, log: Path | None = None, progress: Progress = lambda message: None,
                 position: str = "") -> Path:
    """Build component unless its cache entry is complete; safe against concurrent callers.
    While it builds, `progress` hears what is building, for how long so far, and the usual total."""
    if is_built(component):
        return component.bin_dir
    if shutil.which("go") is None:
        raise DevEnvironmentError("the Go toolchain (`go`) is needed to build the control plane and was not found on PATH")
    component.bin_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = component.bin_dir.parent / f".{component.name}.lock"
    with open(lock_path, "w") as lock:
        if not _try_lock(lock):
            progress(f"waiting for another process building {component.name} {component.version} (lock {lock_path})")
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not is_built(component):
            _build(component, log, progress, position)
    return component.bin_dir


def _try_lock(lock: object) -> bool:
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # type: ignore[arg-type]
        return True
    except BlockingIOError:
        return False


def _build(component: Component, log: Path | None, progress: Progress, position: str) -> None:
    staging = component.bin_dir.with_name(component.bin_dir.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    command = ["go", "build", "-trimpath", "-ldflags", component.ldflags, "-o", str(staging) + "/", *component.packages]
    started = time.monotonic()
    what = describe(component, position)
    expected = EXPECTED_SECONDS.get(component.name)
    progress(f"building {what}: usually about {_duration(expected)} the first time; later runs reuse the binaries"
             if expected else f"building {what}")
    _run_go(command, component, log, lambda elapsed: progress(build_message(what, elapsed, expected)))
    if component is KWOK:
        _write_kwok_manifests(staging, log)
    (staging / ".complete").write_text(f"built in {time.monotonic() - started:.0f}s\n")
    shutil.rmtree(component.bin_dir, ignore_errors=True)
    staging.rename(component.bin_dir)
    progress(f"built {what} in {_duration(time.monotonic() - started)}")


def describe(component: Component, position: str = "") -> str:
    """`kube v1.37.2 (kube-apiserver, kube-controller-manager, kube-scheduler; 1 of 3)`."""
    commands = ", ".join(package.rsplit("/", 1)[-1] for package in component.packages)
    return f"{component.name} {component.version} ({commands}{'; ' + position if position else ''})"


def build_message(what: str, elapsed: float, expected: float | None) -> str:
    """One progress line: what is building, time so far, and the expected total."""
    if expected is None:
        return f"building {what}: {_duration(elapsed)} so far"
    if elapsed <= expected:
        return f"building {what}: {_duration(elapsed)} of about {_duration(expected)}"
    return f"building {what}: {_duration(elapsed)}, longer than the usual {_duration(expected)} (a slower or busier machine)"


def _duration(seconds: float | None) -> str:
    total = int(seconds or 0)
    return f"{total // 60}m {total % 60:02d}s" if total >= 60 else f"{total}s"


def run_reporting(command: list[str], report: Callable[[float], None], *, cwd: Path | None = None,
                  env: dict[str, str] | None = None, every: float = REPORT_EVERY_SECONDS) -> subprocess.CompletedProcess[str]:
    """Run command to its end, capturing its output, and call report(seconds elapsed) every
    `every` seconds while it runs: a build of many minutes is never silent."""
    started = time.monotonic()
    with subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as running:
        while True:
            try:
                stdout, stderr = running.communicate(timeout=every)  # retried after a timeout, no output is lost
                break
            except subprocess.TimeoutExpired:
                report(time.monotonic() - started)
    return subprocess.CompletedProcess(command, running.returncode, stdout, stderr)


def _run_go(command: list[str], component: Component, log: Path | None,
            report: Callable[[float], None] = lambda elapsed: None) -> str:
    environment = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false"}
    result = run_reporting(command, report, cwd=component.module_dir, env=environment)
    if log is not None:
        with open(log, "a") as out:
            out.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}")
    if result.returncode != 0:
        tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
        raise DevEnvironmentError(f"building {component.name} {component.version} failed:\n{tail}")
    return result.stdout


def _write_kwok_manifests(target: Path, log: Path | None) -> None:
    module_dir = Path(_run_go(["go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok"], KWOK, log).strip())
    stages = [
        path
        for stage_dir in KWOK_STAGE_DIRS
        for path in sorted((module_dir / stage_dir).glob("*.yaml"))
        if path.name != "kustomization.yaml"
    ]
    crds = [module_dir / "kustomize/crd/bases" / name for name in KWOK_CRD_FILES]
    if not stages or not all(path.exists() for path in crds):
        raise DevEnvironmentError(f"kwok stage or CRD definitions missing in {module_dir}")
    _concatenate(stages, target / "stages.yaml")
    _concatenate(crds, target / "crds.yaml")


def _concatenate(paths: list[Path], target: Path) -> None:
    target.write_text("\n---\n".join(path.read_text().strip() for path in paths) + "\n")


def ensure_all(log: Path | None = None, progress: Progress = lambda message: None) -> dict[str, Path]:
    missing = [component for component in ALL if not is_built(component)]
    if missing:
        total = sum(EXPECTED_SECONDS.get(component.name, 0) for component in missing)
        progress(f"building the control plane once ({', '.join(c.name for c in missing)}): usually about "
                 f"{_duration(total)} in all on 2 cores; the binaries are cached for every later run")
    return {component.name: ensure_built(component, log, progress, _position(component, missing)) for component in ALL}


def _position(component: Component, missing: list[Component]) -> str:
    return f"{missing.index(component) + 1} of {len(missing)}" if component in missing else ""
