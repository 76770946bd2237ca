"""`pmhub check|serve|schema|migrate|jobs` as a person at a shell uses them."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.errors import Permanent
from hub.jobs.pauses import deferred_error, pause
from hub.jobs.queue import JobQueue
from hub.store.db import create_engine
from hub.store.migrate import upgrade

BROKEN = {
    "missing_key": (
        "sources:\n  pagerduty:\n    base_url: https://api.pagerduty.com\n",
        2,
        "webhook_secrets",
    ),
    "wrong_type": ("server:\n  port: eighty\n", 2, "port"),
    "unknown_key": ("server:\n  hots: 0.0.0.0\n", 2, "allowed:"),
    "bad_yaml": ("server:\n  port: 8080\n   host: x\n", 3, ""),
}
POSITION = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): ")


def _first_problem(output: str) -> re.Match[str]:
    for line in output.splitlines():
        match = POSITION.match(line)
        if match:
            return match
    raise AssertionError(f"no file:line:column line in:\n{output}")


@pytest.mark.parametrize("case", sorted(BROKEN))
@pytest.mark.parametrize("command", ["check", "serve"])
def test_broken_configuration_is_reported_with_position(
    tmp_path: Path, case: str, command: str
) -> None:
    text, line, needle = BROKEN[case]
    config = tmp_path / f"{case}.yaml"
    config.write_text(text)
    result = CliRunner().invoke(main, [command, "--config", str(config)])
    # `serve` refuses to start: the same validation, the same answer, non-zero exit.
    assert result.exit_code == 1, result.output
    match = _first_problem(result.output)
    assert match["file"].endswith(f"{case}.yaml")
    assert int(match["line"]) == line
    assert needle in result.output
    assert "Traceback" not in result.output


def test_check_accepts_the_shipped_configuration() -> None:
    result = CliRunner().invoke(main, ["check", "--config", "config/pmhub.yaml"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output


def test_missing_configuration_file_is_one_clear_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["check", "--config", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 1
    assert "nope.yaml" in result.output
    assert "Traceback" not in result.output


def test_schema_prints_the_configuration_json_schema() -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    document = json.loads(result.output)
    assert {"server", "store", "admin", "worker", "sources", "connectors", "policies"} <= set(
        document["properties"]
    )


def _config_with_store(tmp_path: Path) -> tuple[Path, str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'pmhub.db'}"
    config = tmp_path / "pmhub.yaml"
    config.write_text(f'store:\n  url: "{url}"\n')
    return config, url


def test_jobs_pauses_and_resume_connector(tmp_path: Path) -> None:
    config, url = _config_with_store(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["migrate", "--config", str(config)]).exit_code == 0

    async def pause_slack_with_a_waiting_job() -> int:
        engine = create_engine(url)
        try:
            now = datetime.now(UTC)
            later = now + timedelta(minutes=15)
            await pause(engine, "slack", "AuthFailed: invalid_auth", now=now, probe_at=later)
            queue = JobQueue(engine)
            job_id = await queue.enqueue("effect", {"key": "k", "connector": "slack"})
            assert job_id is not None
            [job] = await queue.lease("test", limit=1, lease_seconds=30, now=datetime.now(UTC))
            error = deferred_error("slack", "AuthFailed: invalid_auth")
            await queue.fail(job, "test", error, retry_at=later, counted=False)
            return job_id
        finally:
            await engine.dispose()

    async def run_at(job_id: int) -> datetime:
        engine = create_engine(url)
        try:
            job = await JobQueue(engine).get(job_id)
            assert job is not None
            return job.run_at
        finally:
            await engine.dispose()

    job_id = asyncio.run(pause_slack_with_a_waiting_job())
    listed = runner.invoke(main, ["jobs", "pauses", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    assert "slack" in listed.output
    assert "AuthFailed: invalid_auth" in listed.output

    resumed = runner.invoke(main, ["jobs", "resume-connector", "slack", "--config", str(config)])
    assert resumed.exit_code == 0, resumed.output
    assert asyncio.run(run_at(job_id)) <= datetime.now(UTC)
    again = runner.invoke(main, ["jobs", "resume-connector", "slack", "--config", str(config)])
    assert again.exit_code == 1
    assert "not paused" in again.output


def test_migrate_then_jobs_list_and_retry(tmp_path: Path) -> None:
    config, url = _config_with_store(tmp_path)
    runner = CliRunner()
    migrated = runner.invoke(main, ["migrate", "--config", str(config)])
    assert migrated.exit_code == 0, migrated.output

    async def make_dead_job() -> int:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            queue = JobQueue(engine)
            job_id = await queue.enqueue("reconcile", {"incident_id": "pagerduty:P1"})
            assert job_id is not None
            [job] = await queue.lease("test", limit=1, lease_seconds=30, now=datetime.now(UTC))
            await queue.fail(job, "test", str(Permanent("no such project")), retry_at=None)
            return job_id
        finally:
            await engine.dispose()

    job_id = asyncio.run(make_dead_job())
    listed = runner.invoke(main, ["jobs", "list", "--state", "dead", "--config", str(config)])
    assert listed.exit_code == 0, listed.output
    assert str(job_id) in listed.output
    assert "no such project" in listed.output

    retried = runner.invoke(main, ["jobs", "retry", str(job_id), "--config", str(config)])
    assert retried.exit_code == 0, retried.output
    again = runner.invoke(main, ["jobs", "retry", str(job_id), "--config", str(config)])
    assert again.exit_code == 1
    assert "not dead" in again.output
