"""`mlark repo ...`: the repository commands, a thin shell over mlark.repo.

Exit codes come from the engine's exceptions (see mlark.repo.errors).
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from mlark.cli.common import PASSWORD_FILE, REPO, errors as _errors, open_repository, password as _password
from mlark.cli.common import size as _size
from mlark.cli.output import OUTPUT_OPTION, OutputFormat, emit_machine, error_console, print_table
from mlark.repo import keys as keyfiles
from mlark.repo import maintenance, retention
from mlark.repo.archiver import BackupOptions, StreamSource
from mlark.repo.backend import S3Credentials, open_backend
from mlark.repo.backup import backup as run_backup
from mlark.repo.checker import check as run_check
from mlark.repo.compress import AUTO
from mlark.repo.crypto import KdfParams
from mlark.repo.errors import DamagedData, RestoreTargetError, UsageError
from mlark.repo.locks import unlock as run_unlock
from mlark.repo.models import ObjectLock, SnapshotInfo
from mlark.repo.progress import NoProgress, Progress
from mlark.repo.repository import Repository
from mlark.repo.restorer import find_node, read_file, restore as run_restore, walk

app = typer.Typer(help="Work with a repository of restore points (deduplicated, compressed, encrypted).", no_args_is_help=True)
key_app = typer.Typer(help="Manage the passwords (keys) that open the repository.", no_args_is_help=True)
index_app = typer.Typer(help="Repair the repository index.", no_args_is_help=True)
app.add_typer(key_app, name="key")
app.add_typer(index_app, name="index")

T = TypeVar("T")

S3_REGION = typer.Option(None, "--s3-region", help="S3 region (default: AWS_REGION / AWS_DEFAULT_REGION).")
S3_KEY = typer.Option(None, "--s3-access-key", help="S3 access key (default: AWS_ACCESS_KEY_ID).")
S3_SECRET = typer.Option(None, "--s3-secret-key", help="S3 secret key (default: AWS_SECRET_ACCESS_KEY).")
LOCK_WAIT = typer.Option(0.0, "--lock-wait", help="Seconds to wait for a conflicting lock before giving up.")
NO_LOCK = typer.Option(False, "--no-lock", help="Take no lock (a read-only repository; also automatic when it refuses writes).")


# --- plumbing -----------------------------------------------------------------------


def _creds(region: str | None, key: str | None, secret: str | None) -> S3Credentials:
    return S3Credentials(region=region, access_key=key, secret_key=secret)


def _open(repo: str, password_file: Path | None, region: str | None = None, key: str | None = None,
          secret: str | None = None, *, no_lock: bool = False) -> Repository:
    opened = open_repository(repo, password_file, _creds(region, key, secret))
    opened.no_lock = no_lock
    opened.notify = lambda message: error_console.print(f"note: {message}", highlight=False)
    return opened


class _Bar:
    """Engine progress drawn as a rich bar on stderr."""

    def __init__(self) -> None:
        # Imported here: 40 ms of every repo command's start-up, and only a terminal draws a bar.
        from rich.progress import BarColumn, DownloadColumn, Progress as RichBar, TextColumn, TimeRemainingColumn, TransferSpeedColumn

        self.bar = RichBar(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                           TimeRemainingColumn(), console=error_console, transient=True)
        self.task: Any = None

    def begin(self, phase: str, total: int | None) -> None:
        self.bar.start()
        self.task = self.bar.add_task(phase, total=total)

    def advance(self, amount: int) -> None:
        self.bar.advance(self.task, amount)

    def end(self) -> None:
        self.bar.stop()


def _progress(output: OutputFormat) -> Progress:
    return _Bar() if output is OutputFormat.table and error_console.is_terminal else NoProgress()


def _show(value: Any, output: OutputFormat, table: Callable[[], None]) -> None:
    if not emit_machine(value, output):
        table()


def _warn(messages: list[str]) -> None:
    for message in messages:
        error_console.print(f"warning: {message}", highlight=False)


def _pairs(title: str, values: dict[str, Any]) -> None:
    print_table(title, ["", ""], [(k, v) for k, v in values.items()])


# --- commands -----------------------------------------------------------------------


@app.command()
def init(
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
    plan_file: Path | None = typer.Option(None, "--plan", "-p", help="Create the repositories of the plan's targets, "
                                          "each with the password its passwordFrom names (instead of --repo)."),
    target: str | None = typer.Option(None, "--target", help="With --plan: only this target (default: every target)."),
    object_lock_days: int = typer.Option(0, "--object-lock-days", help="S3 only: retain every object written for N days."),
    object_lock_mode: str = typer.Option("COMPLIANCE", "--object-lock-mode", help="GOVERNANCE or COMPLIANCE."),
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Create a new, empty repository.

    Example: mlark repo init --plan plan.yaml (the repository and password of its targets)
    """
    with _errors():
        lock = ObjectLock(mode=object_lock_mode.upper(), days=object_lock_days) if object_lock_days else None  # type: ignore[arg-type]
        creds = _creds(s3_region, s3_access_key, s3_secret_key)
        if plan_file is not None:
            if repo:
                raise UsageError("give --repo (or MLARK_REPOSITORY) or --plan, not both: with --plan the repository is the target's")
            results = [_init(url, secret, creds, lock) | {"target": name} for name, url, secret in _plan_targets(plan_file, target)]
            _show(results, output, lambda: [error_console.print(f"created repository {r['id'][:8]} at {r['location']} "
                                                                f"(target {r['target']})") for r in results])
            return
        result = _init(repo, lambda: _password(password_file, confirm=True), creds, lock)
        _show(result, output, lambda: error_console.print(f"created repository {result['id'][:8]} at {result['location']}"))


def _init(url: str, secret: Callable[[], str], creds: S3Credentials, lock: ObjectLock | None) -> dict[str, Any]:
    backend = open_backend(url, creds)
    created = Repository.init(backend, secret(), kdf=KdfParams(), object_lock=lock)
    return {"id": created.config.id, "location": backend.location(), "version": created.config.version}


def _plan_targets(plan_file: Path, name: str | None) -> list[tuple[str, str, Callable[[], str]]]:
    """(target name, repository URL, its password) of the plan's targets, or of the one named."""
    from mlark.cli.common import cluster
    from mlark.plan.loader import load_plan
    from mlark.targets import choose_target, target_password

    plan = load_plan(plan_file)
    chosen = [choose_target(plan, name)] if name else plan.spec.targets

    def password_of(target: Any) -> Callable[[], str]:
        return lambda: target_password(target, lambda: cluster(None, None), plan.metadata.namespace)

    return [(target.name, target.repository, password_of(target)) for target in chosen]


def _parse_meta(items: list[str]) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--meta wants KEY=VALUE, not {item!r}")
        pairs[key] = value
    return pairs


@app.command()
def backup(
    paths: list[Path] = typer.Argument(None, help="Files and directories to back up."),
    stdin_name: str | None = typer.Option(None, "--stdin-name", help="Also back up standard input under this name."),
    tag: list[str] = typer.Option([], "--tag", help="Tag the snapshot (repeatable)."),
    host: str | None = typer.Option(None, "--host", help="Host name recorded (default: this host)."),
    parent: str | None = typer.Option(None, "--parent", help="Parent snapshot (default: latest of the same sources; 'none' for none)."),
    compression: str = typer.Option("auto", "--compression", help="auto (zstd level 1), a zstd level 1-19, or off."),
    meta: list[str] = typer.Option([], "--meta", help="Free-form KEY=VALUE metadata (repeatable)."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, lock_wait: float = LOCK_WAIT,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Back up paths (and/or standard input as a named stream) into a new snapshot."""
    with _errors():
        level = _level(compression)
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key)
        streams = [StreamSource(stdin_name, sys.stdin.buffer)] if stdin_name else []
        options = BackupOptions(tags=tag, host=host, parent=parent, metadata=_parse_meta(meta), compression=level,
                                lock_wait=lock_wait)
        summary = run_backup(opened, [str(p) for p in paths or []], streams, options, _progress(output))
        for warning in summary.warnings:
            error_console.print(f"warning: {warning}", highlight=False)
        _show(summary, output, lambda: _pairs(f"snapshot {summary.snapshot_id[:8]} saved", {
            "files new / changed / unchanged": f"{summary.files_new} / {summary.files_changed} / {summary.files_unchanged}",
            "read": _size(summary.bytes_read), "new": _size(summary.bytes_new), "stored": _size(summary.bytes_stored),
            "total": _size(summary.total_size), "duration": f"{summary.duration_seconds:.2f} s",
        }))


def _level(text: str) -> int | None:
    if text in ("auto", "off"):
        return AUTO if text == "auto" else None
    if not text.isdigit() or not 1 <= int(text) <= 19:
        raise UsageError(f"--compression wants auto, off or 1-19, not {text!r}")
    return int(text)


def _info(name: str, snapshot: Any) -> SnapshotInfo:
    return SnapshotInfo(id=name, short_id=name[:8], time=snapshot.time, host=snapshot.host, paths=snapshot.paths,
                        streams=snapshot.streams, tags=snapshot.tags, parent=snapshot.parent,
                        total_size=snapshot.summary.total_size if snapshot.summary else None, metadata=snapshot.metadata)


@app.command()
def snapshots(
    tag: list[str] = typer.Option([], "--tag", help="Only snapshots with one of these tags."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, no_lock: bool = NO_LOCK,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """List snapshots, oldest first."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key, no_lock=no_lock)
        with opened.lock("snapshots", reading=True):
            infos = [_info(n, s) for n, s in opened.snapshots() if not tag or set(tag) & set(s.tags)]
        _warn(opened.skipped_snapshots())
        _show(infos, output, lambda: print_table(None, ["id", "time", "host", "tags", "sources", "size"], [
            (i.short_id, f"{i.time:%Y-%m-%d %H:%M:%S}", i.host, ",".join(i.tags), " ".join(i.paths + i.streams),
             _size(i.total_size or 0)) for i in infos]))


@app.command()
def restore(
    snapshot: str = typer.Argument(..., help="Snapshot ID, unique prefix, or 'latest'."),
    target: Path = typer.Option(..., "--target", "-t", help="Directory to restore into."),
    path: str = typer.Option("", "--path", help="Restore only this file or directory of the snapshot."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, lock_wait: float = LOCK_WAIT, no_lock: bool = NO_LOCK,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Restore a snapshot into a directory."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key, no_lock=no_lock)
        summary = run_restore(opened, snapshot, str(target), path=path, progress=_progress(output), lock_wait=lock_wait)
        _show(summary, output, lambda: _pairs(f"restored {summary.snapshot_id[:8]} to {summary.target}", {
            "files": summary.files, "dirs": summary.dirs, "symlinks": summary.symlinks, "hard links": summary.hardlinks,
            "FIFOs and devices": summary.special,
            "written": _size(summary.bytes_written), "duration": f"{summary.duration_seconds:.2f} s"}))
        _warn(summary.warnings)
        # Repository damage first: it is the graver news; the target's problems are listed either way.
        for item in summary.target_errors[0 if summary.damaged else 1:]:
            error_console.print(f"not written: {item}", highlight=False)
        if summary.damaged:
            for item in summary.damaged[1:]:
                error_console.print(f"damaged: {item}", highlight=False)
            raise DamagedData(f"{len(summary.damaged)} file(s) damaged and not restored: {summary.damaged[0]}")
        if summary.target_errors:
            raise RestoreTargetError(f"{len(summary.target_errors)} path(s) of the target are in the way and were "
                                     f"left as they are: {summary.target_errors[0]}")


@app.command()
def ls(
    snapshot: str = typer.Argument(..., help="Snapshot ID, unique prefix, or 'latest'."),
    path: str = typer.Argument("", help="Directory inside the snapshot."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, no_lock: bool = NO_LOCK,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """List the files of a snapshot, recursively."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key, no_lock=no_lock)
        with opened.lock("ls", reading=True):
            _, snap = opened.find_snapshot(snapshot)
            node = find_node(opened, snap.tree, path)
            prefix = path.strip("/")
            entries = [(f"{prefix}/{p}" if prefix else p, n) for p, n in walk(opened, node.subtree)] if node.subtree else [(prefix, node)]
        rows = [{"path": p, "type": n.type, "mode": oct(n.mode), "size": n.size,
                 "mtime": dt.datetime.fromtimestamp(n.mtime_ns / 1e9, dt.timezone.utc).isoformat()} for p, n in entries]
        _show(rows, output, lambda: print_table(None, ["type", "mode", "size", "mtime", "path"], [
            (r["type"], r["mode"], r["size"], r["mtime"][:19], r["path"]) for r in rows]))


@app.command()
def cat(
    snapshot: str = typer.Argument(..., help="Snapshot ID, unique prefix, or 'latest'."),
    path: str = typer.Argument(..., help="File or stream inside the snapshot."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, no_lock: bool = NO_LOCK,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
) -> None:
    """Write one file or stream of a snapshot to standard output."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key, no_lock=no_lock)
        out = sys.stdout.buffer
        with opened.lock("cat", reading=True):
            for part in read_file(opened, snapshot, path):
                out.write(part)
        out.flush()


@app.command()
def check(
    read_data: bool = typer.Option(False, "--read-data", help="Also read, decrypt and verify every blob."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, lock_wait: float = LOCK_WAIT, no_lock: bool = NO_LOCK,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Check the repository structure, and with --read-data every byte of it."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key, no_lock=no_lock)
        report = run_check(opened, read_data=read_data, progress=_progress(output), lock_wait=lock_wait)

        def table() -> None:
            for problem in report.warnings:
                error_console.print(f"warning: {problem.kind} {problem.object[:16]}: {problem.message}", highlight=False)
            for problem in report.errors:
                error_console.print(f"error: {problem.kind} {problem.object[:16]}: {problem.message}", highlight=False)
            _pairs("check " + ("passed" if report.ok else "FAILED"), {
                "snapshots": report.snapshots, "packs": report.packs, "blobs": report.blobs,
                "data read": _size(report.bytes_read) if read_data else "no (use --read-data)",
                "errors": len(report.errors), "warnings": len(report.warnings)})

        _show(report, output, table)
        if not report.ok:
            raise DamagedData(f"check found {len(report.errors)} error(s)")


@app.command()
def forget(
    snapshot_ids: list[str] = typer.Argument(None, help="Snapshot IDs or unique prefixes to remove (instead of keep rules)."),
    keep_last: int = typer.Option(0, "--keep-last"), keep_hourly: int = typer.Option(0, "--keep-hourly"),
    keep_daily: int = typer.Option(0, "--keep-daily"), keep_weekly: int = typer.Option(0, "--keep-weekly"),
    keep_monthly: int = typer.Option(0, "--keep-monthly"), keep_yearly: int = typer.Option(0, "--keep-yearly"),
    keep_within: str | None = typer.Option(None, "--keep-within", help="Keep snapshots this recent, e.g. 7d, 2w, 1y6m."),
    keep_tag: list[str] = typer.Option([], "--keep-tag", help="Keep snapshots with this tag."),
    tag: list[str] = typer.Option([], "--tag", help="Only consider snapshots with one of these tags."),
    host: str | None = typer.Option(None, "--host", help="Only consider snapshots of this host."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be removed."),
    then_prune: bool = typer.Option(False, "--prune", help="Prune after forgetting."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, lock_wait: float = LOCK_WAIT,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Remove the snapshots named, or those no keep rule keeps (per host and sources); data goes at the next prune."""
    with _errors():
        policy = retention.Policy(keep_last, keep_hourly, keep_daily, keep_weekly, keep_monthly, keep_yearly, keep_within, keep_tag)
        if snapshot_ids and (not policy.empty() or tag or host):
            raise UsageError("give snapshot IDs or keep rules (with --tag/--host), not both")
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key)
        if snapshot_ids:
            result = maintenance.forget_ids(opened, snapshot_ids, dry_run=dry_run, lock_wait=lock_wait)
        else:
            result = maintenance.forget(opened, policy, tags=tag, host=host, dry_run=dry_run, lock_wait=lock_wait)
        _warn(result.skipped)
        pruned = maintenance.prune(opened, lock_wait=lock_wait) if then_prune and not dry_run else None
        _warn(pruned.skipped if pruned else [])
        value: Any = {"forget": result, "prune": pruned} if pruned else result
        _show(value, output, lambda: print_table(None, ["snapshot", "action", "reasons"], [
            *((n[:8], "keep", ",".join(result.reasons[n])) for n in result.keep),
            *((n[:8], "would remove" if dry_run else "removed", "") for n in result.remove)]))


@app.command()
def prune(
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be deleted."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, lock_wait: float = LOCK_WAIT,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Delete data no snapshot uses. Safe to interrupt; refuses while another operation holds a lock."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key)
        result = maintenance.prune(opened, dry_run=dry_run, progress=_progress(output), lock_wait=lock_wait)
        _warn(result.skipped)
        _show(result, output, lambda: _pairs("prune" + (" (dry run)" if dry_run else ""), {
            "packs deleted": result.packs_deleted, "packs repacked": result.packs_repacked,
            "packs kept": result.packs_kept, "unindexed packs too young to delete": result.packs_too_young,
            "temporary files removed": result.temporary_files_removed, "freed": _size(result.bytes_freed)}))


@app.command()
def stats(
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Sizes: stored, unique raw data, and everything the snapshots would restore."""
    with _errors():
        result = maintenance.stats(_open(repo, password_file, s3_region, s3_access_key, s3_secret_key))
        _warn(result.skipped)
        _show(result, output, lambda: _pairs("repository", {
            "snapshots": result.snapshots, "packs": result.packs, "blobs": result.blobs,
            "stored": _size(result.stored_bytes), "unique data": _size(result.raw_bytes),
            "restore size": _size(result.restore_size), "compression": f"{result.compression_ratio}x",
            "deduplication": f"{result.dedup_ratio}x"}))


@app.command()
def unlock(
    remove_all: bool = typer.Option(False, "--remove-all", help="Remove every lock, also those of running operations (dangerous)."),
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Remove stale and unparsable locks; with --remove-all, every lock."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key)
        if remove_all:
            error_console.print("warning: --remove-all removes the locks of running operations too: a backup whose lock "
                                "is removed stops with exit 17, and a prune started meanwhile could delete its data", highlight=False)
        result = run_unlock(opened.backend, remove_all=remove_all)

        def table() -> None:
            for held in result.kept:
                error_console.print(f"still held: {held}", highlight=False)
            error_console.print(f"removed {len(result.removed)} lock(s) ({len(result.unparsable)} unparsable); "
                                f"{len(result.kept)} still held", highlight=False)

        _show(result, output, table)


@index_app.command("rebuild")
def index_rebuild(
    repo: str = REPO, password_file: Path | None = PASSWORD_FILE, lock_wait: float = LOCK_WAIT,
    s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
    output: OutputFormat = OUTPUT_OPTION,
) -> None:
    """Replace every index file by one rebuilt from the pack headers."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key)
        packs, problems = maintenance.rebuild_index(opened, progress=_progress(output), lock_wait=lock_wait)
        result = {"packs": packs, "problems": problems}
        _show(result, output, lambda: error_console.print(f"indexed {packs} packs; {len(problems)} unreadable"))
        if problems:
            raise DamagedData(problems[0])


def _new_password(new_password_file: Path | None) -> str:
    if new_password_file is not None:
        return _password(new_password_file)
    if os.environ.get("MLARK_NEW_PASSWORD"):
        return os.environ["MLARK_NEW_PASSWORD"]
    if not sys.stdin.isatty():
        raise UsageError("no new password: use --new-password-file or MLARK_NEW_PASSWORD")
    return _password(None, confirm=True)


NEW_PASSWORD_FILE = typer.Option(None, "--new-password-file", help="File holding the new password (else MLARK_NEW_PASSWORD, else a prompt).")


@key_app.command("list")
def key_list(repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
             s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
             output: OutputFormat = OUTPUT_OPTION) -> None:
    """List the keys (passwords) of the repository."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key)
        found = keyfiles.list_keys(opened.backend, opened.key_id)
        _show(found, output, lambda: print_table(None, ["", "id", "created", "host", "user"], [
            ("*" if k.current else "", k.id[:8], f"{k.created:%Y-%m-%d %H:%M:%S}", k.host, k.username) for k in found]))


@key_app.command("add")
def key_add(new_password_file: Path | None = NEW_PASSWORD_FILE, repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
            s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
            output: OutputFormat = OUTPUT_OPTION) -> None:
    """Add a password that also opens the repository."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key)
        made = keyfiles.make_key_file(opened.key, _new_password(new_password_file), opened.config.id, KdfParams())
        name = keyfiles.save_key_file(opened.backend, made)
        _show({"id": name}, output, lambda: error_console.print(f"added key {name[:8]}"))


@key_app.command("remove")
def key_remove(key_id: str = typer.Argument(..., help="ID or unique prefix of the key to remove."),
               repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
               s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
               output: OutputFormat = OUTPUT_OPTION) -> None:
    """Remove a key (not the one used to open the repository)."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key)
        keyfiles.remove_key(opened.backend, key_id, opened.key_id)
        _show({"removed": key_id}, output, lambda: error_console.print(f"removed key {key_id[:8]}"))


@key_app.command("passwd")
def key_passwd(new_password_file: Path | None = NEW_PASSWORD_FILE, repo: str = REPO, password_file: Path | None = PASSWORD_FILE,
               s3_region: str | None = S3_REGION, s3_access_key: str | None = S3_KEY, s3_secret_key: str | None = S3_SECRET,
               output: OutputFormat = OUTPUT_OPTION) -> None:
    """Change the password: add a key with the new one, then remove the current key."""
    with _errors():
        opened = _open(repo, password_file, s3_region, s3_access_key, s3_secret_key)
        made = keyfiles.make_key_file(opened.key, _new_password(new_password_file), opened.config.id, KdfParams())
        name = keyfiles.save_key_file(opened.backend, made)
        opened.backend.remove(keyfiles.Kind.keys, opened.key_id)
        _show({"id": name}, output, lambda: error_console.print(f"password changed; new key {name[:8]}"))
