"""`mlark restore ...`: bring a restore point back — create (or dry-run), list, describe, logs."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from pydantic import ValidationError

from mlark.cli.backup import PLAN_FILE, _repository
from mlark.cli.common import CONTEXT, KUBECONFIG, PASSWORD_FILE, REPO, cluster, errors, size
from mlark.cli.output import OUTPUT_OPTION, OutputFormat, console, emit_machine, fail, print_table
from mlark.restore.options import Exclusion, ExistingPolicy, RestoreOptions, Scope, Transform
from mlark.restore.summary import RestoreResult
from mlark.restorepoint.models import Phase

app = typer.Typer(help="Restore: bring a restore point back, whole or in part, here or on another cluster.",
                  no_args_is_help=True)
PARTIALLY_FAILED_EXIT = 8
PREFLIGHT_BLOCKED_EXIT = 9
USAGE_EXIT = 2


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    pairs = {}
    for value in values:
        source, sep, target = value.partition("=")
        if not sep or not source or not target:
            raise fail(f"{flag} {value!r}: write SOURCE=TARGET", USAGE_EXIT)
        pairs[source] = target
    return pairs


def _exclusion(text: str) -> Exclusion:
    """[NAMESPACE:]Kind[.group][/name,name] — e.g. Deployment.apps/model-catalog,model-catalog-postgres."""
    namespace, _, rest = text.rpartition(":")
    kind_group, _, names = rest.partition("/")
    kind, _, group = kind_group.partition(".")
    if not kind or not kind[0].isupper():
        raise fail(f"--exclude {text!r}: write [NAMESPACE:]Kind[.group][/NAME,...], e.g. Deployment.apps/model-catalog", USAGE_EXIT)
    return Exclusion(group=group, kind=kind, names=[n for n in names.split(",") if n], namespaces=[namespace] if namespace else [])


def _transforms(path: Path | None) -> list[Transform]:
    if path is None:
        return []
    try:
        documents = yaml.safe_load(path.read_text()) or []
    except (OSError, yaml.YAMLError) as error:
        raise fail(f"--transform-file {path}: {error}", USAGE_EXIT) from None
    try:
        return [Transform.model_validate(item) for item in documents]
    except (ValidationError, TypeError) as error:
        raise fail(f"--transform-file {path}: {error}", USAGE_EXIT) from None


def _options(reference: str, namespaces: list[str], kinds: list[str], names: list[str], selector: str | None,
             namespace_mapping: list[str], storage_class_mapping: list[str], exclude: list[str], transform_file: Path | None,
             existing: ExistingPolicy) -> RestoreOptions:
    try:
        return RestoreOptions(
            restore_point=reference,
            scope=Scope(namespaces=namespaces, kinds=kinds, names=names, label_selector=selector),  # type: ignore[arg-type]
            namespace_mapping=_pairs(namespace_mapping, "--namespace-mapping"),
            storage_class_mapping=_pairs(storage_class_mapping, "--storage-class-mapping"),
            exclude=[_exclusion(item) for item in exclude], transforms=_transforms(transform_file), existing=existing,
        )
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise fail(f"invalid restore options: {problems}", USAGE_EXIT) from None


@app.command()
def create(
    reference: str = typer.Option(..., "--from-backup", "-b", help="Restore point id (unique prefix) or `latest`."),
    plan_file: Path | None = PLAN_FILE, repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
    kubeconfig: Path | None = KUBECONFIG, context: str | None = CONTEXT,
    namespace: list[str] = typer.Option([], "--namespace", "-n", help="Restore only these source namespaces (globs)."),
    kind: list[str] = typer.Option([], "--kind", help="Restore only these kinds (Kind or Kind.group)."),
    name: list[str] = typer.Option([], "--name", help="Restore only objects with these names (globs)."),
    selector: str | None = typer.Option(None, "--selector", "-l", help="Restore only objects matching this label selector."),
    namespace_mapping: list[str] = typer.Option([], "--namespace-mapping", help="SOURCE=TARGET (repeatable)."),
    storage_class_mapping: list[str] = typer.Option([], "--storage-class-mapping", help="CAPTURED=TARGET (repeatable)."),
    exclude: list[str] = typer.Option([], "--exclude", help="Leave out NS:Kind.group/NAME,NAME (NS:, .group and /NAMES optional; repeatable)."),
    transform_file: Path | None = typer.Option(None, "--transform-file", help="YAML list of {group, kind, names, patch: RFC 6902}."),
    existing: ExistingPolicy = typer.Option(ExistingPolicy.skip, "--existing", help="An object that exists: skip, update or fail."),
    without_operators: bool = typer.Option(False, "--without-operators", help=(
        "The target runs no operator for the captured custom resources: restore what operators would render "
        "(an InferenceService's Deployment, a Notebook's StatefulSet) as captured.")),
    dry_run: bool = typer.Option(False, "--dry-run", help="Plan and preflight only; change nothing."),
    force: bool = typer.Option(False, "--force", help="Go on despite blocking preflight findings."),
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Restore a restore point into this cluster (or another: --kubeconfig/--context).

    Order: CRDs, namespaces, RBAC, Secrets and ConfigMaps, PVCs and their data, databases
    from their dumps, workloads, custom resources. A preflight first checks that the target
    has what the restore needs and stops, changing nothing, on a blocking finding.

    Exit codes: 0 Completed, 8 PartiallyFailed, 9 preflight blocked, 2 bad options.

    Example, the seed's restore (skip what exists, leave the platform's Model Catalog alone):

    mlark restore create --from-backup latest --plan plan.yaml --exclude rhoai-model-registries:PersistentVolumeClaim/model-catalog-postgres --exclude rhoai-model-registries:Deployment.apps/model-catalog,model-catalog-postgres
    """
    from mlark.restore import records
    from mlark.restore.run import PreflightBlocked, execute, prepare

    options = _options(reference, namespace, kind, name, selector, namespace_mapping, storage_class_mapping, exclude,
                       transform_file, existing)
    with errors():
        api = cluster(kubeconfig, context)
        repository = _repository(repo, password_file, plan_file, None, kubeconfig, context)
        prepared, objects = prepare(api, repository, reference, options, reconciled=[] if without_operators else None)
        if dry_run:
            _show_plan(prepared, output)
            return
        try:
            with console.status("restoring") as status:
                result = execute(api, repository, prepared, objects, target=context or api.configuration.host, force=force,
                                 progress=lambda message: status.update(message))
        except PreflightBlocked as blocked:
            raise fail(str(blocked), PREFLIGHT_BLOCKED_EXIT) from None
        record_id = records.save(repository, records.RestoreRecord(options=options, result=result))
    if not emit_machine({"record": record_id, **result.model_dump(mode="json"), "rto_seconds": result.rto_seconds}, output):
        _print_result(record_id, result)
    if result.phase is not Phase.completed:
        raise typer.Exit(PARTIALLY_FAILED_EXIT)


def _show_plan(prepared, output: OutputFormat) -> None:  # type: ignore[no-untyped-def]
    if emit_machine(prepared.model_dump(mode="json", exclude={"facts"}), output):
        return
    print_table("restore plan", ["phase", "steps"], [(p.name.value, len(p.steps)) for p in prepared.plan.phases])
    print_table("preflight", ["severity", "finding", "subject", "message"],
                [(f.severity.value, f.code, f.subject, f.message) for f in prepared.findings])
    print_table("left out", ["object", "why"], [(str(s.ref), s.detail) for s in prepared.plan.skipped])


def _print_result(record_id: str, result: RestoreResult) -> None:
    counts = result.counts()
    print_table(None, ["", ""], [
        ("restore record", record_id[:12]), ("restore point", result.restore_point[:12]), ("phase", result.phase.value),
        ("objects", ", ".join(f"{count} {outcome}" for outcome, count in sorted(counts.items()))),
        ("data", ", ".join(f"{d.type} {d.subject}: {d.outcome.value}" for d in result.data if d.type in ("volume", "database", "artifact"))),
        ("duration (RTO)", f"{result.rto_seconds:.1f} s"),
    ])
    print_table("phases", ["phase", "seconds", "failed"], [(p.name.value, f"{p.seconds:.1f}", p.failed) for p in result.phases])
    for failure in result.failures():
        console.print(f"[red]failed[/red]: {getattr(failure, 'ref', None) or getattr(failure, 'subject', '')}: {failure.reason}", highlight=False)


@app.command("list")
def list_(plan_file: Path | None = PLAN_FILE, repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
          output: OutputFormat = OUTPUT_OPTION) -> None:
    """Restores done from this repository, oldest first, with their RTO."""
    from mlark.restore import records

    with errors():
        found = records.records(_repository(repo, password_file, plan_file, None, None, None))
    rows = [{"id": sid, **summary} for sid, _, summary in found]
    if emit_machine(rows, output):
        return
    print_table("restores", ["id", "started", "restore point", "target", "phase", "RTO s", "failures"],
                [(r["id"][:12], r.get("started", "")[:19], r.get("restore_point", "")[:12], r.get("target", ""), r.get("phase"),
                  r.get("rto_seconds"), r.get("failures")) for r in rows])


@app.command()
def describe(reference: str = typer.Argument(..., help="Restore record id (prefix) or `latest`."), plan_file: Path | None = PLAN_FILE,
             repo: str = REPO, password_file: Path | None = PASSWORD_FILE, output: OutputFormat = OUTPUT_OPTION) -> None:
    """One restore: options, outcome per phase and per data item, RTO."""
    from mlark.restore import records

    with errors():
        record_id, record = records.load(_repository(repo, password_file, plan_file, None, None, None), reference)
    if emit_machine({"id": record_id, **record.model_dump(mode="json")}, output):
        return
    _print_result(record_id, record.result)


@app.command()
def logs(reference: str = typer.Argument(..., help="Restore record id (prefix) or `latest`."), plan_file: Path | None = PLAN_FILE,
         repo: str = REPO, password_file: Path | None = PASSWORD_FILE, output: OutputFormat = OUTPUT_OPTION) -> None:
    """Every object and data item of one restore: created, updated, skipped or failed, and why."""
    from mlark.restore import records

    with errors():
        _, record = records.load(_repository(repo, password_file, plan_file, None, None, None), reference)
    result = record.result
    rows = [(o.outcome.value, str(o.ref), o.reason) for o in result.objects]
    rows += [(d.outcome.value, f"{d.type} {d.subject}", d.reason or size(d.bytes)) for d in result.data]
    rows += [("left out", str(s.ref), s.detail) for s in result.planned_skips]
    if emit_machine([{"outcome": a, "item": b, "reason": c} for a, b, c in rows], output):
        return
    print_table("restore log", ["outcome", "item", "reason"], rows)
