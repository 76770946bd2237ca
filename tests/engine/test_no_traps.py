"""Issue 13 at the performers, against the vendors' fakes (no doubles of pmhub's code).

Requests are built the way the effect runner builds them: from a real plan.

* a follow-up whose owner Jira does not know is filed unassigned, and the post-mortem
  owner is told with the ticket's link; a failing user search does not lose the ticket;
* a post-mortem closed as not needed cancels its meeting, the description saying why;
* an escalation that climbs to a Slack user group mentions the group in the channel;
* pmhub's move is written to incident.io's post-mortem document.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.common.fakeserver import start_fake
from connectors.google_calendar import GoogleCalendarConfig, GoogleCalendarConnector
from connectors.google_calendar.fake import FakeGoogleCalendar
from connectors.incidentio import IncidentIoConfig, IncidentIoConnector
from connectors.incidentio.fake import FakeIncidentIo
from connectors.jira import JiraConfig, JiraConnector
from connectors.jira.fake import USER_SEARCH, FakeJira
from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from connectors.slack.notifier import SlackNotifier
from hub.engine.effects import EffectRequest, Performer
from hub.engine.performers.cancel import cancel_performers
from hub.engine.performers.chat import chat_performers
from hub.engine.performers.tracker import tracker_performers
from hub.engine.performers.vendor import vendor_performers
from hub.intake.merge import merge
from hub.model.incident import Incident, Person, Source
from hub.model.incident_record import IncidentUpdate
from hub.model.intent import IntentKind
from hub.model.postmortem import FollowUp, Meeting, PostMortem, PostMortemStatus
from hub.policy import PolicySet, evaluate, load_policies, parse_policy

POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
POLICIES = load_policies([POLICY])
NY = ZoneInfo("America/New_York")
RESOLVED = datetime(2026, 11, 19, 14, 5, tzinfo=NY)  # Thursday
NOW = datetime(2026, 11, 19, 14, 10, tzinfo=NY)
ALICE = Person(email="alice@example.com", name="Alice Chen")
CAROL = Person(email="carol@example.com", name="Carol Diaz")
SLACK_ALICE = "U0ALICE001"
INCIDENTS = "C0INCIDNTS"


def incident(source: Source = Source.PAGERDUTY, **fields: Any) -> Incident:
    values: dict[str, Any] = {
        "title": "Checkout API 5xx",
        "reference": "PD-1042",
        "severity": "SEV-1",
        "status": "resolved",
        "created_at": RESOLVED - timedelta(hours=5),
        "resolved_at": RESOLVED,
        "incident_commander": ALICE,
    }
    update = IncidentUpdate.of(source, "P1042", RESOLVED, values | fields)
    return merge(None, update).record.incident


def request(
    subject: Incident,
    pm: PostMortem,
    kind: IntentKind,
    *,
    now: datetime = NOW,
    policies: PolicySet = POLICIES,
) -> EffectRequest:
    plan = evaluate(subject, pm, policies, now)
    intent = plan.intent_of(kind)
    assert intent is not None, (kind, plan.notes)
    return EffectRequest(intent, subject, pm, plan, unknown_outcome=False)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def slack(
    session: aiohttp.ClientSession,
) -> AsyncIterator[tuple[FakeSlack, dict[IntentKind, Performer]]]:
    fake = FakeSlack(min_post_interval=0.01)
    fake.add_user(SLACK_ALICE, "Alice Chen", "alice@example.com")
    fake.add_channel(INCIDENTS, "incidents")
    runner, url = await start_fake(fake.make_app())
    config = SlackConfig(
        bot_token=SecretStr(fake.token),
        base_url=f"{url}/api/",
        incidents_channel=INCIDENTS,
        post_interval_seconds=0.01,
    )
    yield fake, chat_performers(SlackNotifier(SlackConnector.from_config(config, session), config))
    await runner.cleanup()


@pytest.fixture
async def jira() -> AsyncIterator[tuple[FakeJira, JiraConnector]]:
    fake = FakeJira()
    fake.add_project("OPS", "Operations")
    fake.add_user("5b10a2844c20165700ede21g", "Alice Chen", "alice@example.com")
    runner, url = await start_fake(fake.make_app())
    connector = JiraConnector.from_config(
        JiraConfig(
            url=url,
            email=fake.email,
            api_token=SecretStr(fake.api_token),
            project="OPS",
            timeout_seconds=5,
        )
    )
    yield fake, connector
    await connector.close()
    await runner.cleanup()


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", [])) + str(message.get("text", ""))


@pytest.mark.parametrize("search_fails", [False, True], ids=["unknown-owner", "search-fails"])
async def test_a_follow_up_whose_owner_jira_does_not_know_is_filed_and_the_owner_told(
    jira: tuple[FakeJira, JiraConnector],
    slack: tuple[FakeSlack, dict[IntentKind, Performer]],
    search_fails: bool,
) -> None:
    fake_jira, connector = jira
    fake_slack, chat = slack
    if search_fails:
        # An optional enrichment that fails never kills the main effect.
        fake_jira.fail(403, method="GET", route=USER_SEARCH, times=None)
    subject = incident()
    item = FollowUp(id="7", summary="Alert on checkout 5xx", priority="P1", owner=CAROL)
    pm = PostMortem(incident_id=subject.id, created_at=NOW, follow_ups=(item,))

    filing = tracker_performers(connector)[IntentKind.FILE_FOLLOWUP]
    outcome = await filing(request(subject, pm, IntentKind.FILE_FOLLOWUP))
    assert outcome.update is not None
    filed = outcome.update(pm)

    [ticket] = filed.follow_ups
    assert ticket.tracker_key is not None
    assert ticket.tracker_key == outcome.vendor_ref
    assert ticket.tracker_url is not None
    assert ticket.tracker_url.endswith(f"/browse/{ticket.tracker_key}")
    assert ticket.unassigned_reason is not None
    assert "carol@example.com" in ticket.unassigned_reason
    assert fake_jira.issue(ticket.tracker_key)["fields"]["assignee"] is None
    assert outcome.detail["unassigned"] == ticket.unassigned_reason

    # The plan now tells the post-mortem owner (Alice), in a DM, with the ticket's link.
    tell = chat[IntentKind.REPORT_UNASSIGNED_FOLLOWUP]
    await tell(request(subject, filed, IntentKind.REPORT_UNASSIGNED_FOLLOWUP))
    [dm] = fake_slack.posts(fake_slack.dms[SLACK_ALICE])
    assert effect_key_of(dm) == f"pm:{subject.id}:followup:7:unassigned"
    assert ticket.tracker_url in text_of(dm)
    assert "unassigned" in text_of(dm)
    assert "carol@example.com" in text_of(dm)


async def test_a_post_mortem_closed_as_not_needed_cancels_its_meeting_saying_why() -> None:
    fake = FakeGoogleCalendar()
    runner, url = await start_fake(fake.make_app())
    calendar = GoogleCalendarConnector.from_config(
        GoogleCalendarConfig(calendar_id=fake.calendar_id, root_url=url, conference=False)
    )
    try:
        start = NOW + timedelta(days=1)
        fake.events[fake.calendar_id]["evt1"] = {
            "id": "evt1",
            "etag": '"1"',
            "status": "confirmed",
            "summary": "Post-mortem: PD-1042",
            "description": "Post-mortem meeting for PD-1042",
            "start": {"dateTime": start.isoformat()},
            "end": {"dateTime": (start + timedelta(minutes=30)).isoformat()},
            "attendees": [{"email": "alice@example.com"}],
        }
        meeting = Meeting(
            event_ref="evt1", start=start, end=start + timedelta(minutes=30), calendar="PMs"
        )
        closed = PostMortem(
            incident_id="pagerduty:P1042",
            status=PostMortemStatus.CLOSED,
            not_needed_reason="no longer required: the incident is now SEV-3",
            meeting=meeting,
            required_by="major",
        )
        cancel = cancel_performers(calendar)[IntentKind.CANCEL_MEETING]
        subject = incident(severity="SEV-3")
        for _ in range(2):  # a retry changes nothing
            outcome = await cancel(request(subject, closed, IntentKind.CANCEL_MEETING))
            assert outcome.detail == {"status": "cancelled"}
    finally:
        await calendar.close()
        await runner.cleanup()

    [event] = fake.stored()
    assert event["status"] == "cancelled"
    assert event["description"].startswith(
        "Cancelled: the post-mortem is not needed (no longer required: the incident is now SEV-3)"
    )
    patches = [e for e in fake.exchanges if e.method == "PATCH"]
    assert len(patches) == 1


LADDER = """\
version: 1
calendar: {timezone: America/New_York, holidays: {country: US}}
rules:
  - name: major
    postmortem: required
    owner: [designated, incident_commander]
    meeting: {calendar: PMs, deadline: {default: 3 calendar days}}
    reminders:
      - {if: overdue, every: 1 business day, notify: [owner, incident_commander],
         escalate_to: [S0SRELEADS]}
"""


async def test_escalation_to_oneself_reaches_the_slack_user_group_in_the_channel(
    slack: tuple[FakeSlack, dict[IntentKind, Performer]],
) -> None:
    fake_slack, chat = slack
    policies = PolicySet((parse_policy(LADDER, "ladder.yaml"),))
    subject = incident()
    pm = PostMortem(incident_id=subject.id, created_at=NOW)
    overdue = NOW + timedelta(days=3, hours=1)  # Sunday: past the 3-day deadline
    escalate = request(subject, pm, IntentKind.REMIND, now=overdue, policies=policies)
    await chat[IntentKind.REMIND](escalate)

    [dm] = fake_slack.posts(fake_slack.dms[SLACK_ALICE])
    [channel] = fake_slack.posts(INCIDENTS)
    assert "<!subteam^S0SRELEADS>" in text_of(channel)
    assert "Escalated to" in text_of(channel)
    assert "Escalation" in text_of(dm)


async def test_pmhub_moves_are_written_to_incidentio(session: aiohttp.ClientSession) -> None:
    fake = FakeIncidentIo()
    fake.add_user("01LISA", "Lisa", "lisa@incident.io")
    fake.add_incident("01INC", reference="INC-9", roles={"Incident Lead": "01LISA"})
    document = fake.add_postmortem_document("01INC", "01DOC")
    runner, url = await start_fake(fake.make_app())
    connector = IncidentIoConnector.from_config(
        IncidentIoConfig(api_key=SecretStr(fake.api_key), base_url=url), session
    )
    try:
        subject = incident(Source.INCIDENTIO, **{"links.postmortem_document_id": document["id"]})
        closed = PostMortem(incident_id=subject.id, status=PostMortemStatus.CLOSED)
        write = vendor_performers(connector)[IntentKind.WRITE_VENDOR_STATUS]
        outcome = await write(request(subject, closed, IntentKind.WRITE_VENDOR_STATUS))
    finally:
        await runner.cleanup()

    assert outcome.detail == {"status": "completed"}
    assert fake.documents["01DOC"]["status"] == "completed"
    [put] = [e for e in fake.exchanges if e.method == "PUT"]
    assert put.body == {"status": "completed"}
