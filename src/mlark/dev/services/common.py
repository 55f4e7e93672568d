"""What the database launchers share: the endpoint model, secrets, socket paths, ownership."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import secrets
import shutil
import stat
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel, computed_field

from mlark.dev.paths import state_root
from mlark.dev.process import DevEnvironmentError, port_in_use, stop_daemon

# Unix socket paths are limited to 107 bytes; deeper paths (e.g. a PV directory) fall back
# to a short name in the temporary directory derived from the daemon name.
_SOCKET_PATH_LIMIT = 100


class DatabaseEndpoint(BaseModel):
    """How to reach one database instance (shared or per pod)."""

    engine: str  # postgresql | mysql | redis
    host: str = "127.0.0.1"
    port: int
    user: str | None = None
    password: str | None = None
    database: str | None = None
    # The superuser, when it differs from `user` (dumps and checks need it).
    admin_user: str | None = None
    admin_password: str | None = None
    daemon: str
    data_dir: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def dsn(self) -> str:
        auth = ""
        if self.user:
            auth = quote(self.user, safe="")
        if self.password:
            auth += ":" + quote(self.password, safe="")
        if auth:
            auth += "@"
        if self.engine == "redis":
            return f"redis://{auth}{self.host}:{self.port}/{self.database or '0'}"
        return f"{self.engine}://{auth}{self.host}:{self.port}/{self.database or ''}"


def record_ports(name: str, ports: list[int]) -> None:
    """Remember the ports daemon `name` listens on, so that stop() can wait for them."""
    (run_dir() / f"{name}.ports.json").write_text(json.dumps(ports))


def stop(name: str, timeout: float = 30.0) -> bool:
    """Stop daemon `name` (any service started here); True if it was running.

    Returns only once its recorded ports are closed: a multi-threaded server (SeaweedFS)
    is reported gone a moment before its last listener closes, and an immediate restart
    would find its own ports taken.
    """
    stopped = stop_daemon(name, timeout=timeout)
    record = run_dir() / f"{name}.ports.json"
    if record.exists():
        ports = [int(port) for port in json.loads(record.read_text())]
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline and any(port_in_use(port) for port in ports):
            time.sleep(0.1)
        record.unlink(missing_ok=True)
    return stopped


def run_dir() -> Path:
    path = state_root() / "run"
    path.mkdir(parents=True, exist_ok=True)
    return path


def socket_path(name: str, suffix: str = "sock", *, reserve: int = 0) -> Path:
    """Where daemon `name` puts its Unix socket; `reserve` counts characters the server
    appends itself (PostgreSQL takes a directory and adds /.s.PGSQL.<port>)."""
    preferred = run_dir() / f"{name}.{suffix}"
    if len(str(preferred)) + reserve <= _SOCKET_PATH_LIMIT:
        return preferred
    digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"mlark-{digest}.{suffix}"


def stored_secret(component: str, key: str) -> str:
    """A random secret generated once per environment, kept (0600) in the state directory."""
    path = state_root() / component / "credentials.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    values: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    if key not in values:
        values[key] = secrets.token_urlsafe(18)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(values, out)
    return values[key]


def service_user(preferred: str) -> str | None:
    """The OS user a server must run as: `preferred` when we are root (some servers refuse
    root), else None, meaning the current user."""
    if os.geteuid() != 0:
        return None
    pwd.getpwnam(preferred)  # raises KeyError with the name when the account is missing
    return preferred


def as_user(user: str | None) -> list[str]:
    """argv prefix that runs a command as `user` with that user's own groups.

    subprocess's `user=` changes only the uid: the process would keep root's gid 0, and on
    directories whose group is root the group bits (not the others' search bit) then apply.
    setpriv (util-linux) sets uid, gid and groups and execs, so the pid stays the server's.
    """
    if user is None:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise DevEnvironmentError("setpriv: binary not found (Debian package util-linux); needed to run servers as their account")
    return [setpriv, f"--reuid={user}", f"--regid={user}", "--init-groups", "--"]


def chown_tree(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)
    if not path.is_dir():
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in [*dirs, *files]:
            os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def grant_traverse(path: Path, user: str | None) -> None:
    """Let `user` reach `path`: add search permission (x, never read) for others on each
    ancestor that lacks it. Needed when the state root sits under a 0700 home directory and
    the server must run as a dedicated account."""
    if user is None:
        return
    uid = pwd.getpwnam(user).pw_uid
    for ancestor in [path, *path.parents]:
        info = ancestor.stat()
        if info.st_uid == uid or info.st_mode & stat.S_IXOTH:
            continue
        os.chmod(ancestor, stat.S_IMODE(info.st_mode) | stat.S_IXOTH)


# A first start that dies half-way (killed, port taken) leaves a data directory that looks
# initialised but lacks the database and users the container env asks for. This marker,
# present only while mlark initialises a directory, tells the next start to begin again.
# Directories initialised elsewhere (restored from a backup) never carry it.
INITIALISING_MARKER = ".mlark-initialising"


def begin_initialisation(data_dir: Path) -> None:
    (data_dir / INITIALISING_MARKER).touch()


def end_initialisation(data_dir: Path) -> None:
    (data_dir / INITIALISING_MARKER).unlink(missing_ok=True)


def discard_interrupted_initialisation(data_dir: Path) -> None:
    """Empty data_dir if a previous initialisation of it never finished."""
    if not (data_dir / INITIALISING_MARKER).exists():
        return
    for entry in data_dir.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
