"""No configured secret, and no credential header, ever reaches a log line."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from hub.config import load_settings, secret_values
from hub.errors import Transient
from hub.jobs.queue import Job, JobState
from hub.logging import configure_logging
from tests.support.daemon import ADMIN_TOKEN, running_daemon, write_config
from tests.support.signing import PAGERDUTY_SECRET, pagerduty_delivery

SLACK_SECRET = "slack-signing-9f8e7d6c5b4a"
JIRA_SECRET = "jira-hook-secret-1a2b3c4d"
BOT_TOKEN = "xoxb-0000-1111-secretbot"
EXTRA = f"""
  slack:
    signing_secret: {SLACK_SECRET}
  jira:
    webhook_secret: {JIRA_SECRET}
connectors:
  slack:
    bot_token: {BOT_TOKEN}
    incidents_channel: C0INCIDENTS
log:
  level: debug
  format: json
"""


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    yield stream
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(logging.WARNING)
    structlog.reset_defaults()


async def test_no_secret_in_any_log_line(
    tmp_path: Path, db_url: str, captured_logs: io.StringIO
) -> None:
    config = write_config(tmp_path, db_url)
    # Slack and Jira land under the existing `sources:` mapping, the rest at top level.
    config.write_text(config.read_text().replace("admin:", EXTRA.lstrip("\n") + "admin:"))
    settings = load_settings(config)
    secrets = secret_values(settings)
    assert {PAGERDUTY_SECRET, SLACK_SECRET, JIRA_SECRET, BOT_TOKEN, ADMIN_TOKEN} <= set(secrets)
    configure_logging(level="debug", fmt="json", secrets=secrets, stream=captured_logs)

    async def leaky(job: Job) -> None:
        # A careless vendor error that echoes the credential back.
        raise Transient(f"401 from vendor: token {BOT_TOKEN} revoked")

    async with running_daemon(config, extra_handlers={"leaky": leaky}) as daemon:
        body, headers = pagerduty_delivery()
        headers["Authorization"] = f"Bearer {PAGERDUTY_SECRET}"
        assert (
            await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
        ).status == 202
        forged, forged_headers = pagerduty_delivery(secret=JIRA_SECRET)
        assert (
            await daemon.client.post("/webhooks/pagerduty", data=forged, headers=forged_headers)
        ).status == 401
        await daemon.client.get("/api/v1/jobs", headers=daemon.admin_headers())
        await daemon.client.get("/api/v1/jobs", headers={"Authorization": f"Bearer {SLACK_SECRET}"})
        job_id = await daemon.runtime.queue.enqueue("leaky", {"token": BOT_TOKEN})
        assert job_id is not None
        daemon.runtime.worker.wake()
        async with asyncio.timeout(10):
            while (job := await daemon.runtime.queue.get(job_id)) is None or job.attempts < 1:
                await asyncio.sleep(0.05)
        assert job.state in (JobState.PENDING, JobState.RUNNING, JobState.DEAD)

    output = captured_logs.getvalue()
    lines = [line for line in output.splitlines() if line.strip()]
    assert any('"http.request"' in line for line in lines), output[:2000]
    assert any('"job.finished"' in line for line in lines), output[:2000]
    for line in lines:
        json.loads(line)  # every line is JSON in production format
        for secret in (PAGERDUTY_SECRET, SLACK_SECRET, JIRA_SECRET, BOT_TOKEN, ADMIN_TOKEN):
            assert secret not in line, f"secret leaked in: {line}"
    assert "[redacted]" in output
