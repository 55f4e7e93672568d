"""Every command that takes `-o json` / `-o yaml` prints output that parses, on a repository
with restore points made by a real backup on the local cluster (and a restore, a drill and
an audit log beside them).

The commands are enumerated from the typer app as `mlark` builds it, so a new command is run
here without anyone adding it: with no arguments unless RECIPES gives some. A command that
cannot run in this fixture belongs in NOT_RUN, with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from kubernetes import client
from kubernetes.client import ApiClient

from mlark.cli.main import COMMANDS, SUBCOMMANDS, build
from mlark.dev.cluster import kubeconfig_path

pytestmark = pytest.mark.cluster
PASSWORD = "output-test-password"
FORMATS = ("json", "yaml")


def machine_commands() -> list[str]:
    """`group sub` of every command that has an --output option, as `mlark` builds them."""
    found: list[str] = []
    for name in [*SUBCOMMANDS, *COMMANDS]:
        root = typer.main.get_command(build(name))
        found += [" ".join(path) for path, command in _walk(root.commands[name], [name])  # type: ignore[attr-defined]
                  if any("--output" in getattr(param, "opts", []) for param in command.params)]
    return found


def _walk(command: Any, path: list[str]) -> Iterator[tuple[list[str], Any]]:
    if getattr(command, "commands", None):
        for name, sub in command.commands.items():
            yield from _walk(sub, [*path, name])
    else:
        yield path, command


@dataclass
class Workspace:
    """A namespace on the primary cluster, its plan, a repository with restore points of it."""

    directory: Path
    namespace: str
    plan: Path
    repository: Path
    audit: Path
    made_namespaces: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(kubeconfig_path("primary")), "MLARK_REPOSITORY": str(self.repository),
                "MLARK_PASSWORD": PASSWORD, "MLARK_NEW_PASSWORD": PASSWORD, "MLARK_AUDIT_DIR": str(self.audit),
                "COLUMNS": "200"}

    def mlark(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "mlark", *args], capture_output=True, text=True, env={**self.env(), **env},
                              timeout=600, stdin=subprocess.DEVNULL)

    def ok(self, *args: str, **env: str) -> str:
        result = self.mlark(*args, **env)
        assert result.returncode == 0, f"mlark {' '.join(args)} exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        return result.stdout

    def in_cluster_plan(self) -> Path:
        """The plan with an S3 target, as a scheduled drill (a pod in the cluster) needs; only rendered here."""
        path = self.directory / "in-cluster-plan.yaml"
        write_plan(path, self.namespace, "s3:http://127.0.0.1:9/backups/output-test")
        return path

    def target(self, tag: str) -> str:
        """A namespace name for a restore of this test (deleted at the end)."""
        name = f"{self.namespace}-{tag}"
        self.made_namespaces.append(name)
        return name

    def sandbox_suffix(self, tag: str) -> str:
        """A drill's sandbox suffix (the drill tears its sandbox down; deleted at the end anyway)."""
        self.made_namespaces.append(f"{self.namespace}-{tag}")
        return f"-{tag}"


Args = Callable[[Workspace, str], list[str]]
Check = Callable[[Any, Workspace], bool]


def _new_key(ws: Workspace, fmt: str) -> list[str]:
    """A key to remove: its own password, so the key that opens the repository is never it."""
    return [json.loads(ws.ok("repo", "key", "add", "-o", "json", MLARK_NEW_PASSWORD="a-key-to-remove"))["id"]]


# Arguments (given the workspace and the format) and one field checked, per command.
RECIPES: dict[str, tuple[Args, Check]] = {
    "plan validate": (lambda ws, fmt: [str(ws.plan)], lambda out, ws: out["metadata"]["name"] == "output-test"),
    "plan show": (lambda ws, fmt: [str(ws.plan)], lambda out, ws: ws.namespace in out["namespaces"] and out["objects"]["ConfigMap"] >= 1),
    "backup create": (lambda ws, fmt: ["--plan", str(ws.plan)], lambda out, ws: out["restore_point"]["phase"] == "Completed"),
    "backup list": (lambda ws, fmt: [], lambda out, ws: isinstance(out[-1]["time"], str) and out[-1]["plan"] == "output-test"),
    "backup describe": (lambda ws, fmt: ["latest"], lambda out, ws: out["namespaces"] == [ws.namespace]),
    "backup logs": (lambda ws, fmt: ["latest"], lambda out, ws: any(item["status"] == "skipped" and "left-out" in item["item"] for item in out)),
    "restore create": (lambda ws, fmt: ["--from-backup", "latest", "--namespace-mapping", f"{ws.namespace}={ws.target('r' + fmt)}"],
                       lambda out, ws: out["phase"] == "Completed"),
    "restore list": (lambda ws, fmt: [], lambda out, ws: out[-1]["phase"] == "Completed"),
    "restore describe": (lambda ws, fmt: ["latest"], lambda out, ws: out["result"]["phase"] == "Completed"),
    "restore logs": (lambda ws, fmt: ["latest"], lambda out, ws: any(line["outcome"] == "created" for line in out)),
    "drill run": (lambda ws, fmt: ["--plan", str(ws.plan), "--sandbox-suffix", ws.sandbox_suffix("d" + fmt)],
                  lambda out, ws: out["outcome"] == "passed"),
    "drill list": (lambda ws, fmt: [], lambda out, ws: out[-1]["plan"] == "output-test"),
    "drill describe": (lambda ws, fmt: ["latest"], lambda out, ws: out["plan"] == "output-test"),
    "drill schedule": (lambda ws, fmt: ["--plan", str(ws.in_cluster_plan()), "--cron", "0 4 * * 0", "--image", "registry.invalid/mlark:test",
                                        "--password-secret", "mlark-repository"],
                       lambda out, ws: "CronJob" in {obj["kind"] for obj in out}),
    "audit verify": (lambda ws, fmt: [], lambda out, ws: out["intact"] is True and out["entries"] >= 1),
    "audit show": (lambda ws, fmt: ["latest"], lambda out, ws: out["type"] == "drill"),
    "repo init": (lambda ws, fmt: ["--repo", str(ws.directory / f"another-{fmt}")], lambda out, ws: out["version"] >= 1),
    "repo backup": (lambda ws, fmt: [str(ws.plan)], lambda out, ws: out["files_new"] + out["files_unchanged"] == 1),
    "repo snapshots": (lambda ws, fmt: [], lambda out, ws: isinstance(out[0]["time"], str)),
    "repo restore": (lambda ws, fmt: ["latest", "--target", str(ws.directory / f"restored-{fmt}")], lambda out, ws: out["files"] >= 1),
    "repo ls": (lambda ws, fmt: ["latest"], lambda out, ws: len(out) >= 1 and "path" in out[0]),
    "repo check": (lambda ws, fmt: [], lambda out, ws: out["errors"] == []),
    "repo forget": (lambda ws, fmt: ["--keep-last", "1000", "--dry-run"], lambda out, ws: out["remove"] == []),
    "repo prune": (lambda ws, fmt: ["--dry-run"], lambda out, ws: isinstance(out["packs_deleted"], int)),
    "repo stats": (lambda ws, fmt: [], lambda out, ws: out["snapshots"] >= 1),
    "repo key list": (lambda ws, fmt: [], lambda out, ws: any(key["current"] for key in out)),
    "repo key add": (lambda ws, fmt: [], lambda out, ws: len(out["id"]) >= 8),
    "repo key remove": (_new_key, lambda out, ws: len(out["removed"]) >= 8),
    "repo key passwd": (lambda ws, fmt: [], lambda out, ws: len(out["id"]) >= 8),
    "repo index rebuild": (lambda ws, fmt: [], lambda out, ws: out["packs"] >= 1 and out["problems"] == []),
    "dev env up": (lambda ws, fmt: ["--cluster", "primary"], lambda out, ws: any(c["name"] == "primary" and c["running"] for c in out["clusters"])),
    "dev env status": (lambda ws, fmt: [], lambda out, ws: any(c["name"] == "primary" for c in out["clusters"])),
    "dev scenario deploy": (lambda ws, fmt: ["rhoai-demo"], lambda out, ws: "rhoai-demo" in out["namespaces"]),
    "dev scenario show": (lambda ws, fmt: ["rhoai-demo", "--no-predict"], lambda out, ws: len(out["objects"]) >= 1),
    "verify": (lambda ws, fmt: ["--from-backup", "latest"], lambda out, ws: out["passed"] is True and out["namespaces"] == {ws.namespace: ws.namespace}),
}
# Commands with an --output option that this fixture cannot run, and why.
NOT_RUN: dict[str, str] = {}
# `drill schedule -o yaml` prints manifests for `kubectl apply -f -`: one YAML document per object.
MULTI_DOCUMENT_YAML = {"drill schedule"}


def write_plan(path: Path, namespace: str, repository: Path | str) -> None:
    path.write_text(yaml.safe_dump({
        "apiVersion": "mlark.io/v1alpha1", "kind": "Plan", "metadata": {"name": "output-test"},
        "spec": {"namespaces": {"names": [namespace]},
                 "resources": {"exclude": [{"group": "", "kind": "ConfigMap", "names": ["kube-root-ca.crt", "left-out"]}]},
                 "targets": [{"name": "local", "repository": str(repository), "passwordFrom": {"env": "MLARK_PASSWORD"}}]},
    }))


@pytest.fixture(scope="module")
def workspace(kube_primary: ApiClient, scenario: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    directory = tmp_path_factory.mktemp("machine-output")
    namespace = f"t-out-{uuid.uuid4().hex[:6]}"
    core = client.CoreV1Api(kube_primary)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace, labels={"mlark.dev/test": "true"})))
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings"),
                                                                    data={"threshold": "0.7"}))
    core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="left-out")))  # a skip in the log
    core.create_namespaced_secret(namespace, client.V1Secret(metadata=client.V1ObjectMeta(name="token"), string_data={"token": "t"}))
    ws = Workspace(directory=directory, namespace=namespace, plan=directory / "plan.yaml", repository=directory / "repository",
                   audit=directory / "audit")
    write_plan(ws.plan, namespace, ws.repository)
    ws.ok("repo", "init")
    ws.ok("backup", "create", "--plan", str(ws.plan))  # the restore points every command below reads
    ws.ok("restore", "create", "--from-backup", "latest", "--namespace-mapping", f"{namespace}={ws.target('r0')}")
    ws.ok("drill", "run", "--plan", str(ws.plan), "--sandbox-suffix", ws.sandbox_suffix("d0"))
    yield ws
    for name in [namespace, *ws.made_namespaces]:
        try:
            core.delete_namespace(name, propagation_policy="Background")
        except client.ApiException as error:
            assert error.status == 404, error


def test_every_machine_command_is_known_here() -> None:
    """The enumeration finds the commands (a broken walk would make the test below vacuous)."""
    commands = machine_commands()
    assert {"backup list", "repo key list", "verify", "dev env status"} <= set(commands)
    assert not set(NOT_RUN) - set(commands), "NOT_RUN names a command that does not exist (any more)"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("command", [command for command in machine_commands() if command not in NOT_RUN])
def test_machine_output_parses(workspace: Workspace, command: str, fmt: str) -> None:
    args, check = RECIPES.get(command, (lambda ws, f: [], lambda out, ws: out is not None))
    result = workspace.mlark(*command.split(), *args(workspace, fmt), "-o", fmt)
    assert result.returncode == 0, f"mlark {command} -o {fmt} exited {result.returncode}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr, result.stderr
    if fmt == "json":
        parsed = json.loads(result.stdout)
    elif command in MULTI_DOCUMENT_YAML:
        parsed = list(yaml.safe_load_all(result.stdout))
    else:
        parsed = yaml.safe_load(result.stdout)
    assert check(parsed, workspace), f"mlark {command} -o {fmt}: unexpected content:\n{result.stdout[:3000]}"
