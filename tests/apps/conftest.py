"""The seed scenario's objects, rendered without a cluster."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from mlark.dev.scenario.render import build_context, render_objects
from mlark.dev.scenario.spec import Facts, Passwords
from mlark.dev.services.s3 import S3Endpoint


@pytest.fixture(scope="session")
def seed_context() -> dict[str, str]:
    s3 = S3Endpoint(endpoint="http://s3.example.test:9000", access_key="AK", secret_key="SK")
    passwords = Passwords(dspa_db="p1", registry_db="p2", registry_db_root="p3", catalog_db="p4")
    return build_context(s3, Facts(cluster_id="cluster-a", created_at=datetime(2026, 1, 5, tzinfo=timezone.utc), passwords=passwords))


@pytest.fixture(scope="session")
def seed_objects(seed_context: dict[str, str]) -> list[dict[str, Any]]:
    return render_objects(seed_context)
