"""Two processes appending at once take turns on the directory lock: one valid chain results."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlark.audit import AuditLog

APPENDER = """
import sys
from mlark.audit import AuditLog
log = AuditLog(sys.argv[1])
for number in range(20):
    log.append("note", {"writer": sys.argv[2], "number": number})
"""


def test_two_processes_append_20_each(tmp_path: Path) -> None:
    writers = [subprocess.Popen([sys.executable, "-c", APPENDER, str(tmp_path), name]) for name in ("a", "b")]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    log = AuditLog(tmp_path)
    result = log.verify()
    assert result.intact, result.problems
    entries = log.entries()
    assert [entry.sequence for entry in entries] == list(range(1, 41))
    for name in ("a", "b"):  # each writer's own entries keep their order
        assert [e.payload["number"] for e in entries if e.payload["writer"] == name] == list(range(20))
