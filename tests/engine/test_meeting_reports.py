"""Issue 13's scheduling dead ends reach a named person, at the chat performers, on the Slack fake.

Requests are built the way the effect runner builds them, from a real plan; the
Slack fake shows who got what, and a repeated run (outcome unknown) posts nothing
twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from hub.engine.effects import EffectRequest, Performer
from hub.model.incident import Incident
from hub.model.intent import IntentKind
from hub.model.postmortem import BookingNote, CancelledMeeting, OwnerDesignation, PostMortem
from hub.policy import evaluate
from tests.engine.test_keeping_true import (
    ALICE,
    BOB,
    INCIDENTS,
    POLICIES,
    SLACK_ALICE,
    SLACK_BOB,
    booked_meeting,
    chat,
    draft,
    incident,
    posts,
    slack,
)

__all__ = ["chat", "slack"]

NY = ZoneInfo("America/New_York")
# SEV-1 resolved Friday 15 Jan 2027 17:30 New York; Monday is MLK Day.
MLK_RESOLVED = datetime(2027, 1, 15, 17, 30, tzinfo=NY)
MLK_DEADLINE = datetime(2027, 1, 18, 17, 30, tzinfo=NY)
PROPOSED = datetime(2027, 1, 19, 9, tzinfo=NY)


def requests(
    subject: Incident, pm: PostMortem, kind: IntentKind, now: datetime, *, unknown: bool = False
) -> list[EffectRequest]:
    plan = evaluate(subject, pm, POLICIES, now)
    wanted = [intent for intent in plan.intents if intent.kind is kind]
    assert wanted, (kind, plan.notes, plan.problems)
    return [EffectRequest(i, subject, pm, plan, unknown_outcome=unknown) for i in wanted]


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"])


def date_token(moment: datetime) -> str:
    return f"<!date^{int(moment.timestamp())}^"


async def test_everyone_busy_the_owner_is_told_who_cannot_make_it(
    slack: FakeSlack, chat: dict[IntentKind, Performer]
) -> None:
    note = BookingNote(
        conflicts=("bob@example.com", "sre@example.com"),
        optional_conflicts=("eng-learning@example.com",),
        unknown=("product@example.com",),
    )
    pm = draft(meeting=booked_meeting().model_copy(update={"booking": note}))
    now = datetime(2026, 11, 19, 15, tzinfo=NY)
    [request] = requests(incident(), pm, IntentKind.REPORT_MEETING_BOOKING, now)
    report = chat[IntentKind.REPORT_MEETING_BOOKING]
    await report(request)
    await report(requests(incident(), pm, IntentKind.REPORT_MEETING_BOOKING, now, unknown=True)[0])

    [dm] = posts(slack, SLACK_ALICE)  # once, though run twice
    assert effect_key_of(dm) == (
        "pm:pagerduty:P1042:meeting:booked:evt1042:email:alice@example.com"
    )
    blocks = shown(dm)
    # Bob has Slack: mentioned; the SRE list has not: named by email.
    assert f"*Cannot make it (busy then):* <@{SLACK_BOB}>, sre@example.com" in blocks
    assert "*Optional, busy then:* eng-learning@example.com" in blocks
    assert "*Calendars pmhub could not read:* product@example.com" in blocks
    assert date_token(booked_meeting().start) in blocks
    assert "busy then: bob@example.com, sre@example.com" in dm["text"]
    assert posts(slack, INCIDENTS) == []


async def test_no_working_time_before_the_deadline_reaches_owner_and_commander_once_each(
    slack: FakeSlack, chat: dict[IntentKind, Performer]
) -> None:
    subject = incident(
        resolved_at=MLK_RESOLVED,
        created_at=MLK_RESOLVED - timedelta(hours=3),
        incident_commander=BOB,
    )
    alice_owns = draft(
        designations=(OwnerDesignation(person=ALICE, by=BOB, at=MLK_RESOLVED),),
    )
    now = MLK_RESOLVED + timedelta(minutes=5)
    perform = chat[IntentKind.REPORT_NO_MEETING_SLOT]
    for attempt in (False, True):  # the second run's outcome is "unknown": found, not re-sent
        for request in requests(
            subject, alice_owns, IntentKind.REPORT_NO_MEETING_SLOT, now, unknown=attempt
        ):
            await perform(request)

    [to_alice] = posts(slack, SLACK_ALICE)
    [to_bob] = posts(slack, SLACK_BOB)
    for dm in (to_alice, to_bob):
        blocks = shown(dm)
        assert "No time to book the PD-1042 post-mortem meeting" in blocks
        assert date_token(MLK_DEADLINE) in blocks  # the deadline
        assert "no working time between" in blocks  # the reason
        assert f"*Proposed:* {date_token(PROPOSED)}" in blocks  # a proposed time
        assert "/postmortem meeting" in blocks  # what to do
    # The commander is told who owns it and that they run the meeting.
    assert f"<@{SLACK_ALICE}> owns the post-mortem" in shown(to_bob)
    assert "owns the post-mortem" not in shown(to_alice)
    assert posts(slack, INCIDENTS) == []


async def test_a_cancelled_meeting_is_told_to_the_owner_once(
    slack: FakeSlack, chat: dict[IntentKind, Performer]
) -> None:
    meeting = booked_meeting()
    gone = CancelledMeeting(
        event_ref="evt1042",
        start=meeting.start,
        end=meeting.end,
        how="cancelled",
        noticed_at=datetime(2026, 11, 19, 16, tzinfo=NY),
    )
    pm = draft(cancelled_meetings=(gone,))
    now = datetime(2026, 11, 19, 16, 1, tzinfo=NY)
    perform = chat[IntentKind.REPORT_MEETING_CANCELLED]
    await perform(requests(incident(), pm, IntentKind.REPORT_MEETING_CANCELLED, now)[0])
    again = requests(incident(), pm, IntentKind.REPORT_MEETING_CANCELLED, now, unknown=True)
    await perform(again[0])

    [dm] = posts(slack, SLACK_ALICE)
    assert effect_key_of(dm) == (
        "pm:pagerduty:P1042:meeting:cancelled:evt1042:email:alice@example.com"
    )
    assert "The PD-1042 post-mortem meeting was cancelled" in shown(dm)
    assert "pmhub does not book another one by itself" in shown(dm)
    assert "/postmortem meeting" in shown(dm)
    assert date_token(datetime(2026, 11, 22, 14, 5, tzinfo=NY)) in shown(dm)  # the deadline
