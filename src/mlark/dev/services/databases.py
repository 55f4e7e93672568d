"""One import for the database launchers (used by the environment and the pod simulator)."""

from mlark.dev.services.common import DatabaseEndpoint, stop
from mlark.dev.services.mariadb import start_mariadb, start_shared_mariadb, stop_shared_mariadb
from mlark.dev.services.postgres import start_postgres, start_shared_postgres, stop_shared_postgres
from mlark.dev.services.redis_server import start_redis, start_shared_redis, stop_shared_redis

__all__ = [
    "DatabaseEndpoint",
    "start_mariadb",
    "start_postgres",
    "start_redis",
    "start_shared_mariadb",
    "start_shared_postgres",
    "start_shared_redis",
    "stop",
    "stop_shared_mariadb",
    "stop_shared_postgres",
    "stop_shared_redis",
]
