"""Messages that name the real problem, each with its own exit code (issue 11, defect 4)."""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.repo.conftest import cli, cli_json

# The documented exit codes (docs/repository.md), as scripts see them.
DAMAGED, USAGE, WRONG_PASSWORD = 3, 2, 12
INVALID_CONFIG, STORAGE_MISCONFIGURED, NO_CREDENTIALS, RESTORE_TARGET = 30, 31, 32, 33


def _one_line(result: Any, code: int, *needles: str) -> str:
    err = result.stderr.decode()
    assert result.returncode == code, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    for needle in needles:
        assert needle in err, err
    return err


def test_exit_codes_are_the_documented_ones() -> None:
    from mlark.repo import errors

    assert (errors.InvalidConfig.exit_code, errors.StorageMisconfigured.exit_code, errors.NoCredentials.exit_code,
            errors.RestoreTargetError.exit_code) == (INVALID_CONFIG, STORAGE_MISCONFIGURED, NO_CREDENTIALS, RESTORE_TARGET)
    codes = [cls.exit_code for cls in vars(errors).values()
             if isinstance(cls, type) and issubclass(cls, errors.RepoError) and "exit_code" in vars(cls)]
    # Only the pairs documented as sharing a code share one.
    shared = {code for code in codes if codes.count(code) > 1}
    assert shared <= {errors.RepositoryNotFound.exit_code, errors.Unreachable.exit_code, errors.StorageError.exit_code}


def _key_file(repo_path: Path) -> Path:
    (key,) = (repo_path / "keys").iterdir()
    return key


@pytest.mark.parametrize("damage", ["flipped-secret", "truncated-secret", "not-json", "missing-field"])
def test_damaged_key_file_is_damage_not_a_wrong_password(repo_path: Path, damage: str) -> None:
    key = _key_file(repo_path)
    data = json.loads(key.read_text())
    if damage == "flipped-secret":
        sealed = bytearray(base64.b64decode(data["data"]))
        sealed[20] ^= 0x01
        data["data"] = base64.b64encode(bytes(sealed)).decode()
        key.write_text(json.dumps(data))
    elif damage == "truncated-secret":
        data["data"] = data["data"][:40]
        key.write_text(json.dumps(data))
    elif damage == "not-json":
        key.write_bytes(key.read_bytes()[:30])
    else:
        del data["kdf"]
        key.write_text(json.dumps(data))
    err = _one_line(cli("snapshots", "--repo", str(repo_path)), DAMAGED, "key file", "damaged")
    assert "wrong password" not in err


def test_wrong_password_on_an_intact_key_is_still_a_wrong_password(repo_path: Path) -> None:
    _one_line(cli("snapshots", "--repo", str(repo_path), env={"MLARK_PASSWORD": "nope"}), WRONG_PASSWORD,
              "wrong password")


@pytest.mark.parametrize(("change", "needle"), [
    ({"chunker": {"min_size": 0, "avg_size": 1024, "max_size": 4096}}, "min_size"),
    ({"chunker": {"min_size": 8192, "avg_size": 4096, "max_size": 16384}}, "chunker"),
    ({"pack_size": -5}, "pack_size"),
    ({"version": "1"}, "version"),
    ({"id": "not hex"}, "id"),
])
def test_invalid_config_values_are_named_when_read(repo_path: Path, change: dict[str, Any], needle: str) -> None:
    config = json.loads((repo_path / "config").read_text())
    (repo_path / "config").write_text(json.dumps({**config, **change}))
    err = _one_line(cli("snapshots", "--repo", str(repo_path)), INVALID_CONFIG, "invalid repository config", needle)
    assert "newer" not in err and "wrong password" not in err


def test_config_that_is_not_json_is_invalid(repo_path: Path) -> None:
    (repo_path / "config").write_bytes(b'{"format": "mlark-repo')
    _one_line(cli("snapshots", "--repo", str(repo_path)), INVALID_CONFIG, "invalid repository config")


def test_check_after_a_lost_index_points_to_index_rebuild(repo_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(400_000))
    cli_json("backup", "--repo", str(repo_path), str(src))
    shutil.rmtree(repo_path / "index")
    (repo_path / "index").mkdir()
    checked = cli("check", "--repo", str(repo_path))
    err = checked.stderr.decode()
    assert checked.returncode == DAMAGED
    assert "index rebuild" in err and "prune removes it" not in err
    cli_json("index", "rebuild", "--repo", str(repo_path))
    assert cli_json("check", "--repo", str(repo_path), "--read-data")["ok"] is True


def test_leftover_pack_of_an_interrupted_backup_is_still_named_as_such(repo_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "data"
    src.mkdir()
    (src / "a.bin").write_bytes(os.urandom(400_000))
    cli_json("backup", "--repo", str(repo_path), str(src))
    # An interrupted backup: its packs are stored, no index or snapshot names them.
    (src / "b.bin").write_bytes(os.urandom(400_000))
    cli_json("backup", "--repo", str(repo_path), str(src))
    newest_snapshot = max((repo_path / "snapshots").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    newest_snapshot.unlink()
    newest_index = max((repo_path / "index").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    newest_index.unlink()
    report = cli_json("check", "--repo", str(repo_path))
    assert report["ok"] is True
    assert report["warnings"] and all("prune removes it" in w["message"] for w in report["warnings"])


@pytest.mark.parametrize("url", ["s3:http://[::1/b/p", "s3:http://127.0.0.1:99999/b/p", "s3:http://127.0.0.1:port/b/p",
                                 "s3:https://:9000/b", "s3:http://a b/b/p"])
def test_malformed_endpoint_is_bad_usage(url: str) -> None:
    err = _one_line(cli("snapshots", "--repo", url), USAGE, "endpoint")
    assert "attempts" not in err and "unreachable" not in err


def _no_s3_env(tmp_path: Path) -> dict[str, str]:
    return {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
            "HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_REGION": "us-east-1"}


def test_dns_failure_fails_at_once_as_misconfigured(tmp_path: Path) -> None:
    env = {**_no_s3_env(tmp_path), "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}
    result = cli("snapshots", "--repo", "s3:http://no-such-host.invalid:9000/bucket/p", env=env)
    err = _one_line(result, STORAGE_MISCONFIGURED, "no-such-host.invalid")
    assert "attempts" not in err and "unreachable" not in err


@pytest.mark.s3
def test_tls_error_fails_at_once_as_misconfigured(s3_service: Any, s3_bucket: str) -> None:
    plain = s3_service.endpoint  # http://127.0.0.1:PORT
    env = {"AWS_ACCESS_KEY_ID": s3_service.access_key, "AWS_SECRET_ACCESS_KEY": s3_service.secret_key,
           "AWS_REGION": s3_service.region}
    result = cli("snapshots", "--repo", f"s3:{plain.replace('http://', 'https://')}/{s3_bucket}/r", env=env)
    err = _one_line(result, STORAGE_MISCONFIGURED, "TLS")
    assert "attempts" not in err


@pytest.mark.s3
def test_request_botocore_refuses_fails_at_once(s3_service: Any) -> None:
    env = {"AWS_ACCESS_KEY_ID": s3_service.access_key, "AWS_SECRET_ACCESS_KEY": s3_service.secret_key,
           "AWS_REGION": s3_service.region}
    # Not a valid bucket name: botocore refuses to send it, the same way every time.
    result = cli("snapshots", "--repo", f"s3:{s3_service.endpoint}/Bad_Bucket!/r", env=env)
    err = _one_line(result, STORAGE_MISCONFIGURED, "Bad_Bucket!")
    assert "attempts" not in err and "unreachable" not in err


@pytest.mark.parametrize(("status", "code", "transient"), [
    (400, "InvalidArgument", False), (405, "MethodNotAllowed", False), (409, "BucketAlreadyExists", False),
    (429, "TooManyRequests", True), (503, "SlowDown", True), (400, "RequestTimeout", True), (500, "InternalError", True),
])
def test_s3_answers_are_retried_only_when_retrying_can_help(status: int, code: str, transient: bool) -> None:
    import botocore.exceptions as bexc

    from mlark.repo.backend.s3 import _classify
    from mlark.repo.errors import StorageMisconfigured, TransientError

    answer = bexc.ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")
    assert isinstance(_classify(answer, "get x"), TransientError if transient else StorageMisconfigured)


@pytest.mark.s3
def test_missing_s3_credentials_have_their_own_code(s3_service: Any, s3_bucket: str, tmp_path: Path) -> None:
    result = cli("snapshots", "--repo", f"s3:{s3_service.endpoint}/{s3_bucket}/r", env=_no_s3_env(tmp_path))
    err = _one_line(result, NO_CREDENTIALS, "no S3 credentials")
    assert "denied" not in err


def test_directory_in_place_of_a_file_is_a_target_problem(repo_path: Path, tmp_path: Path) -> None:
    src = tmp_path / "data"
    (src / "sub").mkdir(parents=True)
    (src / "weights.bin").write_bytes(os.urandom(5_000_000))
    (src / "small.txt").write_text("small\n")
    (src / "sub" / "x.txt").write_text("x\n")
    cli_json("backup", "--repo", str(repo_path), str(src))
    target = tmp_path / "out"
    (target / "data" / "weights.bin" / "keep").mkdir(parents=True)  # obstacles: directories where files go
    (target / "data" / "small.txt").mkdir()
    (target / "data" / "sub").parent.mkdir(exist_ok=True)
    (target / "data" / "sub").write_text("a file where a directory goes\n")
    result = cli("restore", "--repo", str(repo_path), "latest", "--target", str(target))
    err = result.stderr.decode()
    assert result.returncode == RESTORE_TARGET, err
    assert "Traceback" not in err and "damaged" not in err
    assert "weights.bin" in err and "small.txt" in err and "sub" in err
    # Nothing of the user's is removed to make room.
    assert (target / "data" / "weights.bin" / "keep").is_dir()
    assert (target / "data" / "sub").read_text() == "a file where a directory goes\n"
