"""The message builders: snapshots of every message, and Slack's Block Kit limits.

Snapshots live in `snapshots/<case>.json`. After an intended change of wording or
layout, regenerate them and review the diff::

    PMHUB_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/connectors/slack/test_messages.py
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.slack import meeting_messages, messages, replies
from connectors.slack.blocks import ChatMessage
from hub.model.incident import Incident, IncidentLinks, Person, Severity, Source
from hub.model.intent import (
    Remind,
    ReportMeetingBooking,
    ReportMeetingCancelled,
    ReportNoMeetingSlot,
)
from hub.model.postmortem import (
    ExternalMessage,
    FollowUp,
    FollowUpState,
    Meeting,
    OwnerDesignation,
    PostMortem,
    PostMortemStatus,
)

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("PMHUB_UPDATE_SNAPSHOTS") == "1"

T0 = datetime(2026, 3, 10, 14, 30, tzinfo=UTC)
DEADLINE = T0 + timedelta(days=3)
DOC = "https://docs.example.com/pm/PD-1042"

ALICE = Person(name="Alice Adams", email="alice@example.com", pagerduty_id="PALICE1")
BOB = Person(name="Bob Brown", email="bob@example.com", slack_id="U0BOB00001")
CAROL = Person(name="Carol Chen", email="carol@example.com")  # no Slack account
PEOPLE: Mapping[str, str | None] = {ALICE.key: "U0ALICE001", CAROL.key: None}

INCIDENT = Incident(
    id="pagerduty:PGR0VU2",
    source=Source.PAGERDUTY,
    source_id="PGR0VU2",
    reference="PD-1042",
    title="Checkout <API> errors & timeouts",
    severity=Severity.SEV1,
    links=IncidentLinks(vendor_url="https://acme.pagerduty.com/incidents/PGR0VU2"),
)
MEETING = Meeting(
    event_ref="evt123",
    start=T0 + timedelta(days=2),
    end=T0 + timedelta(days=2, minutes=30),
    calendar="pm@example.com",
    html_link="https://calendar.example.com/event?eid=evt123",
)
DRAFT = PostMortem(
    incident_id=INCIDENT.id,
    document_url=DOC,
    designations=(OwnerDesignation(person=ALICE, by=BOB, reason="IC's choice", at=T0),),
)
BOOKED = DRAFT.model_copy(update={"meeting": MEETING})
CLOSED = BOOKED.model_copy(
    update={
        "status": PostMortemStatus.CLOSED,
        "follow_ups": (
            FollowUp(id="1", summary="Alert on queue depth", priority="P1", tracker_key="OPS-7"),
            FollowUp(
                id="2", summary="Retry budget for <checkout>", priority="P0", tracker_key="OPS-8"
            ),
            FollowUp(
                id="3", summary="Rewrite everything", priority="P3", state=FollowUpState.DROPPED
            ),
        ),
        "external_message": ExternalMessage(
            body="We had an incident.", published_ref="sp1", published_at=T0 + timedelta(days=4)
        ),
    }
)
REMIND = Remind(condition="status_is_draft", recipients=(ALICE,), unresolved_roles=())
REMIND_TEXT = "The PD-1042 post-mortem is still a draft; the meeting is in two days."
ESCALATE = Remind(
    condition="overdue", recipients=(ALICE, BOB), unresolved_roles=("engineering_manager",)
)
ESCALATE_TEXT = "The PD-1042 post-mortem meeting deadline has passed."
BOOKING_REPORT = ReportMeetingBooking(
    recipient=ALICE,
    event_ref="evt123",
    conflicts=("bob@example.com", "carol@example.com"),
    optional_conflicts=("eng-learning@example.com",),
    unknown=("product@example.com",),
    not_before=None,
)
NO_SLOT = ReportNoMeetingSlot(
    recipient=BOB,
    owner=ALICE,
    why="no_working_time",
    window_start=T0,
    deadline=DEADLINE,
    proposed_start=DEADLINE + timedelta(days=1),
    proposed_end=DEADLINE + timedelta(days=1, minutes=30),
)
CANCELLED = ReportMeetingCancelled(
    recipient=ALICE, event_ref="evt123", start=MEETING.start, how="cancelled", rebook=False
)
USAGE = "*`/postmortem` commands*\n• `help`: this list\n• `status [INCIDENT]`: where it stands"

CASES: dict[str, Callable[[], ChatMessage]] = {
    "owner_designation": lambda: messages.owner_designation(
        INCIDENT, DRAFT, ALICE, deadline=DEADLINE, people=PEOPLE
    ),
    "owner_designation_booked_accepted": lambda: messages.owner_designation(
        INCIDENT,
        BOOKED,
        ALICE,
        deadline=DEADLINE,
        accepted_at=T0 + timedelta(hours=1),
        people=PEOPLE,
    ),
    "owner_designation_asks_external_message": lambda: messages.owner_designation(
        INCIDENT, DRAFT, ALICE, deadline=DEADLINE, people=PEOPLE, external_message=True
    ),
    "owner_designation_no_document_no_slack": lambda: messages.owner_designation(
        INCIDENT.model_copy(update={"links": IncidentLinks()}), None, CAROL, deadline=None
    ),
    "optional_question": lambda: messages.optional_postmortem_question(
        INCIDENT.model_copy(update={"false_positive": True, "severity": Severity.SEV3}),
        ALICE,
        people=PEOPLE,
    ),
    "channel_announcement": lambda: messages.channel_announcement(
        INCIDENT, BOOKED, ALICE, deadline=DEADLINE, people=PEOPLE
    ),
    "channel_announcement_unscheduled": lambda: messages.channel_announcement(
        INCIDENT, None, CAROL, deadline=DEADLINE, people=PEOPLE
    ),
    "reminder": lambda: messages.reminder(REMIND, REMIND_TEXT, INCIDENT, people=PEOPLE),
    "escalation": lambda: messages.reminder(ESCALATE, ESCALATE_TEXT, INCIDENT, people=PEOPLE),
    "review_request": lambda: messages.review_request(INCIDENT, BOOKED, ALICE, people=PEOPLE),
    "unresolved_roles": lambda: messages.unresolved_roles(
        INCIDENT, ["product_manager", "customer_liaison"]
    ),
    "flagged_followup": lambda: messages.flagged_followup(
        INCIDENT,
        FollowUp(id="3", summary="Rewrite everything", priority="P3"),
        reason="priority P3 is not filed automatically",
        allowed=["P0", "P1"],
    ),
    "outcome_summary": lambda: messages.outcome_summary(INCIDENT, CLOSED, ALICE, people=PEOPLE),
    "meeting_booking_conflicts": lambda: meeting_messages.meeting_booking(
        INCIDENT, BOOKING_REPORT, MEETING, deadline=DEADLINE, people=PEOPLE
    ),
    "meeting_booking_early": lambda: meeting_messages.meeting_booking(
        INCIDENT,
        BOOKING_REPORT.model_copy(
            update={"conflicts": (), "optional_conflicts": (), "unknown": (), "not_before": T0}
        ),
        MEETING,
        deadline=DEADLINE,
    ),
    "no_meeting_slot_commander": lambda: meeting_messages.no_meeting_slot(
        INCIDENT, NO_SLOT, people=PEOPLE
    ),
    "no_meeting_slot_owner_too_late": lambda: meeting_messages.no_meeting_slot(
        INCIDENT,
        NO_SLOT.model_copy(update={"recipient": ALICE, "why": "no_time_left"}),
        people=PEOPLE,
    ),
    "meeting_cancelled_wait": lambda: meeting_messages.meeting_cancelled(
        INCIDENT, CANCELLED, deadline=DEADLINE, people=PEOPLE
    ),
    "meeting_deleted_rebook": lambda: meeting_messages.meeting_cancelled(
        INCIDENT,
        CANCELLED.model_copy(update={"how": "deleted", "rebook": True}),
        deadline=DEADLINE,
        people=PEOPLE,
    ),
    "help_reply": lambda: replies.help_reply(USAGE),
    "status_reply": lambda: replies.status_reply(
        INCIDENT,
        CLOSED.model_copy(update={"status": PostMortemStatus.IN_REVIEW}),
        ALICE,
        people=PEOPLE,
    ),
    "status_reply_none": lambda: replies.status_reply(INCIDENT, None, None),
    "refusal_reply": lambda: replies.refusal_reply(
        "close the post-mortem",
        "2 follow-ups are not filed yet (guard: follow_ups_filed)",
        incident=INCIDENT,
    ),
}


def as_json(message: ChatMessage) -> dict[str, Any]:
    return {"text": message.text, "blocks": [dict(block) for block in message.blocks]}


@pytest.mark.parametrize("case", sorted(CASES))
def test_snapshot(case: str) -> None:
    rendered = json.dumps(as_json(CASES[case]()), indent=2, ensure_ascii=False) + "\n"
    path = SNAPSHOTS / f"{case}.json"
    if UPDATE:
        path.write_text(rendered, encoding="utf-8")
    assert path.exists(), f"no snapshot for {case}: run with PMHUB_UPDATE_SNAPSHOTS=1"
    assert rendered == path.read_text(encoding="utf-8")


def test_every_snapshot_has_a_case() -> None:
    assert {path.stem for path in SNAPSHOTS.glob("*.json")} == set(CASES)


# -- Block Kit basics ---------------------------------------------------------------------

BLOCK_TYPES = {"section", "header", "context", "actions", "divider"}
TEXT_TYPES = {"plain_text", "mrkdwn"}


def _texts(block: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], int]]:
    """(where, text object, limit) for every text object in a block."""
    kind = block["type"]
    if kind == "header":
        yield "header", block["text"], 150
    if kind == "section":
        if "text" in block:
            yield "section", block["text"], 3000
        for cell in block.get("fields", ()):
            yield "field", cell, 2000
    if kind == "context":
        for element in block["elements"]:
            yield "context", element, 3000
    if kind == "actions":
        for element in block["elements"]:
            yield "button", element["text"], 75


def check_block_kit(message: ChatMessage) -> None:
    assert message.text.strip()
    assert len(message.text) <= 40_000
    assert len(message.blocks) <= 50
    action_ids: list[str] = []
    for block in message.blocks:
        assert block["type"] in BLOCK_TYPES
        assert len(block.get("fields", ())) <= 10
        assert len(block.get("elements", ())) <= (10 if block["type"] == "context" else 25)
        for where, text, limit in _texts(block):
            assert text["type"] in TEXT_TYPES, where
            assert text["text"].strip(), where
            assert len(text["text"]) <= limit, where
            if where in ("header", "button"):
                assert text["type"] == "plain_text"
        for element in block.get("elements", ()) if block["type"] == "actions" else ():
            assert element["type"] == "button"
            assert len(element.get("value", "")) <= 2000
            assert len(element.get("url", "")) <= 3000
            action_ids.append(element["action_id"])
    assert len(action_ids) == len(set(action_ids)), "action_ids must be unique in a message"
    json.dumps(as_json(message))


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_message_is_valid_block_kit(case: str) -> None:
    check_block_kit(CASES[case]())


def test_huge_inputs_stay_within_slacks_limits() -> None:
    huge = INCIDENT.model_copy(update={"title": "x" * 10_000, "reference": "PD-" + "9" * 300})
    many = tuple(
        FollowUp(id=str(n), summary="s" * 500, priority="P1", tracker_key=f"OPS-{n}")
        for n in range(500)
    )
    postmortem = CLOSED.model_copy(update={"follow_ups": many, "not_needed_reason": "r" * 5000})
    built = [
        messages.owner_designation(huge, postmortem, CAROL, deadline=DEADLINE),
        messages.channel_announcement(huge, postmortem, CAROL, deadline=DEADLINE),
        messages.outcome_summary(huge, postmortem, CAROL),
        messages.unresolved_roles(huge, ["role" * 50] * 200),
        messages.reminder(REMIND, "m" * 9000, huge),
        replies.status_reply(huge, postmortem, CAROL),
        replies.refusal_reply("close", "because " * 2000, incident=huge),
    ]
    for message in built:
        check_block_kit(message)


# -- what the messages say ------------------------------------------------------------------


def _all_text(message: ChatMessage) -> str:
    return json.dumps(as_json(message), ensure_ascii=False)


def test_the_owner_dm_has_the_checklist_buttons_and_says_it_is_not_blame() -> None:
    message = CASES["owner_designation"]()
    body = _all_text(message)
    for item in messages.RESPONSIBILITIES:
        assert json.dumps(item)[1:-1] in body
    assert "not blame" in body
    [buttons] = [b["elements"] for b in message.blocks if b["type"] == "actions"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("pm_accept", INCIDENT.id),
        ("pm_handoff", INCIDENT.id),
        ("pm_open", INCIDENT.id),
    ]
    assert buttons[2]["url"] == DOC
    assert "<@U0ALICE001>" in body
    # Slack's three control characters in a title stay literal.
    assert "Checkout &lt;API&gt; errors &amp; timeouts" in body


def test_the_owner_dm_can_ask_for_the_external_message_as_the_request_does() -> None:
    """Issue 16: asked in the owner's first DM, with the same notes and reply command as
    the request of its own (`external_message_request`), so no second message is needed."""
    asking = _all_text(CASES["owner_designation_asks_external_message"]())
    reply = json.dumps(messages.external_message_reply(INCIDENT), ensure_ascii=False)[1:-1]
    assert reply in asking
    assert "published on the status page once the post-mortem is Reviewed" in asking
    assert CASES["owner_designation_asks_external_message"]().text.endswith(
        "An external message for customers is needed."
    )
    assert reply not in _all_text(CASES["owner_designation"]())


def test_once_accepted_the_dm_has_no_accept_button_and_shows_the_meeting() -> None:
    message = CASES["owner_designation_booked_accepted"]()
    actions = [
        e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]
    ]
    assert actions == ["pm_handoff", "pm_open"]
    assert MEETING.html_link is not None
    assert MEETING.html_link in _all_text(message)
    assert ":white_check_mark: *Schedule the meeting*" in _all_text(message)


def test_someone_without_slack_is_named_not_dropped() -> None:
    body = _all_text(CASES["channel_announcement_unscheduled"]())
    assert "Carol Chen (carol@example.com)" in body


def test_an_overdue_reminder_is_an_escalation_naming_missing_roles() -> None:
    message = CASES["escalation"]()
    assert message.text.startswith("Escalation (PD-1042)")
    body = _all_text(message)
    assert "<@U0ALICE001> <@U0BOB00001>" in body
    assert "engineering_manager" in body
    assert CASES["reminder"]().text.startswith("Reminder (PD-1042)")


def test_the_outcome_summary_lists_filed_follow_ups_not_dropped_ones() -> None:
    body = _all_text(CASES["outcome_summary"]())
    assert "OPS-7" in body
    assert "OPS-8" in body
    assert "Rewrite everything" not in body
    assert "published" in body
