"""A Slack outage longer than eight attempts is outlasted; revoked credentials pause
Slack instead of killing its jobs (issue 12, defect 2).

Slack answers 503 to users.lookupByEmail forty times in a row, then recovers. With
retries counted (eight attempts) five effect jobs were dead-lettered, the owner's DM
among them, and the owner never told; retried by time, within the effect jobs' horizon,
the DM arrives exactly once. The daemon's test settings keep the backoff short, so the
retries take moments.
"""

from __future__ import annotations

from pathlib import Path

from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.fake import FakeSlack
from hub.jobs.pauses import list_pauses, resume
from hub.jobs.queue import JobState
from tests.e2e.conftest import SLACK_ALICE, Served
from tests.e2e.test_slack_flow import (
    NOW,
    _announcements,
    _every_key_once,
    _incident_lifecycle,
    _owner_dms,
    config,
)
from tests.support.daemon import running_daemon, settle, shifted_clock

__all__ = ["config"]

OUTAGE = 40  # failed calls in a row: five times the eight attempts a job used to have


async def test_an_outage_longer_than_eight_attempts_still_tells_the_owner_once(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    # The horizon alone decides, as with the shipped defaults (no attempt cap).
    config.write_text(config.read_text().replace("  max_attempts: 3\n", ""))
    slack = slack_fake.fake
    slack.fail(503, times=OUTAGE, method="users.lookupByEmail")
    async with running_daemon(config, clock=shifted_clock(NOW)) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)
        dead = await daemon.runtime.queue.list_jobs(state=JobState.DEAD)
    assert [(job.kind, job.last_error) for job in dead] == []
    failed = [e for e in slack.exchanges if e.fault is not None]
    assert len(failed) == OUTAGE
    assert len(_owner_dms(slack, SLACK_ALICE)) == 1
    assert len(_announcements(slack)) == 1
    _every_key_once(slack)


async def test_revoked_slack_credentials_pause_slack_until_resumed(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    slack = slack_fake.fake
    slack.error("token_revoked", times=None)
    async with running_daemon(config, clock=shifted_clock(NOW)) as daemon:
        runtime = daemon.runtime
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)  # the Slack jobs wait for the next probe, minutes away
        calls_while_paused = len(slack.exchanges)
        [pause] = await list_pauses(runtime.engine)
        waiting = await runtime.queue.list_jobs(state=JobState.PENDING, kind="effect")
        dead = await runtime.queue.list_jobs(state=JobState.DEAD)
        metrics = await (await daemon.client.get("/metrics")).text()

        slack.faults.clear()  # a person installs a new token, then resumes Slack
        assert await resume(runtime.engine, "slack", now=runtime.clock())
        await settle(daemon)
        after = await list_pauses(runtime.engine)
    assert pause.connector == "slack"
    assert "token_revoked" in pause.reason
    assert dead == []
    # The Slack jobs that came due (not the timers further ahead) wait for the connector.
    slack_jobs = [
        job for job in waiting if job.payload.get("connector") == "slack" and job.attempts
    ]
    assert slack_jobs
    assert all((job.last_error or "").startswith("paused: connector slack:") for job in slack_jobs)
    assert all(job.first_failed_at is None for job in slack_jobs)
    # Only the runs that met the refusal called Slack; the rest waited without calling.
    assert calls_while_paused <= len(slack_jobs)
    assert 'pmhub_connector_paused{connector="slack"} 1.0' in metrics
    assert after == []
    assert len(_owner_dms(slack, SLACK_ALICE)) == 1
    assert len(_announcements(slack)) == 1
    _every_key_once(slack)


OPS_CHANNEL = "C0OPS0001"


async def test_a_dead_job_is_told_once_in_the_operations_channel(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    slack = slack_fake.fake
    slack.add_channel(OPS_CHANNEL, "pmhub-ops")
    text = config.read_text().replace("worker:\n", f"worker:\n  alert_channel: {OPS_CHANNEL}\n")
    config.write_text(text)
    slack.error("not_in_channel", method="chat.postMessage")  # one post can never succeed
    async with running_daemon(config, clock=shifted_clock(NOW)) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)
        [dead] = await daemon.runtime.queue.list_jobs(state=JobState.DEAD)
    [notice] = slack.posts(OPS_CHANNEL)
    assert f"gave up on effect job {dead.id}" in notice["text"]
    assert dead.last_error is not None
    assert dead.last_error in notice["text"]
    assert f"pmhub jobs retry {dead.id}" in notice["text"]
