"""Exec through the API server: binary streams both ways, exit codes and clear failures."""

from __future__ import annotations

import hashlib
import os

import pytest
from kubernetes.client import ApiClient

from mlark.kube.errors import KubeApiError
from mlark.kube.exec import ExecFailed, exec_capture, exec_feed, exec_stream, sized_stdin

pytestmark = pytest.mark.cluster


def test_capture_returns_stdout_stderr_and_exit_code(kube_primary: ApiClient, module_namespace: str, shell_pod: str) -> None:
    result = exec_capture(kube_primary, module_namespace, shell_pod, "main", ["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.returncode, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
    with pytest.raises(ExecFailed, match="exit code 3"):
        result.check()


def test_stream_is_binary_and_exact(kube_primary: ApiClient, module_namespace: str, shell_pod: str) -> None:
    # Every byte value, 3 MB: a text decoder anywhere on the way would change the digest.
    command = ["sh", "-c", "i=0; while [ $i -lt 12 ]; do head -c 262144 /dev/urandom; i=$((i+1)); done | tee payload.bin"]
    digest, size = hashlib.sha256(), 0
    for chunk in exec_stream(kube_primary, module_namespace, shell_pod, "main", command):
        digest.update(chunk)
        size += len(chunk)
    check = exec_capture(kube_primary, module_namespace, shell_pod, "main", ["sha256sum", "payload.bin"]).check()
    assert size == 12 * 262144
    assert check.text.split()[0] == digest.hexdigest()


def test_stream_failure_names_pod_command_exit_code_and_stderr(kube_primary: ApiClient, module_namespace: str,
                                                              shell_pod: str) -> None:
    chunks = []
    with pytest.raises(ExecFailed) as caught:
        for chunk in exec_stream(kube_primary, module_namespace, shell_pod, "main",
                                 ["sh", "-c", "echo partial; echo 'pg_dump: no such database' >&2; exit 2"]):
            chunks.append(chunk)
    assert chunks == [b"partial\n"]
    message = str(caught.value)
    assert caught.value.returncode == 2 and f"{module_namespace}/{shell_pod}" in message
    assert "exit code 2" in message and "pg_dump: no such database" in message and "sh -c" in message


def test_feed_streams_binary_stdin(kube_primary: ApiClient, module_namespace: str, shell_pod: str) -> None:
    blocks = [os.urandom(700_000) for _ in range(5)]
    size = sum(map(len, blocks))
    # kwok ignores the v5 close of stdin: the command reads an exact byte count (see sized_stdin).
    result = exec_feed(kube_primary, module_namespace, shell_pod, "main",
                       sized_stdin(["sh", "-c", "cat > restored.bin; sha256sum restored.bin"], size), iter(blocks))
    result.check()
    assert result.text.split()[0] == hashlib.sha256(b"".join(blocks)).hexdigest()


def test_feed_reports_a_failing_command(kube_primary: ApiClient, module_namespace: str, shell_pod: str) -> None:
    result = exec_feed(kube_primary, module_namespace, shell_pod, "main",
                       sized_stdin(["sh", "-c", "cat >/dev/null; echo 'ERROR 1064' >&2; exit 1"], 3), [b"abc"])
    assert result.returncode == 1 and b"ERROR 1064" in result.stderr


def test_feed_producer_error_is_raised(kube_primary: ApiClient, module_namespace: str, shell_pod: str) -> None:
    def broken():
        yield b"abc"
        raise ValueError("repository chunk missing")

    with pytest.raises(ValueError, match="chunk missing"):
        exec_feed(kube_primary, module_namespace, shell_pod, "main", sized_stdin(["cat"], 10), broken(), idle_timeout=20)


def test_unknown_container_is_one_clear_error(kube_primary: ApiClient, module_namespace: str, shell_pod: str) -> None:
    with pytest.raises(KubeApiError, match=f"pods/exec of {shell_pod} in namespace {module_namespace}.*container nosuch"):
        exec_capture(kube_primary, module_namespace, shell_pod, "nosuch", ["true"])


def test_missing_command_has_no_exit_code_but_a_message(kube_primary: ApiClient, module_namespace: str, shell_pod: str) -> None:
    result = exec_capture(kube_primary, module_namespace, shell_pod, "main", ["no-such-binary"])
    assert result.returncode != 0
    with pytest.raises(ExecFailed, match="no-such-binary"):
        result.check()


def test_feed_of_a_chatty_command_reads_while_it_writes(kube_primary: ApiClient, module_namespace: str, shell_pod: str) -> None:
    # cat echoes all of stdin: output must be read while stdin is still being sent.
    data = os.urandom(6 << 20)
    result = exec_feed(kube_primary, module_namespace, shell_pod, "main", sized_stdin(["cat"], len(data)),
                       (data[i:i + 300_000] for i in range(0, len(data), 300_000)), output_limit=len(data))
    result.check()
    assert result.stdout == data


def test_every_one_of_many_short_feeds_gets_its_status(kube_primary: ApiClient, module_namespace: str, shell_pod: str) -> None:
    # Reading and writing one TLS socket from two threads lost the status of about one exec in a
    # hundred under load; all socket I/O now happens on one thread.
    outcomes = []
    for index in range(150):
        payload = f"feed {index}\n".encode()
        result = exec_feed(kube_primary, module_namespace, shell_pod, "main",
                           sized_stdin(["sh", "-c", "cat > short.txt; cat short.txt"], len(payload)), [payload])
        outcomes.append((result.returncode, result.message) if result.stdout == payload else (result.returncode, "wrong output"))
    assert [outcome for outcome in outcomes if outcome != (0, "")] == []
