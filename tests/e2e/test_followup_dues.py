"""Follow-ups with due dates, the whole daemon under simulated time (issue 15).

A resolved SEV-1 from PagerDuty; two P1 follow-ups added through the admin API. Each is
filed in Jira with the due date the policy gives a P1 (2 weeks). A person moves the
first one's due date in Jira (a signed `issue_updated` webhook): pmhub follows. The
clock then walks past each stage: its owner is reminded 2 business days before the
new date and on it, and the policy's escalation contact hears the day after, each
once, read from the Slack fake. The second follow-up is done in Jira before any of
that: nobody is reminded of it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web

from connectors.common.fakeserver import start_fake
from connectors.jira.fake import ISSUE_ONE, FakeJira
from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.fake import FakeSlack
from hub.demo.driver import DemoClock
from hub.model.postmortem import FollowUpState, PostMortem
from hub.store.state import load_postmortem
from tests.support.daemon import Daemon, running_daemon, settle, write_config
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]

NEW_YORK = ZoneInfo("America/New_York")
INCIDENT, ESCALATION_POLICY, ALICE_PD = "PDUE001", "PUS0KTE", "PTUXL6G"
INCIDENT_ID = f"pagerduty:{INCIDENT}"
JIRA_SECRET = "jira-webhook-secret-dues"
ALICE_SLACK, BOB_SLACK, CAROL_SLACK, INCIDENTS = (
    "U0ALICE001",
    "U0BOB00001",
    "U0CAROL001",
    "C0INCIDNTS",
)
# Monday 1 March 2027, 10:00 in New York: the follow-ups are added then.
START = datetime(2027, 3, 1, 10, 0, tzinfo=NEW_YORK)
POLICY = """\
version: 1
calendar: {timezone: America/New_York, holidays: {country: US}}
directory:
  default:
    engineering_manager: carol@example.com
rules:
  - name: major
    when: {severity: [SEV-1, SEV-2]}
    postmortem: required
    owner: [first_acknowledger, primary_oncall]
    follow_ups:
      priorities: [P0, P1]
      due: {P0: 1 week, P1: 2 weeks}
      remind: {before: 2 business days}
      escalate: {after: 1 business day, to: engineering_manager}
"""


@dataclass
class World:
    jira: FakeJira
    slack: FakeSlack
    jira_url: str
    config: Path


@pytest.fixture
async def world(tmp_path: Path, db_url: str, loopback_tls: LoopbackTls) -> AsyncIterator[World]:
    pagerduty = FakePagerDuty(token="pd-api-token-e2e")
    pagerduty.add_user(ALICE_PD, "Alice Chen", "alice@example.com")
    pagerduty.add_user("PPMHUB1", "pmhub", "pmhub@example.com")
    pagerduty.add_oncall(ESCALATION_POLICY, ALICE_PD, level=1, schedule=("PI7DH84", "Primary"))
    resolved = "2027-03-01T14:30:00Z"
    pagerduty.add_incident(
        INCIDENT,
        status="resolved",
        created_at="2027-03-01T12:00:00Z",
        updated_at=resolved,
        resolved_at=resolved,
        priority="P1",
        assignees=[(ALICE_PD, "2027-03-01T12:00:05Z")],
        acknowledgers=[(ALICE_PD, "2027-03-01T12:04:00Z")],
    )
    jira = FakeJira()
    for account, name in (("acc-alice", "Alice Chen"), ("acc-bob", "Bob Okafor")):
        jira.add_user(account, name, f"{name.split()[0].lower()}@example.com")
    slack = FakeSlack(min_post_interval=0.01)
    for user, name in ((ALICE_SLACK, "Alice Chen"), (BOB_SLACK, "Bob Okafor")):
        slack.add_user(user, name, f"{name.split()[0].lower()}@example.com")
    slack.add_user(CAROL_SLACK, "Carol Diaz", "carol@example.com")
    slack.add_channel(INCIDENTS, "incidents")
    runners: list[web.AppRunner] = []
    try:
        pd_runner, pd_url = await start_fake(
            pagerduty.make_app(), ssl_context=loopback_tls.server_context
        )
        runners.append(pd_runner)
        jira_runner, jira_url = await start_fake(jira.make_app())
        runners.append(jira_runner)
        slack_runner, slack_url = await start_fake(slack.make_app())
        runners.append(slack_runner)
        policy = tmp_path / "policy.yaml"
        policy.write_text(POLICY)
        config = write_config(tmp_path, db_url)
        sources = (
            f"    api_token: pd-api-token-e2e\n    base_url: {pd_url}\n"
            f"    ca_bundle: {loopback_tls.ca_pem}\n    from_email: pmhub@example.com\n"
            f"  jira:\n    webhook_secret: {JIRA_SECRET}\n"
        )
        connectors = (
            f"connectors:\n  jira:\n    url: {jira_url}\n    email: pmhub@example.com\n"
            "    api_token: jira-test-token\n    project: OPS\n"
            f"  slack:\n    bot_token: {slack.token}\n    base_url: {slack_url}/api/\n"
            f"    incidents_channel: {INCIDENTS}\n"
        )
        text = config.read_text().replace("admin:", f"{sources}admin:")
        config.write_text(text + connectors + f"policies: [{policy}]\n")
        yield World(jira, slack, jira_url, config)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


async def _resolve(daemon: Daemon) -> None:
    body, headers = pagerduty_delivery(
        "incident.resolved",
        incident_id=INCIDENT,
        extra_data={"status": "resolved", "priority": {"summary": "P1", "id": "PRIP1"}},
        occurred_at="2027-03-01T14:30:00Z",
    )
    response = await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
    assert response.status == 202
    await settle(daemon)


async def _add_follow_up(daemon: Daemon, summary: str, owner: str) -> None:
    response = await daemon.client.post(
        f"/api/v1/postmortems/pm:{INCIDENT_ID}/follow-ups",
        json={"summary": summary, "priority": "P1", "owner_email": owner},
        headers=daemon.admin_headers(),
    )
    assert response.status in (200, 201), await response.text()


async def _jira_updated(daemon: Daemon, world: World, key: str) -> None:
    """Jira's `issue_updated`, carrying the issue as the fake now has it."""
    issue = world.jira.issue(key)
    body = json.dumps(
        {
            "timestamp": int(daemon.runtime.clock().timestamp() * 1000),
            "webhookEvent": "jira:issue_updated",
            "issue_event_type_name": "issue_generic",
            "issue": {
                "id": issue["id"],
                "self": f"{world.jira_url}/rest/api/2/issue/{issue['id']}",
                "key": key,
                "fields": issue["fields"],
            },
        }
    ).encode()
    digest = hmac.new(JIRA_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature": f"sha256={digest}",
        "X-Atlassian-Webhook-Identifier": str(uuid.uuid4()),
    }
    response = await daemon.client.post("/webhooks/jira", data=body, headers=headers)
    assert response.status == 202
    await settle(daemon)


async def _postmortem(daemon: Daemon) -> PostMortem:
    pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)
    assert pm is not None
    return pm


def _reminders(world: World, user: str) -> list[str]:
    """The follow-up reminders a user got by DM (the owner's post-mortem DM aside)."""
    channel = world.slack.dms.get(user)
    posts = world.slack.posts(channel) if channel else []
    return [
        str(m.get("text"))
        for m in posts
        if ":remind:" in str(m.get("metadata", {}).get("event_payload", {}).get("effect_key"))
    ]


async def _at(daemon: Daemon, clock: DemoClock, day: date, hour: int = 10) -> None:
    clock.advance_to(datetime(day.year, day.month, day.day, hour, 0, tzinfo=NEW_YORK))
    await settle(daemon)


async def test_due_dates_set_synced_back_reminded_and_escalated_once(world: World) -> None:
    clock = DemoClock(START)
    async with running_daemon(world.config, clock=clock) as daemon:
        await _resolve(daemon)
        await _add_follow_up(daemon, "Alert on checkout 5xx rate", "alice@example.com")
        await _add_follow_up(daemon, "Canary config pushes", "bob@example.com")
        await settle(daemon)

        # Filed with the policy's due date for a P1: two weeks from Monday 1 March.
        pm = await _postmortem(daemon)
        first, second = pm.follow_ups
        assert first.tracker_key is not None
        assert second.tracker_key is not None
        for item in (first, second):
            assert world.jira.issue(item.tracker_key or "")["fields"]["duedate"] == "2027-03-15"
            assert (item.due_on, item.due_set_by) == (date(2027, 3, 15), "pmhub")

        # A person moves the first one's due date to Wednesday 17 March in Jira.
        world.jira.issue(first.tracker_key)["fields"]["duedate"] = "2027-03-17"
        await _jira_updated(daemon, world, first.tracker_key)
        moved = (await _postmortem(daemon)).follow_ups[0]
        assert (moved.due_on, moved.due_set_by, moved.tracker_due_on) == (
            date(2027, 3, 17),
            "jira",
            date(2027, 3, 17),
        )
        # pmhub follows; it does not write the date back (it already is Jira's).
        assert world.jira.count("PUT", ISSUE_ONE) == 0

        # Bob finishes his in Jira before anything is due: it is done, nobody is reminded.
        world.jira.issue(second.tracker_key)["fields"]["status"] = {
            "name": "Done",
            "id": "10001",
            "statusCategory": {"key": "done", "name": "Done"},
        }
        await _jira_updated(daemon, world, second.tracker_key)
        assert (await _postmortem(daemon)).follow_ups[1].state is FollowUpState.DONE

        # Nothing before Monday 15 March (2 business days before Wednesday 17).
        await _at(daemon, clock, date(2027, 3, 12))
        assert _reminders(world, ALICE_SLACK) == []
        await _at(daemon, clock, date(2027, 3, 15))
        assert len(_reminders(world, ALICE_SLACK)) == 1
        assert (
            "Alert on checkout 5xx rate is due Wed 17 Mar 2027" in _reminders(world, ALICE_SLACK)[0]
        )
        # On the due date.
        await _at(daemon, clock, date(2027, 3, 17))
        assert len(_reminders(world, ALICE_SLACK)) == 2
        assert "is due today (Wed 17 Mar 2027)" in _reminders(world, ALICE_SLACK)[1]
        assert _reminders(world, CAROL_SLACK) == []
        # Overdue by a business day (Friday 19 March): the engineering manager hears.
        await _at(daemon, clock, date(2027, 3, 19))
        [escalation] = _reminders(world, CAROL_SLACK)
        assert escalation.startswith("Escalation")
        assert "Alert on checkout 5xx rate was due Wed 17 Mar 2027 and is still open" in escalation
        # A week later, and after another reconcile: still once each, and never for Bob's.
        await _at(daemon, clock, date(2027, 3, 26))
        assert len(_reminders(world, ALICE_SLACK)) == 2
        assert len(_reminders(world, CAROL_SLACK)) == 1
        assert _reminders(world, BOB_SLACK) == []
