"""`mlark audit verify|show` and `mlark drill list|describe` through typer: exit codes and output."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from mlark.audit import AuditLog
from mlark.cli import audit, drill_history

runner = CliRunner()


def test_verify_intact(log: AuditLog) -> None:
    result = runner.invoke(audit.app, ["verify", "--audit-dir", str(log.directory)])
    assert result.exit_code == 0, result.output
    assert "intact, 5 entries" in result.output and log.entry(5).hash in result.output


def test_verify_uses_the_environment(log: AuditLog, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MLARK_AUDIT_DIR", str(log.directory))
    result = runner.invoke(audit.app, ["verify", "-o", "json"])
    assert result.exit_code == 0 and json.loads(result.output)["entries"] == 5


def test_verify_tampered_exits_10_naming_the_file(log: AuditLog) -> None:
    path = log.directory / f"{log.entry(2).file_stem}.json"
    path.write_text(path.read_text().replace("rhoai-demo", "other-plan"))
    result = runner.invoke(audit.app, ["verify", "--audit-dir", str(log.directory)], env={"COLUMNS": "400"})
    assert result.exit_code == audit.TAMPERED_EXIT == 10
    assert "TAMPERED" in result.output and path.name in result.output and "edited" in result.output
    machine = runner.invoke(audit.app, ["verify", "--audit-dir", str(log.directory), "-o", "yaml"])
    assert machine.exit_code == 10
    assert yaml.safe_load(machine.output)["problems"][0]["file"] == path.name


def test_verify_expected_head(log: AuditLog) -> None:
    good = runner.invoke(audit.app, ["verify", "--audit-dir", str(log.directory), "--expected-head", log.entry(5).hash])
    assert good.exit_code == 0
    unknown = runner.invoke(audit.app, ["verify", "--audit-dir", str(log.directory), "--expected-head", "ab" * 32])
    assert unknown.exit_code == 10
    bad = runner.invoke(audit.app, ["verify", "--audit-dir", str(log.directory), "--expected-head", "xyz"])
    assert bad.exit_code == 2 and "at least 12" in bad.output


def test_verify_missing_directory(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(audit.app, ["verify", "--audit-dir", str(tmp_path / "nowhere")])
    assert result.exit_code == 10 and "no audit log at" in result.output


def test_show(log: AuditLog) -> None:
    latest = runner.invoke(audit.app, ["show", "latest", "--audit-dir", str(log.directory)])
    assert latest.exit_code == 0 and "# Recovery drill drill-005: PASSED" in latest.output
    assert log.entry(5).hash in latest.output
    third = runner.invoke(audit.app, ["show", "3", "--audit-dir", str(log.directory), "-o", "json"])
    assert third.exit_code == 0 and json.loads(third.output)["payload"]["outcome"] == "failed"
    assert runner.invoke(audit.app, ["show", "9", "--audit-dir", str(log.directory)]).exit_code == 1
    assert runner.invoke(audit.app, ["show", "last", "--audit-dir", str(log.directory)]).exit_code == 2


def test_drill_list(log: AuditLog) -> None:
    result = runner.invoke(drill_history.app, ["list", "--audit-dir", str(log.directory), "-o", "json"])
    rows = json.loads(result.output)
    assert result.exit_code == 0 and [row["id"] for row in rows] == [f"drill-00{n}" for n in range(1, 6)]
    assert rows[2]["outcome"] == "failed" and rows[2]["rto_objective"] == "MISSED"
    assert rows[0]["rto"] == "41.5 s" and rows[0]["rpo"] == "3 h 0 min"
    table = runner.invoke(drill_history.app, ["list", "--audit-dir", str(log.directory)], env={"COLUMNS": "300"})
    assert table.exit_code == 0 and "drill-003" in table.output and "rp003abcdef" in table.output
    other = runner.invoke(drill_history.app, ["list", "--plan", "other", "--audit-dir", str(log.directory), "-o", "json"])
    assert json.loads(other.output) == []


def test_drill_describe(log: AuditLog) -> None:
    result = runner.invoke(drill_history.app, ["describe", "drill-003", "--audit-dir", str(log.directory)])
    assert result.exit_code == 0
    assert "FAILED" in result.output and "```diff" in result.output and "+ [0, 2]" in result.output
    latest = runner.invoke(drill_history.app, ["describe", "latest", "--audit-dir", str(log.directory), "-o", "json"])
    assert json.loads(latest.output)["id"] == "drill-005"
    ambiguous = runner.invoke(drill_history.app, ["describe", "drill-", "--audit-dir", str(log.directory)])
    assert ambiguous.exit_code == 1 and "5 drills" in ambiguous.output
