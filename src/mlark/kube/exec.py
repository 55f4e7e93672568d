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
import queue
import re
import select
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
# exec_feed sends stdin in pieces this small when select() says the socket is writable, so a
# send does not block while output waits to be read.
SEND_PIECE = 128 * 1024
POLL = 0.01  # how often exec_feed looks for the next stdin chunk while none is ready
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
        while True:
            frame = self.next_frame()
            if frame is None:
                return
            if frame[1]:
                yield frame

    def next_frame(self) -> tuple[int, bytes] | None:
        """The next frame (channel, payload; payload empty for frames that carry no output), or
        None once the server closed the connection. Error channel frames are kept for outcome()."""
        try:
            opcode, frame = self.sock.recv_data_frame(True)
        except websocket.WebSocketTimeoutException as error:
            raise KubeError(f"exec {shlex.join(self.command)} in pod {self.namespace}/{self.pod}: no output "
                            f"for {self.idle_timeout:.0f}s") from error
        except websocket.WebSocketConnectionClosedException:
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return None
        data = frame.data
        if not data or opcode not in (websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT):
            return STDOUT, b""
        if isinstance(data, str):
            data = data.encode()
        channel = data[0]
        if channel == ERROR:
            self.error_data += data[1:]
            return ERROR, b""
        if channel in (STDOUT, STDERR):
            return channel, data[1:]
        return channel, b""

    def wait(self, writing: bool, timeout: float) -> tuple[bool, bool]:
        """(readable, writable) within timeout. Bytes TLS already decrypted count as readable:
        select() cannot see them."""
        raw = self.sock.sock
        pending = getattr(raw, "pending", None)
        if pending is not None and pending() > 0:
            return True, False
        readable, writable, _ = select.select([raw], [raw] if writing else [], [], timeout)
        return bool(readable), bool(writable)

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
    their last output_limit bytes are kept. One thread does all socket I/O: an SSL socket must
    not be read and written from two threads at once (doing so dropped one exec in a few hundred
    under load, the API server seeing the connection end). The chunks are produced on a thread
    of their own, so a slow producer does not stall the reading."""
    session = _Session(api, namespace, pod, container, command, stdin=True, idle_timeout=idle_timeout)
    stdout, stderr = _Tail(output_limit), _Tail(output_limit)
    producer = _Producer(chunks, f"exec stdin {namespace}/{pod}")
    try:
        _pump(session, producer, stdout, stderr)
        returncode, message = session.outcome()
    finally:
        producer.stop()
        session.close()
    if producer.error is not None:
        raise producer.error
    return ExecResult(returncode, stdout.value(), stderr.value(), message, namespace, pod, container, tuple(command))


def _pump(session: _Session, producer: _Producer, stdout: _Tail, stderr: _Tail) -> None:
    """Send stdin pieces when the socket takes them, read frames when they come, until the
    server closes the connection (or the producer fails)."""
    outgoing: deque[bytes] = deque()  # b"" stands for the close of stdin
    stdin_open = True
    idle_since = time.monotonic()
    while True:
        if stdin_open and not outgoing:
            piece = producer.next()
            if piece is _Producer.FAILED:
                return
            if piece is _Producer.END:
                outgoing.append(b"")
            elif piece is not None:
                outgoing.extend(piece[start:start + SEND_PIECE] for start in range(0, len(piece), SEND_PIECE))
        waiting_for_producer = stdin_open and not outgoing
        readable, writable = session.wait(bool(outgoing), POLL if waiting_for_producer else 1.0)
        if readable:
            frame = session.next_frame()
            if frame is None:
                return
            channel, data = frame
            if data:
                (stdout if channel == STDOUT else stderr).add(data)
            idle_since = time.monotonic()
        if writable and outgoing:
            stdin_open = _send(session, outgoing)
            idle_since = time.monotonic()
        if session.idle_timeout is not None and time.monotonic() - idle_since > session.idle_timeout:
            raise KubeError(f"exec {shlex.join(session.command)} in pod {session.namespace}/{session.pod}: "
                            f"no progress for {session.idle_timeout:.0f}s")


def _send(session: _Session, outgoing: deque[bytes]) -> bool:
    """Send the next stdin piece (or the close of stdin); False once stdin is closed."""
    piece = outgoing.popleft()
    try:
        if piece:
            session.send_stdin(piece)
            return True
        session.close_stdin()
    except (OSError, websocket.WebSocketException):  # the command exited early: its status follows
        outgoing.clear()
    return False


class _Producer:
    """Stdin chunks made on a thread of their own and handed over through a short queue."""

    END, FAILED = object(), object()

    def __init__(self, chunks: Iterable[bytes], name: str) -> None:
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=4)
        self.error: BaseException | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(chunks,), name=name, daemon=True)
        self._thread.start()

    def _run(self, chunks: Iterable[bytes]) -> None:
        try:
            for chunk in chunks:
                if chunk and not self._put(bytes(chunk)):
                    return
            self._put(self.END)
        except BaseException as error:  # reported by exec_feed, after the exec is closed
            self.error = error
            self._put(self.FAILED)

    def _put(self, item: Any) -> bool:
        while not self._stopped.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def next(self) -> Any:
        """A chunk, END, FAILED, or None when none is ready yet."""
        try:
            return self.queue.get_nowait()
        except queue.Empty:
            return None

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)


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
