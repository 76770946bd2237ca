"""Issue 13, a lifecycle with no traps: the whole daemon, PagerDuty (TLS), Slack, Calendar.

Each moment the process cannot go on by itself reaches a named person once, visible on
the Slack fake, and ends in a decided state - never a dead job or a post-mortem left
in Draft forever:

* a downgrade (P1 lowered to P3 after the post-mortem started): the owner is asked to
  keep it or close it; closed (by the button, or by the policy's default a business
  day later), the meeting is cancelled with the reason in its description and the
  reason is in the audit log;
* the incident reopened after the review meeting: the owner is asked whether a second
  review is needed; yes books a new meeting once it is resolved again.

"Now" is a Thursday in the future, on a clock the test moves forward.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from hub.store.audit import list_entries
from tests.e2e.calendar_support import (
    INCIDENT,
    POSTMORTEM,
    Fakes,
    calendar_config,
    fakes,
    postmortem,
    resolve_incident,
    settle,
    z,
)
from tests.e2e.conftest import INCIDENTS_CHANNEL, SLACK_ALICE, Served
from tests.e2e.test_keeping_true import BOOKED, CREATED, NOW, RESOLVED, MovableClock, ny
from tests.e2e.test_slack_flow import SLACK_SECRET, _signed
from tests.support.daemon import Daemon, running_daemon
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["fakes", "loopback_tls"]

ASK = f"{POSTMORTEM}:requirement:ask@"
SECOND = f"{POSTMORTEM}:review:again@"


@pytest.fixture
def config(
    tmp_path: Path,
    db_url: str,
    fakes: Fakes,
    slack_fake: Served[FakeSlack],
    loopback_tls: LoopbackTls,
) -> Path:
    path = calendar_config(tmp_path, db_url, fakes, loopback_tls)
    # The `from_email` pmhub writes PagerDuty notes as must be a PagerDuty user.
    fakes.pagerduty.add_user("PPMHUB1", "pmhub", "pmhub@example.com")
    slack = (
        "connectors:\n"
        "  slack:\n"
        f"    bot_token: {slack_fake.fake.token}\n"
        f"    base_url: {slack_fake.base_url}/api/\n"
        f"    incidents_channel: {INCIDENTS_CHANNEL}\n"
    )
    text = path.read_text().replace("connectors:\n", slack)
    text = text.replace("sources:\n", f"sources:\n  slack:\n    signing_secret: {SLACK_SECRET}\n")
    path.write_text(text.replace("lease_seconds: 5", "lease_seconds: 60"))
    return path


def posts(slack: FakeSlack, where: str, key: str) -> list[dict[str, Any]]:
    channel = slack.dms.get(where, where)
    return [m for m in slack.posts(channel) if (effect_key_of(m) or "").startswith(key)]


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", []))


async def press(
    daemon: Daemon, served: Served[FakeSlack], clock: MovableClock, key: str, action: str
) -> list[str]:
    """Alice presses a button on the message posted under `key`; what she is answered."""
    slack = served.fake
    channel = slack.dms[SLACK_ALICE]
    [message] = [m for m in slack.posts(channel) if (effect_key_of(m) or "").startswith(key)]
    payload = slack.press_button(served.base_url, SLACK_ALICE, channel, message["ts"], action)
    body, headers = _signed({"payload": json.dumps(payload)}, clock())
    response = await daemon.client.post("/webhooks/slack/interactions", data=body, headers=headers)
    assert response.status == 200
    await settle(daemon)
    hook = payload["response_url"].split("/commands/", 1)[1]
    return [json.dumps(reply) for reply in slack.replies[hook]]


async def lower_priority(daemon: Daemon, fakes: Fakes, priority: str, at: Any) -> None:
    """Someone lowers the incident's priority in PagerDuty after it was resolved."""
    incident = fakes.pagerduty.incidents[INCIDENT]
    incident["priority"] = {**incident["priority"], "summary": priority, "name": priority}
    incident["updated_at"] = z(at)
    body, headers = pagerduty_delivery(
        "incident.priority_updated",
        incident_id=INCIDENT,
        extra_data={"status": "resolved", "priority": {"summary": priority, "id": "PRIP3"}},
        occurred_at=z(at),
    )
    response = await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
    assert response.status == 202
    await settle(daemon)


async def dead_jobs(daemon: Daemon) -> list[Any]:
    response = await daemon.client.get("/api/v1/jobs?state=dead", headers=daemon.admin_headers())
    jobs: list[Any] = (await response.json())["jobs"]
    return jobs


async def booked(daemon: Daemon, fakes: Fakes) -> None:
    await resolve_incident(daemon, fakes, priority="P1", created=CREATED, resolved=RESOLVED)

    async def meeting() -> bool:
        body = await postmortem(daemon)
        return body is not None and body["meeting"] is not None

    await settle(daemon, meeting)


async def test_a_downgrade_strands_the_post_mortem_unless_the_owner_is_asked(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    """P1 lowered to P3 after the post-mortem started: asked, closed by the button, the
    meeting cancelled saying why, the reason in the audit log."""
    slack, clock = slack_fake.fake, MovableClock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await booked(daemon, fakes)
        await lower_priority(daemon, fakes, "P3", NOW + timedelta(minutes=2))
        [question] = posts(slack, SLACK_ALICE, ASK)
        assert "no longer required" in shown(question)
        assert "pm_keep" in shown(question)
        assert "pm_not_needed" in shown(question)

        answers = await press(daemon, slack_fake, clock, ASK, "pm_not_needed")
        body = await postmortem(daemon)
        entries = await list_entries(daemon.runtime.engine, f"pagerduty:{INCIDENT}", limit=200)
        dead = await dead_jobs(daemon)

    assert any("not needed" in answer for answer in answers)
    assert body is not None
    assert body["status"] == "closed"
    assert "no longer required: the incident is now SEV-3" in body["not_needed_reason"]
    # The meeting (still ahead) is cancelled, its description saying why.
    [event] = fakes.calendar.stored()
    assert event["status"] == "cancelled"
    assert event["description"].startswith("Cancelled: the post-mortem is not needed")
    assert "SEV-3" in event["description"]
    # The question was asked once, and now says how it ended (no buttons left).
    [question] = posts(slack, SLACK_ALICE, ASK)
    assert "edited" in question
    assert "closed as not needed" in shown(question)
    assert "pm_keep" not in shown(question)
    # The audit log says why: the drop, then the close with its reason.
    actions = [e.action for e in entries]
    assert "requirement_dropped" in actions
    [close] = [e for e in entries if e.action == "transition" and e.detail.get("not_needed")]
    assert "no longer required" in close.reason
    # No outcome broadcast for a post-mortem that was not needed, and nothing dead.
    assert posts(slack, INCIDENTS_CHANNEL, f"{POSTMORTEM}:outcome") == []
    assert dead == []


async def test_a_downgrade_nobody_answers_closes_by_the_policy_default(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    """The shipped policy: closed as not needed a business day later, and said so."""
    slack, clock = slack_fake.fake, MovableClock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await booked(daemon, fakes)
        await lower_priority(daemon, fakes, "P3", NOW + timedelta(minutes=2))
        assert (await postmortem(daemon) or {})["status"] == "draft"
        clock.advance(timedelta(days=1, hours=1))  # Friday, past the business day
        await settle(daemon)
        body = await postmortem(daemon)
        entries = await list_entries(daemon.runtime.engine, f"pagerduty:{INCIDENT}", limit=200)
        dead = await dead_jobs(daemon)

    assert body is not None
    assert body["status"] == "closed"
    assert body["requirement_dropped"]["answer"] == "close"
    assert body["requirement_dropped"]["answered_by"] is None  # the default, not a person
    [close] = [e for e in entries if e.action == "transition" and e.detail.get("not_needed")]
    assert "nobody chose to keep it" in close.reason
    assert close.actor == "name:pmhub"
    [question] = posts(slack, SLACK_ALICE, ASK)
    assert "Decided by the default" in shown(question)
    assert dead == []


async def test_a_meeting_held_while_the_incident_was_reopened_asks_for_a_second_review(
    config: Path, fakes: Fakes, slack_fake: Served[FakeSlack]
) -> None:
    """Reopened after the meeting: the owner is asked; a second review books a new
    meeting once the incident is resolved again."""
    slack, clock = slack_fake.fake, MovableClock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await booked(daemon, fakes)
        clock.advance(BOOKED - NOW + timedelta(hours=1))  # the meeting was held
        reopened_at = ny(11, 14, 16, 45)
        pd = fakes.pagerduty.incidents[INCIDENT]
        pd.update(status="triggered", resolved_at=None, updated_at=z(reopened_at))
        body, headers = pagerduty_delivery(
            "incident.reopened",
            incident_id=INCIDENT,
            extra_data={"status": "triggered"},
            occurred_at=z(reopened_at),
        )
        assert (await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)).status
        await settle(daemon)
        [question] = posts(slack, SLACK_ALICE, SECOND)
        assert "pm_second_review" in shown(question)

        answers = await press(daemon, slack_fake, clock, SECOND, "pm_second_review")
        after_answer = await postmortem(daemon)
        # Resolved again: the second review gets a meeting of its own.
        clock.advance(timedelta(minutes=30))
        await resolve_incident(
            daemon, fakes, priority="P1", created=CREATED, resolved=clock() - timedelta(minutes=5)
        )

        async def second_meeting() -> bool:
            pm = await postmortem(daemon)
            return pm is not None and pm["meeting"] is not None

        await settle(daemon, second_meeting)
        final = await postmortem(daemon)
        dead = await dead_jobs(daemon)

    assert any("second review" in answer for answer in answers)
    assert after_answer is not None
    assert after_answer["status"] == "draft"
    assert after_answer["meeting"] is None
    assert [m["event_ref"] for m in after_answer["past_meetings"]]
    assert final is not None
    first, second = fakes.calendar.stored()
    assert first["id"] != second["id"]
    assert final["meeting"]["event_ref"] == second["id"]
    [question] = posts(slack, SLACK_ALICE, SECOND)
    assert "edited" in question
    assert "pm_second_review" not in shown(question)
    assert dead == []
