"""The data services of the local environment, exercised for real."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pymysql
import pytest
from botocore.exceptions import ClientError

from mlark.dev.modelserver import (
    SEED_REQUEST,
    ModelServerAddress,
    ModelServerPorts,
    download_model,
    infer,
    publish_iris_model,
    start_mlserver,
    stop_mlserver,
)
from mlark.dev.process import DevEnvironmentError, free_port, require_free_ports
from mlark.dev.services.binaries import find_binary
from mlark.dev.services.common import DatabaseEndpoint, stop
from mlark.dev.services.environment import services_status
from mlark.dev.services.mariadb import start_mariadb
from mlark.dev.services.postgres import start_postgres
from mlark.dev.services.s3 import S3Endpoint


@pytest.mark.s3
def test_s3_put_get_roundtrip(s3_client: Any, s3_bucket: str) -> None:
    s3_client.put_object(Bucket=s3_bucket, Key="dir/hello.txt", Body=b"hello mlark")
    body = s3_client.get_object(Bucket=s3_bucket, Key="dir/hello.txt")["Body"].read()
    assert body == b"hello mlark"


@pytest.mark.s3
def test_s3_versioning_keeps_old_versions(s3_client: Any, s3_bucket: str) -> None:
    s3_client.put_bucket_versioning(Bucket=s3_bucket, VersioningConfiguration={"Status": "Enabled"})
    first = s3_client.put_object(Bucket=s3_bucket, Key="k", Body=b"one")["VersionId"]
    second = s3_client.put_object(Bucket=s3_bucket, Key="k", Body=b"two")["VersionId"]
    assert first != second
    old = s3_client.get_object(Bucket=s3_bucket, Key="k", VersionId=first)["Body"].read()
    assert old == b"one"
    assert s3_client.get_object(Bucket=s3_bucket, Key="k")["Body"].read() == b"two"


@pytest.mark.s3
def test_s3_object_lock_refuses_deleting_a_locked_version(s3_client: Any, s3_locked_bucket: str) -> None:
    lock = s3_client.get_object_lock_configuration(Bucket=s3_locked_bucket)
    assert lock["ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    version = s3_client.put_object(
        Bucket=s3_locked_bucket,
        Key="restore-point",
        Body=b"immutable",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate=until,
    )["VersionId"]
    with pytest.raises(ClientError) as refused:
        s3_client.delete_object(Bucket=s3_locked_bucket, Key="restore-point", VersionId=version)
    assert refused.value.response["Error"]["Code"] == "AccessDenied"
    body = s3_client.get_object(Bucket=s3_locked_bucket, Key="restore-point", VersionId=version)["Body"].read()
    assert body == b"immutable"


@pytest.mark.s3
def test_s3_rejects_a_wrong_secret(s3_service: S3Endpoint, s3_bucket: str) -> None:
    intruder = s3_service.client(secret_key="not-the-secret")
    with pytest.raises(ClientError) as rejected:
        intruder.list_objects_v2(Bucket=s3_bucket)
    assert rejected.value.response["Error"]["Code"] in {"SignatureDoesNotMatch", "AccessDenied"}


@pytest.mark.s3
def test_s3_rejects_an_unknown_key(s3_service: S3Endpoint) -> None:
    intruder = s3_service.client(access_key="AKIAUNKNOWN0000000", secret_key="whatever")
    with pytest.raises(ClientError) as rejected:
        intruder.list_buckets()
    assert rejected.value.response["Error"]["Code"] in {"InvalidAccessKeyId", "AccessDenied"}


# --- databases -------------------------------------------------------------------------


def test_postgres_accepts_a_connection_and_a_query(postgres_connection: Any) -> None:
    version = postgres_connection.execute("SHOW server_version").fetchone()[0]
    assert version.startswith("15.")
    postgres_connection.execute("CREATE TABLE IF NOT EXISTS probe (id int PRIMARY KEY, note text)")
    postgres_connection.execute(
        "INSERT INTO probe VALUES (1, 'hello') ON CONFLICT (id) DO UPDATE SET note = excluded.note"
    )
    assert postgres_connection.execute("SELECT note FROM probe WHERE id = 1").fetchone() == ("hello",)


def test_postgres_refuses_a_wrong_password(postgres_service: DatabaseEndpoint) -> None:
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(
            host=postgres_service.host,
            port=postgres_service.port,
            user=postgres_service.user,
            password="wrong",
            dbname=postgres_service.database,
        )


def test_mariadb_accepts_a_connection_and_a_query(mariadb_connection: Any) -> None:
    with mariadb_connection.cursor() as cursor:
        cursor.execute("SELECT VERSION(), DATABASE()")
        version, database = cursor.fetchone()
        assert version.startswith("10.11.")
        assert database == "mlark"
        cursor.execute("CREATE TABLE IF NOT EXISTS probe (id INT PRIMARY KEY, note TEXT)")
        cursor.execute("REPLACE INTO probe VALUES (1, 'hello')")
        cursor.execute("SELECT note FROM probe WHERE id = 1")
        assert cursor.fetchone() == ("hello",)


def test_redis_accepts_a_connection_and_a_command(redis_client: Any, redis_service: DatabaseEndpoint) -> None:
    assert redis_service.password
    redis_client.set("probe", "hello")
    assert redis_client.get("probe") == b"hello"
    assert redis_client.info("server")["redis_version"].startswith("7.")


def _pod_env() -> dict[str, str]:
    return {
        "MYSQL_ROOT_PASSWORD": "root-" + uuid.uuid4().hex[:8],
        "MYSQL_DATABASE": "mlpipeline",
        "MYSQL_USER": "mlpipeline",
        "MYSQL_PASSWORD": "pipe-" + uuid.uuid4().hex[:8],
    }


def test_pod_mariadb_initialises_like_the_image_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    name = f"test-pod-mariadb-{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path / "pv" / "mysql"
    env = _pod_env()
    port = free_port()
    try:
        endpoint = start_mariadb(name, data_dir, port, env)
        assert (endpoint.user, endpoint.database, endpoint.admin_user) == ("mlpipeline", "mlpipeline", "root")
        connection = pymysql.connect(
            host="127.0.0.1", port=port, user="mlpipeline", password=env["MYSQL_PASSWORD"], database="mlpipeline"
        )
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE run_details (uuid VARCHAR(64) PRIMARY KEY, state VARCHAR(32))")
            cursor.execute("INSERT INTO run_details VALUES ('run-1', 'Succeeded')")
        connection.commit()
        connection.close()
        with pytest.raises(pymysql.err.OperationalError):
            pymysql.connect(host="127.0.0.1", port=port, user="mlpipeline", password="wrong")
        assert stop(name)

        # Restart on the same PV with different variables: the existing data dir is left alone.
        changed = {**env, "MYSQL_DATABASE": "other"}
        start_mariadb(name, data_dir, port, changed)
        root = pymysql.connect(host="127.0.0.1", port=port, user="root", password=env["MYSQL_ROOT_PASSWORD"])
        with root.cursor() as cursor:
            cursor.execute("SELECT state FROM mlpipeline.run_details WHERE uuid = 'run-1'")
            assert cursor.fetchone() == ("Succeeded",)
            cursor.execute("SHOW DATABASES LIKE 'other'")
            assert cursor.fetchall() == ()
        root.close()
        # What `kubectl exec ... mariadb-dump` will run against this instance.
        dump = subprocess.run(
            ["mariadb-dump", "-h127.0.0.1", f"-P{port}", "-uroot", f"-p{env['MYSQL_ROOT_PASSWORD']}", "mlpipeline"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert "INSERT INTO `run_details` VALUES" in dump and "run-1" in dump
    finally:
        stop(name)


def test_pod_mariadb_without_a_root_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DevEnvironmentError, match="MYSQL_ROOT_PASSWORD"):
        start_mariadb(f"test-pod-mariadb-{uuid.uuid4().hex[:8]}", tmp_path / "d", free_port(), {"MYSQL_DATABASE": "x"})


def test_pod_postgres_initialises_like_the_image_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    name = f"test-pod-postgres-{uuid.uuid4().hex[:8]}"
    data_dir = tmp_path / "pv" / "pgdata"
    env = {"POSTGRES_USER": "catalog", "POSTGRES_PASSWORD": "pw-" + uuid.uuid4().hex[:8], "POSTGRES_DB": "catalogdb"}
    port = free_port()
    try:
        endpoint = start_postgres(name, data_dir, port, env, init_sql=["CREATE TABLE models (name text)"])
        assert endpoint.dsn.startswith("postgresql://catalog:")
        with psycopg.connect(endpoint.dsn, autocommit=True) as connection:
            connection.execute("INSERT INTO models VALUES ('iris')")
        assert stop(name)
        start_postgres(name, data_dir, port, {**env, "POSTGRES_DB": "ignored"})
        with psycopg.connect(endpoint.dsn) as connection:
            assert connection.execute("SELECT name FROM models").fetchall() == [("iris",)]
            assert connection.execute("SELECT 1 FROM pg_database WHERE datname = 'ignored'").fetchone() is None
        dump = subprocess.run(
            ["pg_dump", "--dbname", endpoint.dsn, "--table", "models"], capture_output=True, text=True, check=True
        ).stdout
        assert "COPY public.models" in dump and "iris" in dump
    finally:
        stop(name)


# --- model server ----------------------------------------------------------------------


def test_mlserver_serves_the_model_published_to_s3(s3_service: S3Endpoint, s3_bucket: str, tmp_path: Path) -> None:
    published = publish_iris_model(s3_service, s3_bucket, "models/iris/")
    assert published.uri == f"s3://{s3_bucket}/models/iris/"
    assert set(published.files) == {"model.joblib", "model-settings.json"}
    model_dir = download_model(published.uri, tmp_path / "mnt" / "models", s3_service)
    assert (model_dir / "model.joblib").is_file()
    name = f"test-mlserver-{uuid.uuid4().hex[:8]}"
    try:
        address = start_mlserver(name, model_dir, ModelServerPorts(http=free_port(), grpc=free_port(), metrics=free_port()))
        answer = infer(address, "iris", SEED_REQUEST)
        assert answer["model_name"] == "iris"
        assert answer["model_version"] == "v1.0.0"
        assert answer["outputs"][0]["data"] == [0, 2]
        assert answer["outputs"][0]["shape"] == [2, 1]
    finally:
        stop_mlserver(name)


def test_environment_model_server_answers_the_seed_request(model_server: ModelServerAddress, s3_client: Any) -> None:
    assert infer(model_server, "iris", SEED_REQUEST)["outputs"][0]["data"] == [0, 2]
    keys = {item["Key"] for item in s3_client.list_objects_v2(Bucket="rhoai-demo-bucket", Prefix="models/iris/")["Contents"]}
    assert {"models/iris/model.joblib", "models/iris/model-settings.json"} <= keys


# --- environment -----------------------------------------------------------------------


def test_status_reports_every_running_service(
    s3_service: S3Endpoint,
    postgres_service: DatabaseEndpoint,
    mariadb_service: DatabaseEndpoint,
    redis_service: DatabaseEndpoint,
    model_server: ModelServerAddress,
) -> None:
    statuses = {status.name: status for status in services_status()}
    assert set(statuses) == {"s3", "postgres", "mariadb", "redis", "model-server"}
    assert all(status.running and status.ready for status in statuses.values())
    assert statuses["s3"].details["access_key"] == s3_service.access_key
    assert statuses["postgres"].endpoint == postgres_service.dsn
    assert statuses["mariadb"].endpoint == mariadb_service.dsn
    assert statuses["model-server"].endpoint == model_server.url


def test_a_taken_port_is_named_in_the_error() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with pytest.raises(DevEnvironmentError, match=f"port {port}"):
            require_free_ports("probe", [port])


def test_a_missing_binary_is_named_in_the_error() -> None:
    with pytest.raises(DevEnvironmentError, match="no-such-server-binary: binary not found"):
        find_binary("no-such-server-binary", hint="install it")
