"""Start the real local process that stands in for one container."""

from __future__ import annotations

from pathlib import Path

from mlark.dev.simulator.plan import ProcessKind, ProcessPlan


def start(process: ProcessPlan, daemon: str, ports: list[int], scratch: Path) -> int:
    """Start the process (idempotently); return the port that the container port maps to."""
    data_dir = Path(process.data_dir) if process.data_dir else scratch / "data" / process.container
    if process.kind is ProcessKind.mariadb:
        from mlark.dev.services.mariadb import start_mariadb

        start_mariadb(daemon, data_dir, ports[0], process.env)
        return ports[0]
    if process.kind is ProcessKind.postgres:
        from mlark.dev.services.postgres import start_postgres

        start_postgres(daemon, data_dir, ports[0], process.env)
        return ports[0]
    if process.kind is ProcessKind.redis:
        from mlark.dev.services.redis_server import start_redis

        start_redis(daemon, data_dir, ports[0], process.env, appendonly=process.env.get("REDIS_APPENDONLY") == "yes",
                    dbfilename=process.env.get("REDIS_DBFILENAME", "dump.rdb"),
                    appendfilename=process.env.get("REDIS_APPENDFILENAME", "appendonly.aof"))
        return ports[0]
    return _start_model_server(process, daemon, ports, scratch)


def _start_model_server(process: ProcessPlan, daemon: str, ports: list[int], scratch: Path) -> int:
    from mlark.dev.modelserver.server import ModelServerPorts, start_mlserver
    from mlark.dev.modelserver.storage import download_model
    from mlark.dev.services.s3 import S3Endpoint

    env = process.initializer_env
    endpoint = env.get("AWS_ENDPOINT_URL") or env.get("S3_ENDPOINT", "")
    if endpoint and "://" not in endpoint:
        endpoint = ("https://" if env.get("S3_USE_HTTPS", "1") != "0" else "http://") + endpoint
    s3 = S3Endpoint(
        endpoint=endpoint,
        access_key=env.get("AWS_ACCESS_KEY_ID", ""),
        secret_key=env.get("AWS_SECRET_ACCESS_KEY", ""),
        region=env.get("AWS_DEFAULT_REGION", "us-east-1"),
    )
    model_dir = scratch / "mnt-models"
    # KServe's storage initializer: the model comes from the bucket at every pod start.
    download_model(process.model_uri or "", model_dir, s3)
    start_mlserver(daemon, model_dir, ModelServerPorts(http=ports[0], grpc=ports[1], metrics=ports[2]))
    return ports[0]
