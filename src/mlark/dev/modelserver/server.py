"""MLServer processes: a V2 inference protocol server over a model directory.

The server's settings (bind 127.0.0.1, its three ports) are passed as MLSERVER_* variables,
so the model directory stays exactly what the storage-initializer downloaded; the server's
scratch files (metrics, environments) live under the state directory.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from pydantic import BaseModel, computed_field

from mlark.dev.modelserver.venv import ensure_mlserver_venv, mlserver_executable
from mlark.dev.paths import state_root
from mlark.dev.process import require_free_ports, running_pid, start_daemon, wait_until
from mlark.dev.services.common import record_ports, stop

SEED_REQUEST: dict[str, Any] = {
    "inputs": [
        {
            "name": "predict",
            "shape": [2, 4],
            "datatype": "FP32",
            "data": [[5.1, 3.5, 1.4, 0.2], [6.7, 3.1, 5.6, 2.4]],
        }
    ]
}


class ModelServerPorts(BaseModel):
    http: int
    grpc: int
    metrics: int


class ModelServerAddress(BaseModel):
    """How to reach one MLServer process."""

    name: str
    host: str = "127.0.0.1"
    http_port: int
    grpc_port: int
    metrics_port: int
    model_dir: str

    @computed_field  # type: ignore[prop-decorator]
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.http_port}"


def server_dir(name: str) -> Path:
    path = state_root() / "modelserver" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def _settings_env(name: str, ports: ModelServerPorts) -> dict[str, str]:
    """MLServer's server settings as MLSERVER_* variables, the way KServe's runtime passes
    them: `mlserver start <dir>` takes the model repository from <dir> and would read a
    settings.json only from there, which belongs to the downloaded model."""
    directory = server_dir(name)
    return {
        "MLSERVER_DEBUG": "false",
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(ports.http),
        "MLSERVER_GRPC_PORT": str(ports.grpc),
        "MLSERVER_METRICS_PORT": str(ports.metrics),
        # Inference in the server process itself: no worker pool on a 2-core machine.
        "MLSERVER_PARALLEL_WORKERS": "0",
        "MLSERVER_METRICS_DIR": str(directory / "metrics"),
        "MLSERVER_ENVIRONMENTS_DIR": str(directory / "envs"),
    }


def _get(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def start_mlserver(
    name: str,
    model_dir: Path,
    ports: ModelServerPorts | dict[str, int],
    *,
    timeout: float = 180.0,
) -> ModelServerAddress:
    """Serve every model under model_dir (found by their model-settings.json) as daemon `name`.

    Idempotent; returns once all models are loaded (/v2/health/ready). Builds the MLServer
    venv on first use (about a minute).
    """
    ports = ports if isinstance(ports, ModelServerPorts) else ModelServerPorts(**ports)
    model_dir = Path(model_dir).resolve()
    address = ModelServerAddress(
        name=name, http_port=ports.http, grpc_port=ports.grpc, metrics_port=ports.metrics, model_dir=str(model_dir)
    )
    if running_pid(name) is None:
        ensure_mlserver_venv()
        require_free_ports(name, [ports.http, ports.grpc, ports.metrics])
        start_daemon(
            name,
            [str(mlserver_executable()), "start", str(model_dir)],
            env=_settings_env(name, ports),
            cwd=server_dir(name),
        )
        record_ports(name, [ports.http, ports.grpc, ports.metrics])
    wait_until(name, lambda: _get(f"{address.url}/v2/health/ready") == 200, timeout=timeout, interval=0.5)
    return address


def stop_mlserver(name: str) -> bool:
    return stop(name, timeout=20.0)


def infer(address: ModelServerAddress | str, model: str, request: dict[str, Any], timeout: float = 30.0) -> dict[str, Any]:
    """POST a V2 inference request to /v2/models/<model>/infer and return the decoded answer."""
    base = address.url if isinstance(address, ModelServerAddress) else address.rstrip("/")
    body = json.dumps(request).encode()
    http_request = urllib.request.Request(
        f"{base}/v2/models/{model}/infer", data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(http_request, timeout=timeout) as response:
        return dict(json.loads(response.read()))
