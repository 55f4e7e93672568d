"""The `mlark repo` contract the benchmark and operators rely on, and its errors and exit codes."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from mlark.repo.backend import S3Credentials
from tests.repo.conftest import PASSWORD, cli, cli_json, tree_state


def test_backup_restore_contract_with_json(repo_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(500_000))
    first = cli_json("backup", "--repo", str(repo_path), str(src), "--tag", "nightly")
    for field in ("snapshot_id", "bytes_read", "bytes_new", "bytes_stored", "files_new", "files_changed",
                  "files_unchanged", "duration_seconds"):
        assert field in first
    assert first["files_new"] == 1 and first["bytes_read"] == 500_000
    streamed = cli_json("backup", "--repo", str(repo_path), "--stdin-name", "db/dump.sql", stdin=b"SELECT 1;\n")
    assert streamed["streams"] == 1
    restored = cli_json("restore", "--repo", str(repo_path), first["snapshot_id"], "--target", str(tmp_path / "out"))
    assert restored["files"] == 1 and tree_state(tmp_path / "out" / "data") == tree_state(src)
    dump = cli("cat", "--repo", str(repo_path), "latest", "db/dump.sql", check=True).stdout
    assert dump == b"SELECT 1;\n"
    listed = cli_json("snapshots", "--repo", str(repo_path), "--tag", "nightly")
    assert [s["id"] for s in listed] == [first["snapshot_id"]]
    assert cli_json("check", "--repo", str(repo_path), "--read-data")["ok"] is True


def test_repository_from_environment_and_password_file(repo_path: Path, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    env = {"MLARK_REPOSITORY": str(repo_path), "MLARK_PASSWORD": "", "MLARK_PASSWORD_FILE": str(secret)}
    assert cli_json("snapshots", env=env) == []


@pytest.mark.parametrize(("setup", "code", "message"), [
    ("wrong-password", 12, "wrong password"),
    ("missing", 10, "no repository at"),
    ("newer", 11, "newer than this mlark supports"),
    ("no-password", 2, "no password"),
])
def test_bad_input_gets_one_clear_message_and_exit_code(repo_path: Path, tmp_path: Path, setup: str, code: int, message: str) -> None:
    target, env = str(repo_path), {}
    if setup == "wrong-password":
        env = {"MLARK_PASSWORD": "not it"}
    elif setup == "missing":
        target = str(tmp_path / "nowhere")
    elif setup == "newer":
        config = json.loads((repo_path / "config").read_text())
        (repo_path / "config").write_text(json.dumps({**config, "version": 99, "new_field": 1}))
    elif setup == "no-password":
        env = {"MLARK_PASSWORD": ""}
    result = cli("snapshots", "--repo", target, env=env)
    assert result.returncode == code
    err = result.stderr.decode()
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "nowhere").exists()


def test_init_refuses_an_existing_repository(repo_path: Path) -> None:
    result = cli("init", "--repo", str(repo_path))
    assert result.returncode == 10 and "already exists" in result.stderr.decode()


def test_unreachable_s3_endpoint_fails_clearly(tmp_path: Path) -> None:
    env = {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y", "AWS_REGION": "us-east-1"}
    result = cli("snapshots", "--repo", "s3:http://127.0.0.1:9/bucket/prefix", env=env)
    assert result.returncode == 15
    assert "cannot reach S3 endpoint" in result.stderr.decode()


@pytest.mark.s3
def test_forbidden_s3_credentials_fail_clearly(s3_service: object, s3_bucket: str) -> None:
    endpoint = s3_service.endpoint  # type: ignore[attr-defined]
    env = {"AWS_ACCESS_KEY_ID": "wrong", "AWS_SECRET_ACCESS_KEY": "wrong", "AWS_REGION": "us-east-1"}
    result = cli("init", "--repo", f"s3:{endpoint}/{s3_bucket}/r", env=env)
    assert result.returncode == 14 and "S3 denied" in result.stderr.decode()


def test_restore_of_damaged_data_exits_with_damage_code(repo_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "weights.bin").write_bytes(os.urandom(200_000))
    cli_json("backup", "--repo", str(repo_path), str(src))
    pack = max((p for p in (repo_path / "data").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
    data = bytearray(pack.read_bytes())  # the data pack; trees live in their own small pack
    data[100] ^= 0xFF
    pack.write_bytes(bytes(data))
    result = cli("restore", "--repo", str(repo_path), "latest", "--target", str(tmp_path / "out"))
    assert result.returncode == 3 and "data/weights.bin" in result.stderr.decode()
    assert cli("check", "--repo", str(repo_path), "--read-data").returncode == 3


def test_keys_add_list_passwd_remove(repo_path: Path, tmp_path: Path) -> None:
    new = tmp_path / "new"
    new.write_text("second password")
    added = cli_json("key", "add", "--repo", str(repo_path), "--new-password-file", str(new))
    keys = cli_json("key", "list", "--repo", str(repo_path))
    assert len(keys) == 2 and sum(k["current"] for k in keys) == 1
    assert cli_json("snapshots", "--repo", str(repo_path), env={"MLARK_PASSWORD": "second password"}) == []
    cli_json("key", "remove", "--repo", str(repo_path), added["id"][:10])
    assert cli("snapshots", "--repo", str(repo_path), env={"MLARK_PASSWORD": "second password"}).returncode == 12
    newest = tmp_path / "newest"
    newest.write_text("third")
    cli_json("key", "passwd", "--repo", str(repo_path), "--new-password-file", str(newest))
    assert cli("snapshots", "--repo", str(repo_path)).returncode == 12
    assert cli_json("snapshots", "--repo", str(repo_path), env={"MLARK_PASSWORD": "third"}) == []


def test_s3_credentials_type_is_plain() -> None:
    assert S3Credentials().access_key is None


def test_backup_and_restore_draw_a_progress_bar_on_a_terminal(repo_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(3_000_000))
    env = {**os.environ, "MLARK_PASSWORD": PASSWORD, "TERM": "xterm", "COLUMNS": "120"}
    for args in (["backup", "--repo", str(repo_path), str(src)],
                 ["restore", "--repo", str(repo_path), "latest", "--target", str(tmp_path / "out")]):
        leader, follower = pty.openpty()
        try:
            done = subprocess.run([sys.executable, "-m", "mlark", "repo", *args], stdout=subprocess.PIPE,
                                  stderr=follower, env=env, timeout=120)
        finally:
            os.close(follower)
        drawn = b""
        try:
            while chunk := os.read(leader, 65536):
                drawn += chunk
        except OSError:
            pass  # the terminal is closed once everything is read
        os.close(leader)
        assert done.returncode == 0, drawn.decode(errors="replace")
        assert args[0].encode() in drawn  # the bar's label, drawn on the terminal (stderr)
    assert tree_state(tmp_path / "out" / "data") == tree_state(src)
