"""Options and plumbing shared by the commands: repository, cluster, errors, sizes."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from typing import TYPE_CHECKING

import typer

from mlark.cli.output import fail
from mlark.repo.errors import RepoError, UsageError

if TYPE_CHECKING:  # imported where used: each costs start-up time every command would pay
    from kubernetes.client import ApiClient

    from mlark.repo.backend import S3Credentials
    from mlark.repo.repository import Repository

# Exit codes of the CLI, one meaning each (scripts and CronJobs branch on them):
#   0 success · 1 other failure · 2 bad usage or input · 3-4, 10-18, 30-33 repository errors (mlark.repo.errors:
#   17 lock lost, 18 repository read-only, 30 invalid config, 31 storage misconfigured, 32 no S3 credentials,
#   33 restore target in the way) · 7 verification failed (`mlark verify`: at least one check failed)
#   8 partially failed (backup, restore) · 9 restore preflight blocked · 10 audit log tampered · 11 drill failed
#   20 Kubernetes API error · 130 interrupted. 10 and 11 still mean two things each (the design issue ends that).
VERIFY_FAILED_EXIT = 7

REPO = typer.Option("", "--repo", "-r", envvar="MLARK_REPOSITORY", show_envvar=True,
                    help="Repository: a local path or s3:http://HOST:PORT/BUCKET/PREFIX.")
PASSWORD_FILE = typer.Option(None, "--password-file", envvar="MLARK_PASSWORD_FILE", show_envvar=True,
                             help="File holding the password (else MLARK_PASSWORD, else a prompt).")
KUBECONFIG = typer.Option(None, "--kubeconfig", envvar="KUBECONFIG", show_envvar=True,
                          help="Kubeconfig file of the cluster (default: ~/.kube/config).")
CONTEXT = typer.Option(None, "--context", help="Kubeconfig context to use (default: the current one).")


@contextmanager
def errors() -> Iterator[None]:
    """Map every expected failure to one clear line and a non-zero exit code."""
    try:
        yield
    except RepoError as exc:
        raise fail(str(exc), exc.exit_code) from None
    except KeyboardInterrupt:
        raise fail("interrupted", 130) from None
    except Exception as exc:
        code = _exit_code(exc)
        if code is None:
            raise
        raise fail(str(exc), code) from None


def _exit_code(error: Exception) -> int | None:
    """The exit code of an expected failure, None for a bug (which keeps its traceback)."""
    from mlark.dev.process import DevEnvironmentError
    from mlark.kube.errors import KubeError
    from mlark.plan.loader import PlanError
    from mlark.restore.planner import PlanError as RestorePlanError
    from mlark.restore.records import RecordNotFound
    from mlark.restorepoint.store import RestorePointNotFound

    if isinstance(error, (PlanError, RestorePointNotFound, RecordNotFound, RestorePlanError)):
        return 2
    if isinstance(error, KubeError):
        return 20
    if isinstance(error, DevEnvironmentError):
        return 1
    return None


def password(password_file: Path | None, *, confirm: bool = False, env: str = "MLARK_PASSWORD") -> str:
    if password_file is not None:
        try:
            return password_file.read_text().rstrip("\r\n")
        except OSError as exc:
            raise UsageError(f"cannot read password file {password_file}: {exc.strerror}") from exc
    if os.environ.get(env):
        return os.environ[env]
    if not sys.stdin.isatty():
        raise UsageError(f"no password: use --password-file, MLARK_PASSWORD_FILE or {env}")
    first = getpass.getpass("repository password: ")
    if confirm and getpass.getpass("repeat password: ") != first:
        raise UsageError("the passwords do not match")
    return first


def open_repository(repo: str, password_file: Path | None, creds: S3Credentials | None = None,
                    password_env: str = "MLARK_PASSWORD") -> Repository:
    from mlark.repo.backend import S3Credentials, open_backend
    from mlark.repo.repository import Repository

    if not repo:
        raise UsageError("no repository: give --repo, set MLARK_REPOSITORY, or name a target in the plan")
    backend = open_backend(repo, creds or S3Credentials())
    return Repository.open(backend, password(password_file, env=password_env))


def cluster(kubeconfig: Path | None, context: str | None) -> ApiClient:
    from mlark.kube.client import api_client

    return api_client(kubeconfig, context)


def size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
