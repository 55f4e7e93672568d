"""`mlark backup ...`: restore points of a plan — create, list, describe, logs, delete."""

from __future__ import annotations

from pathlib import Path

import typer

from mlark.cli.common import CONTEXT, KUBECONFIG, PASSWORD_FILE, REPO, cluster, errors, open_repository, size
from mlark.cli.output import OUTPUT_OPTION, OutputFormat, console, emit_machine, print_table
from mlark.plan.loader import load_plan
from mlark.repo.repository import Repository
from mlark.restorepoint.models import Phase, RestorePoint
from mlark.restorepoint.store import delete as delete_restore_point
from mlark.restorepoint.store import load_manifest, resolve, summaries

app = typer.Typer(help="Restore points: one consistent capture of everything a plan selects.", no_args_is_help=True)
PARTIALLY_FAILED_EXIT = 8  # documented: scripts tell a partial restore point from a good one
FAILED_EXIT = 1
PLAN_OPTION = typer.Option(..., "--plan", "-p", help="The plan's YAML file.")
TARGET_OPTION = typer.Option(None, "--target", help="Which of the plan's targets to write to (default: the first).")
REFERENCE = typer.Argument(..., help="Restore point id (a unique prefix is enough) or `latest`.")
PLAN_FILE = typer.Option(None, "--plan", "-p", help="A plan file: its target names the repository (instead of --repo).")


def _repository(repo: str, password_file: Path | None, plan_file: Path | None, target: str | None, kubeconfig: Path | None,
                context: str | None) -> Repository:
    """--repo if given, else the plan's target (its password from where the plan says)."""
    if repo or plan_file is None:
        return open_repository(repo, password_file)
    from mlark.targets import open_target

    plan = load_plan(plan_file)
    return open_target(plan, target, lambda: cluster(kubeconfig, context))


@app.command()
def create(plan_file: Path = PLAN_OPTION, target: str | None = TARGET_OPTION, repo: str = REPO,
           password_file: Path | None = PASSWORD_FILE, kubeconfig: Path | None = KUBECONFIG, context: str | None = CONTEXT,
           output: OutputFormat = OUTPUT_OPTION) -> None:
    """Capture everything the plan selects into one restore point.

    Objects of every kind (custom resources included) and the cluster-scoped objects they
    need, volume data, application-consistent database dumps and the model artifacts the
    InferenceServices point at; a second backup stores only what changed.

    Exit codes: 0 Completed, 8 PartiallyFailed (see `mlark backup logs`), other non-zero: failed.

    Example: mlark backup create --plan examples/plans/rhoai-demo.yaml
    """
    from mlark.backup.run import create_backup

    with errors():
        plan = load_plan(plan_file)
        api = cluster(kubeconfig, context)
        repository = _repository(repo, password_file, plan_file, target, kubeconfig, context)
        with console.status(f"backing up plan {plan.name}") as status:
            result = create_backup(api, plan, repository, progress=lambda message: status.update(message))
    manifest = result.restore_point
    if not emit_machine({"snapshot_id": result.snapshot_id, "restore_point": manifest, "repository": result.repository}, output):
        _print_summary(result.snapshot_id, manifest)
        for item in manifest.results:
            if item.status in ("failed", "warning"):
                console.print(f"[{'red' if item.status == 'failed' else 'yellow'}]{item.status}[/]: {item.item} {item.message}",
                              highlight=False)
    if manifest.phase is Phase.partially_failed:
        raise typer.Exit(PARTIALLY_FAILED_EXIT)
    if manifest.phase is Phase.failed:
        raise typer.Exit(FAILED_EXIT)


def _print_summary(snapshot_id: str, manifest: RestorePoint) -> None:
    stats = manifest.stats
    window = manifest.consistency_window
    rows = [
        ("restore point", snapshot_id[:12]), ("plan", manifest.plan), ("phase", manifest.phase.value),
        ("namespaces", ", ".join(manifest.namespaces)),
        ("objects", stats.objects), ("volumes", stats.volumes), ("database dumps", stats.databases),
        ("model artifacts", stats.artifacts), ("read", size(stats.bytes_read)), ("new", size(stats.bytes_new)),
        ("stored", size(stats.bytes_stored)), ("duration", f"{stats.duration_seconds:.1f} s"),
        ("consistency window", f"{window.start:%H:%M:%S} - {window.end:%H:%M:%S}" if window.start and window.end else "-"),
        ("warnings", len(manifest.warnings)),
    ]
    print_table(None, ["", ""], rows)


@app.command("list")
def list_(plan_file: Path | None = PLAN_FILE, repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
          output: OutputFormat = OUTPUT_OPTION) -> None:
    """Restore points in the repository (of the plan, with --plan), oldest first."""
    with errors():
        plan = load_plan(plan_file).name if plan_file else None
        found = summaries(_repository(repo, password_file, plan_file, None, None, None), plan)
    rows = [{"id": sid, "time": snap.time, **summary.model_dump(mode="json")} for sid, snap, summary in found]
    if emit_machine(rows, output):
        return
    print_table("restore points", ["id", "plan", "created", "phase", "objects", "volumes", "dumps", "artifacts", "new", "warnings"],
                [(sid[:12], s.plan, f"{s.created:%Y-%m-%d %H:%M:%S}", s.phase.value, s.stats.objects, s.stats.volumes,
                  s.stats.databases, s.stats.artifacts, size(snap.summary.bytes_new if snap.summary else 0), s.warnings)
                 for sid, snap, s in found])


@app.command()
def describe(reference: str = REFERENCE, plan_file: Path | None = PLAN_FILE, repo: str = REPO,
             password_file: Path | None = PASSWORD_FILE, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Everything one restore point holds: objects by kind, volumes, dumps, artifacts, graph."""
    with errors():
        repository = _repository(repo, password_file, plan_file, None, None, None)
        snapshot_id, snapshot = resolve(repository, reference)
        manifest = load_manifest(repository, snapshot_id)
    if snapshot.summary is not None:
        manifest.stats = manifest.stats.model_copy(update={"bytes_read": snapshot.summary.bytes_read,
                                                           "bytes_new": snapshot.summary.bytes_new,
                                                           "bytes_stored": snapshot.summary.bytes_stored})
    if emit_machine({"id": snapshot_id, **manifest.model_dump(mode="json")}, output):
        return
    _print_summary(snapshot_id, manifest)
    print_table("objects", ["kind", "count"], sorted(manifest.object_counts.items()))
    print_table("volumes", ["namespace", "claim", "class", "size"], [(v.namespace, v.claim, v.storage_class, size(v.bytes)) for v in manifest.volumes])
    print_table("database dumps", ["namespace", "workload", "engine", "tool", "size"],
                [(d.namespace, d.workload.name if d.workload else d.pod, d.engine, d.tool, size(d.bytes)) for d in manifest.databases])
    print_table("model artifacts", ["uri", "size", "etag"], [(a.uri, size(a.size), a.etag) for a in manifest.artifacts])
    unresolved = [edge for edge in manifest.edges if not edge.resolved]
    console.print(f"application graph: {len(manifest.edges)} references, {len(unresolved)} unresolved", highlight=False)


@app.command()
def logs(reference: str = REFERENCE, plan_file: Path | None = PLAN_FILE, repo: str = REPO,
         password_file: Path | None = PASSWORD_FILE, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Per-item log of a backup: every capture, hook, skip, warning and failure."""
    with errors():
        repository = _repository(repo, password_file, plan_file, None, None, None)
        snapshot_id, _ = resolve(repository, reference)
        manifest = load_manifest(repository, snapshot_id)
    if emit_machine(manifest.results, output):
        return
    print_table(f"restore point {snapshot_id[:12]}", ["status", "item", "message"],
                [(r.status, r.item, r.message) for r in manifest.results])


@app.command()
def delete(reference: str = REFERENCE, plan_file: Path | None = PLAN_FILE, repo: str = REPO,
           password_file: Path | None = PASSWORD_FILE, yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")) -> None:
    """Forget one restore point; `mlark repo prune` then frees the data no other one uses."""
    with errors():
        repository = _repository(repo, password_file, plan_file, None, None, None)
        snapshot_id, _ = resolve(repository, reference)
        if not yes and not typer.confirm(f"forget restore point {snapshot_id[:12]}?"):
            raise typer.Exit(1)
        delete_restore_point(repository, snapshot_id)
    console.print(f"forgot restore point {snapshot_id[:12]}; run `mlark repo prune` to free its data", highlight=False)
