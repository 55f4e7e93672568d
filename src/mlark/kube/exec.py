"""Run a command in a pod's container through the API server, with binary streaming stdin/stdout.

    exec_stream(api, namespace, pod, container, command, *, idle_timeout=300) -> Iterator[bytes]
        stdout as it comes (tar archives, database dumps of any size: nothing is buffered whole);
        raises ExecFailed (pod, command, exit code, stderr tail) after the last chunk if the
        command failed. Closing the iterator early ends the exec.
    exec_feed(api, namespace, pod, container, command, chunks, *, idle_timeout=300) -> ExecResult
        sends the byte chunks to stdin, then closes stdin (v5.channel.k8s.io close signal) and
        waits for the command; stdout/stderr are kept (bounded tails). Raise with result.check().
    exec_capture(api, namespace, pod, container, command, *, stdin=None, timeout=300) -> ExecResult
        small commands: stdout/stderr/returncode in memory.

    ExecResult(returncode, stdout: bytes, stderr: bytes, message) with .text, .check()
    ExecFailed(KubeError)  .namespace .pod .container .command .returncode .stderr

Closing stdin needs the v5 channel protocol (Kubernetes ≥ 1.30 API server and runtime). Where the
runtime ignores it (kwok's simulated pods), make the command stop reading on its own, e.g.
`sized_stdin(command, size)`.
The websocket is driven here directly (channel byte + payload per frame), not through
kubernetes.stream, which decodes text and swaps ApiClient.call_api while it runs.
"""

from __future__ import annotations

import json
import re
import shlex
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import websocket
from kubernetes.client import ApiClient

from mlark.kube.errors import KubeError
from mlark.kube.rest import Target
from mlark.kube.websocket import open_websocket

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5, V4 = "v5.channel.k8s.io", "v4.channel.k8s.io"
MAX_FRAME = 1 << 20  # stdin chunks larger than this are sent as several frames
TAIL = 64 * 1024
DEFAULT_IDLE_TIMEOUT = 300.0
_EXIT_STATUS = re.compile(r"exit status (\d+)\s*$")


class ExecFailed(KubeError):
    """The command ran (or failed to start) in the pod and did not succeed."""

    def __init__(self, namespace: str, pod: str, container: str, command: list[str], returncode: int,
                 stderr: bytes, message: str = "") -> None:
        self.namespace, self.pod, self.container, self.command = namespace, pod, container, command
        self.returncode, self.stderr = returncode, stderr
        tail = stderr.decode("utf-8", "replace").strip()[-800:]
        reason = f"exit code {returncode}" if returncode >= 0 else "no exit code"
        detail = "; ".join(part for part in (message.strip(), tail) if part)
        super().__init__(f"exec {shlex.join(command)} in pod {namespace}/{pod} (container {container}) failed "
                         f"({reason}){': ' + detail if detail else ''}")


@dataclass
class ExecResult:
    """What a finished command left: exit code (-1: none, see message), stdout and stderr bytes."""

    returncode: int
    stdout: bytes
    stderr: bytes
    message: str = ""
    namespace: str = ""
    pod: str = ""
    container: str = ""
    command: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")

    def check(self) -> ExecResult:
        """self, or ExecFailed when the command did not exit 0."""
        if self.returncode != 0:
            raise ExecFailed(self.namespace, self.pod, self.container, list(self.command), self.returncode,
                             self.stderr, self.message)
        return self


def sized_stdin(command: list[str], size: int) -> list[str]:
    """command made to read exactly `size` bytes of stdin, then see end-of-file, for runtimes that
    ignore the v5 close signal (kwok). Needs `sh` and `head` in the container."""
    return ["sh", "-c", 'head -c "$0" | "$@"', str(size), *command]


class _Tail:
    """The last `limit` bytes written."""

    def __init__(self, limit: int) -> None:
        self.limit, self.size, self.parts = limit, 0, deque[bytes]()

    def add(self, data: bytes) -> None:
        self.parts.append(data)
        self.size += len(data)
        while self.parts and self.size - len(self.parts[0]) >= self.limit:
            self.size -= len(self.parts.popleft())

    def value(self) -> bytes:
        return b"".join(self.parts)[-self.limit:]


class _Session:
    """One exec websocket: frames in, stdin frames out, the final status from the error channel."""

    def __init__(self, api: ApiClient, namespace: str, pod: str, container: str, command: list[str],
                 stdin: bool, idle_timeout: float | None) -> None:
        if not command:
            raise ValueError("exec needs a command")
        self.namespace, self.pod, self.container, self.command = namespace, pod, container, list(command)
        query: list[tuple[str, Any]] = [("command", part) for part in command]
        query += [("container", container), ("stdin", "true" if stdin else "false"), ("stdout", "true"),
                  ("stderr", "true"), ("tty", "false")]
        self.sock, self.protocol = open_websocket(
            api, f"/api/v1/namespaces/{namespace}/pods/{pod}/exec", query, [V5, V4],
            Target("create", "pods/exec", namespace, pod),
        )
        self.sock.settimeout(idle_timeout)
        self.idle_timeout = idle_timeout
        self.status: dict[str, Any] | None = None
        self.error_data = b""

    def frames(self) -> Iterator[tuple[int, bytes]]:
        """(channel, payload) for stdout and stderr until the server closes the connection."""
        recv = self.sock.recv_data_frame
        while True:
            try:
                opcode, frame = recv(True)
            except websocket.WebSocketTimeoutException as error:
                raise KubeError(f"exec {shlex.join(self.command)} in pod {self.namespace}/{self.pod}: no output "
                                f"for {self.idle_timeout:.0f}s") from error
            except websocket.WebSocketConnectionClosedException:
                return
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return
            data = frame.data
            if not data or opcode not in (websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT):
                continue
            if isinstance(data, str):
                data = data.encode()
            channel = data[0]
            if channel == ERROR:
                self.error_data += data[1:]
            elif channel in (STDOUT, STDERR) and len(data) > 1:
                yield channel, data[1:]

    def send_stdin(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        for start in range(0, len(view), MAX_FRAME):
            self.sock.send(b"\x00" + view[start:start + MAX_FRAME].tobytes(), opcode=websocket.ABNF.OPCODE_BINARY)

    def close_stdin(self) -> None:
        if self.protocol == V5:
            self.sock.send(bytes([CLOSE, STDIN]), opcode=websocket.ABNF.OPCODE_BINARY)

    def outcome(self) -> tuple[int, str]:
        """(exit code, message) from the error channel's Status; (-1, why) when there is no code."""
        if not self.error_data:
            return -1, "the connection closed without a status"
        try:
            status = json.loads(self.error_data)
        except ValueError:
            return -1, self.error_data.decode("utf-8", "replace")
        if status.get("status") == "Success":
            return 0, ""
        message = str(status.get("message", ""))
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message")), message
                except (TypeError, ValueError):
                    break
        exited = _EXIT_STATUS.search(message)  # runtimes that only say it in words (kwok)
        if exited:
            return int(exited.group(1)), message
        return -1, message

    def close(self) -> None:
        try:
            self.sock.close(timeout=1)
        except (OSError, websocket.WebSocketException):
            pass


def exec_stream(api: ApiClient, namespace: str, pod: str, container: str, command: list[str], *,
                idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT) -> Iterator[bytes]:
    """Yield the command's stdout chunk by chunk; ExecFailed after the last chunk if it failed."""
    session = _Session(api, namespace, pod, container, command, stdin=False, idle_timeout=idle_timeout)
    stderr = _Tail(TAIL)
    try:
        for channel, data in session.frames():
            if channel == STDOUT:
                yield data
            else:
                stderr.add(data)
        returncode, message = session.outcome()
    finally:
        session.close()
    if returncode != 0:
        raise ExecFailed(namespace, pod, container, command, returncode, stderr.value(), message)


def exec_feed(api: ApiClient, namespace: str, pod: str, container: str, command: list[str],
              chunks: Iterable[bytes], *, idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
              output_limit: int = TAIL) -> ExecResult:
    """Stream chunks into the command's stdin, close stdin, wait for it to finish.

    stdout and stderr are read while stdin is written (no deadlock on chatty commands) and only
    their last output_limit bytes are kept."""
    session = _Session(api, namespace, pod, container, command, stdin=True, idle_timeout=idle_timeout)
    stdout, stderr = _Tail(output_limit), _Tail(output_limit)
    failure: list[BaseException] = []

    def feed() -> None:
        try:
            for chunk in chunks:
                if chunk:
                    session.send_stdin(bytes(chunk) if not isinstance(chunk, bytes) else chunk)
            session.close_stdin()
        except (OSError, websocket.WebSocketException) as error:  # the command exited early
            failure.append(error)
        except BaseException as error:  # the producer failed: end the exec, report after
            failure.append(error)
            session.close()

    writer = threading.Thread(target=feed, name=f"exec stdin {namespace}/{pod}", daemon=True)
    writer.start()
    try:
        for channel, data in session.frames():
            (stdout if channel == STDOUT else stderr).add(data)
        returncode, message = session.outcome()
    except (OSError, websocket.WebSocketException):
        # A failing producer closes the session under the reader's feet; the reader then sees a
        # broken stream. The producer's error is the one to report, not the broken frame.
        writer.join(timeout=10)
        if not _producer_errors(failure):
            raise
    finally:
        session.close()
        writer.join(timeout=10)
    producer_errors = _producer_errors(failure)
    if producer_errors:
        raise producer_errors[0]
    return ExecResult(returncode, stdout.value(), stderr.value(), message, namespace, pod, container, tuple(command))


def _producer_errors(failures: list[BaseException]) -> list[BaseException]:
    return [error for error in failures if not isinstance(error, (OSError, websocket.WebSocketException))]


def exec_capture(api: ApiClient, namespace: str, pod: str, container: str, command: list[str], *,
                 stdin: bytes | None = None, timeout: float = DEFAULT_IDLE_TIMEOUT) -> ExecResult:
    """Run a command with small output and return everything it printed (check() to raise)."""
    started = time.monotonic()
    if stdin is not None:
        result = exec_feed(api, namespace, pod, container, command, [stdin], idle_timeout=timeout,
                           output_limit=1 << 62)
    else:
        session = _Session(api, namespace, pod, container, command, stdin=False, idle_timeout=timeout)
        out: list[bytes] = []
        err: list[bytes] = []
        try:
            for channel, data in session.frames():
                (out if channel == STDOUT else err).append(data)
                if time.monotonic() - started > timeout:
                    raise KubeError(f"exec {shlex.join(command)} in pod {namespace}/{pod} did not finish "
                                    f"within {timeout:.0f}s")
            returncode, message = session.outcome()
        finally:
            session.close()
        result = ExecResult(returncode, b"".join(out), b"".join(err), message, namespace, pod, container,
                            tuple(command))
    return result


def wait_exec_ready(api: ApiClient, namespace: str, pod: str, container: str, timeout: float = 120.0) -> None:
    """Return once exec into the container works: a container can be Running a moment before its
    runtime accepts exec (and a simulated one before its exec target is configured)."""
    deadline = time.monotonic() + timeout
    last = ""
    while True:
        try:
            result = exec_capture(api, namespace, pod, container, ["true"], timeout=30)
            if result.returncode == 0:
                return
            last = result.stderr.decode(errors="replace").strip() or result.message
        except (KubeError, OSError, websocket.WebSocketException) as error:  # a broken probe is tried again too
            last = str(error) or type(error).__name__
        if time.monotonic() > deadline:
            raise ExecFailed(namespace, pod, container, ["true"], -1, last.encode(), "exec never became possible")
        time.sleep(0.3)
