"""The weekly digest per team (issue 15): scheduled, said once per week in Slack and by email.

Real store (the seeded history of tests/support/history.py), the digest job handler, the
Slack notifier against the Slack fake and the email connector against an in-process
SMTP server (aiosmtpd): what each team hears is read from the fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from connectors.common.fakeserver import start_fake
from connectors.email import EmailConfig, EmailConnector
from connectors.email.fake import FakeSmtp
from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.fake import FakeSlack
from connectors.slack.notifier import SlackNotifier
from hub.engine.digest import DigestRunner, DigestSchedule
from hub.jobs.kinds import DIGEST
from hub.jobs.queue import JobQueue
from hub.policy import PolicySet, load_policies
from hub.policy.teams import TeamSpec
from hub.store.effects import get_effect
from tests.support.daemon import running_daemon, write_config
from tests.support.history import seed, write_files
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]

INCIDENTS, CHECKOUT_CHANNEL = "C0INCIDNTS", "C0CHKOUT1"
# Monday 29 June 2026, 09:30 UTC: the digest was due at 09:00.
MONDAY = datetime(2026, 6, 29, 9, 30, tzinfo=UTC)
SCHEDULE = DigestSchedule(weekday=0, at=time(9, 0), timezone=ZoneInfo("UTC"))
TEAMS = {
    "checkout": TeamSpec.model_validate(
        {
            "when": {"service": ["Checkout API"]},
            "targets": {
                "slack": {"channel": CHECKOUT_CHANNEL},
                "email": {"stakeholders": ["checkout-leads@example.com"]},
            },
        }
    ),
    "search": TeamSpec.model_validate({"when": {"service": ["Search"]}, "digest": False}),
}


@pytest.fixture
async def slack() -> AsyncIterator[tuple[FakeSlack, SlackNotifier]]:
    fake = FakeSlack(min_post_interval=0.01)
    fake.add_channel(INCIDENTS, "incidents")
    fake.add_channel(CHECKOUT_CHANNEL, "checkout")
    fake.add_user("U0ALICE001", "Alice Chen", "alice@example.com")
    runner, url = await start_fake(fake.make_app())
    config = SlackConfig(
        bot_token=SecretStr(fake.token),
        base_url=f"{url}/api/",
        incidents_channel=INCIDENTS,
        timeout_seconds=5,
        post_interval_seconds=0.01,
    )
    async with aiohttp.ClientSession() as session:
        yield fake, SlackNotifier(SlackConnector.from_config(config, session), config)
    await runner.cleanup()


@pytest.fixture
async def smtp(loopback_tls: LoopbackTls) -> AsyncIterator[tuple[FakeSmtp, EmailConnector]]:
    fake = FakeSmtp(server_tls=loopback_tls.server_context)
    await fake.start()
    config = EmailConfig(
        host="127.0.0.1",
        port=fake.port,
        from_address="pmhub <pmhub@example.com>",
        ca_bundle=loopback_tls.ca_pem,
        timeout_seconds=5,
    )
    yield fake, EmailConnector.from_config(config)
    await fake.stop()


def _policies(tmp_path: Path) -> PolicySet:
    policy, _ = write_files(tmp_path)
    return load_policies([policy], TEAMS)


def test_the_schedule_names_the_next_time_and_the_week() -> None:
    assert SCHEDULE.next_after(MONDAY) == datetime(2026, 7, 6, 9, 0, tzinfo=ZoneInfo("UTC"))
    sunday = datetime(2026, 6, 28, 23, 0, tzinfo=UTC)
    assert SCHEDULE.next_after(sunday) == datetime(2026, 6, 29, 9, 0, tzinfo=ZoneInfo("UTC"))
    new_york = DigestSchedule(weekday=0, at=time(9, 0), timezone=ZoneInfo("America/New_York"))
    # 09:30 UTC is 05:30 in New York: this Monday's digest is still to come.
    assert new_york.next_after(MONDAY).isoformat() == "2026-06-29T09:00:00-04:00"
    assert [d.isoformat() for d in SCHEDULE.week_of(MONDAY)] == ["2026-06-29", "2026-07-06"]


async def test_each_team_hears_its_digest_once_a_week(
    engine: AsyncEngine,
    tmp_path: Path,
    slack: tuple[FakeSlack, SlackNotifier],
    smtp: tuple[FakeSmtp, EmailConnector],
) -> None:
    fake_slack, notifier = slack
    fake_smtp, mailer = smtp
    await seed(engine)
    queue = JobQueue(engine)
    clock = [datetime(2026, 6, 29, 8, 0, tzinfo=UTC)]
    runner = DigestRunner(
        engine,
        queue,
        _policies(tmp_path),
        SCHEDULE,
        notifier=notifier,
        mailer=mailer,
        clock=lambda: clock[0],
    )
    # Scheduled for its team (Search asked for none), twice without a second job.
    await runner.schedule_all()
    await runner.schedule_all()
    [job] = await queue.list_jobs(kind=DIGEST, limit=10)
    assert job.payload == {"team": "checkout", "week": "2026-06-29"}
    assert job.run_at == datetime(2026, 6, 29, 9, tzinfo=UTC)

    clock[0] = MONDAY
    [leased] = await queue.lease("test", limit=1, lease_seconds=60, now=MONDAY)
    await runner(leased)
    await runner(leased)  # run again (a retry after a crash): said once all the same

    # In the team's channel, not #incidents.
    [posted] = fake_slack.posts(CHECKOUT_CHANNEL)
    assert fake_slack.posts(INCIDENTS) == []
    text = str(posted["text"])
    assert text.startswith("Post-mortems of checkout: week of Mon 29 Jun 2026")
    assert "1 open, 0 meeting(s) this week, 1 follow-up(s) overdue" in text
    blocks = str(posted["blocks"])
    assert "PD-PC Incident PC (SEV-2): *Draft*" in blocks
    assert "*Alice Chen*: Follow-up 2 (P1, due 15 Jun)" in blocks
    # And by email, once, to the team's stakeholders.
    [mail] = fake_smtp.received
    assert mail.rcpt_tos == ("checkout-leads@example.com",)
    assert mail.message["Subject"] == "Post-mortems of checkout: week of 29 Jun 2026"
    body = mail.message.get_content().replace("\r\n", "\n")
    assert "Open post-mortems (1):\n  - PD-PC Incident PC (SEV-2): Draft, no owner\n" in body
    assert (
        "Follow-ups overdue (1):\n  Alice Chen:\n    - Follow-up 2 (P1, due 15 Jun, PD-PA)" in body
    )
    effect = await get_effect(engine, "digest:checkout:2026-06-29")
    assert effect is not None
    # The next one is the timer for next Monday.
    pending = await queue.list_jobs(kind=DIGEST, state=None, limit=10)
    assert [j.run_at for j in pending if j.state.value == "pending"] == [
        datetime(2026, 7, 6, 9, tzinfo=UTC)
    ]


async def test_the_daemon_schedules_each_teams_digest_at_start(tmp_path: Path, db_url: str) -> None:
    policy, teams = write_files(tmp_path)
    config = write_config(tmp_path, db_url)
    extra = teams + "  quiet:\n    when: {service: [Billing]}\n    digest: false\n"
    digest = 'digest: {day: fri, time: "16:30", timezone: Europe/Berlin}\n'
    config.write_text(config.read_text() + extra + digest + f"policies: [{policy}]\n")
    friday = datetime(2026, 7, 3, 12, 0, tzinfo=UTC)  # 14:00 in Berlin
    async with running_daemon(config, clock=lambda: friday) as daemon:
        jobs = await daemon.runtime.queue.list_jobs(kind=DIGEST, limit=10)
    berlin = ZoneInfo("Europe/Berlin")
    assert sorted((j.payload["team"], j.run_at) for j in jobs) == [
        ("checkout", datetime(2026, 7, 3, 16, 30, tzinfo=berlin)),
        ("search", datetime(2026, 7, 3, 16, 30, tzinfo=berlin)),
    ]
