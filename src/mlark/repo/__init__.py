"""The repository: a deduplicating, compressed, encrypted store for restore points.

It knows nothing about Kubernetes. The format is specified in
docs/repository-format.md; this module is the public API the rest of mlark uses:

    repo = open_repository("s3:http://127.0.0.1:17333/bucket/prefix", password)
    summary = backup(repo, streams=[StreamSource("db/dump.sql", pg_dump_chunks)])
    for part in read_file(repo, summary.snapshot_id, "db/dump.sql"): ...
"""

from mlark.repo.archiver import BackupOptions, StreamSource
from mlark.repo.backend import Backend, S3Credentials, open_backend
from mlark.repo.backup import backup
from mlark.repo.checker import check
from mlark.repo.crypto import KdfParams
from mlark.repo.errors import RepoError
from mlark.repo.maintenance import forget, prune, rebuild_index, stats
from mlark.repo.models import BackupSummary, CheckReport, ObjectLock, RestoreSummary, Snapshot
from mlark.repo.progress import Progress
from mlark.repo.repository import Repository
from mlark.repo.restorer import read_file, restore
from mlark.repo.retention import Policy


def open_repository(url: str, password: str, creds: S3Credentials | None = None) -> Repository:
    """Open the repository at a URL (local path or s3:ENDPOINT/BUCKET/PREFIX)."""
    return Repository.open(open_backend(url, creds), password)


def init_repository(url: str, password: str, creds: S3Credentials | None = None, **options: object) -> Repository:
    """Create a repository at a URL; options as Repository.init (kdf, chunker, pack_size, object_lock)."""
    return Repository.init(open_backend(url, creds), password, **options)  # type: ignore[arg-type]


__all__ = [
    "Backend", "BackupOptions", "BackupSummary", "CheckReport", "KdfParams", "ObjectLock", "Policy", "Progress",
    "RepoError", "Repository", "RestoreSummary", "S3Credentials", "Snapshot", "StreamSource", "backup", "check",
    "forget", "init_repository", "open_backend", "open_repository", "prune", "read_file", "rebuild_index", "restore",
    "stats",
]
