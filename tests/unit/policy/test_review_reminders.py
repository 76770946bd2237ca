"""Decisions 4 and 5: the review request before the meeting; reminders and escalations as timers."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.model.incident import Severity
from hub.model.intent import IntentKind, Remind
from hub.model.postmortem import PostMortem, PostMortemStatus

from .factories import ACK, IC, incident, keys, meeting, ny, payload, plan_for, postmortem

INC = incident(severity=Severity.SEV2)  # resolved Mon 2026-03-02 10:00, due Mon 03-09 10:00 EDT
PREFIX = "pm:pagerduty:P1:"


def remind_keys(plan_keys: list[str]) -> list[str]:
    return [k.removeprefix(PREFIX) for k in plan_keys if k.startswith(PREFIX + "remind:")]


def test_review_request_is_due_a_day_before_the_meeting() -> None:
    pm = postmortem(meeting=meeting(ny(2026, 3, 5, 14)), document_url="https://docs/pm1")
    plan = plan_for(INC, pm)
    review = plan.intent(PREFIX + "review-request")
    assert review is not None
    assert review.kind is IntentKind.REQUEST_REVIEW
    assert review.due_at == ny(2026, 3, 4, 14)
    assert (review.rule, review.clause) == ("major", "review")
    assert "https://docs/pm1" in review.message


def test_review_request_waits_for_the_meeting_and_stops_once_reviewed() -> None:
    assert plan_for(INC).intent(PREFIX + "review-request") is None
    reviewed = postmortem(status=PostMortemStatus.REVIEWED, meeting=meeting(ny(2026, 3, 5, 14)))
    assert plan_for(INC, reviewed).intent(PREFIX + "review-request") is None


@pytest.mark.parametrize(
    ("now", "pm", "expected"),
    [
        # Just resolved: timers for "not scheduled" (+1 business day) and "overdue" (deadline).
        (
            ny(2026, 3, 2, 12),
            None,
            [
                "remind:meeting_not_scheduled@2026-03-03T15:00:00Z",
                "remind:overdue@2026-03-09T14:00:00Z",
            ],
        ),
        # Meeting scheduled: "not scheduled" no longer holds, so it is not emitted;
        # "draft 24h before the meeting" becomes a timer.
        (
            ny(2026, 3, 2, 12),
            postmortem(meeting=meeting(ny(2026, 3, 5, 14))),
            [
                "remind:status_is_draft@2026-03-04T19:00:00Z",
                "remind:overdue@2026-03-09T14:00:00Z",
            ],
        ),
        # In Review: not a draft any more.
        (
            ny(2026, 3, 2, 12),
            postmortem(status=PostMortemStatus.IN_REVIEW, meeting=meeting(ny(2026, 3, 5, 14))),
            ["remind:overdue@2026-03-09T14:00:00Z"],
        ),
        # Wednesday after the deadline, still unscheduled: the latest due occurrence of
        # each clause plus the next escalation (every business day from the deadline).
        (
            ny(2026, 3, 11, 12),
            None,
            [
                "remind:meeting_not_scheduled@2026-03-03T15:00:00Z",
                "remind:overdue@2026-03-11T14:00:00Z",
                "remind:overdue@2026-03-12T14:00:00Z",
            ],
        ),
        # Reviewed: no escalation, whatever the time.
        (
            ny(2026, 3, 11, 12),
            postmortem(status=PostMortemStatus.REVIEWED, meeting=meeting(ny(2026, 3, 5, 14))),
            [],
        ),
    ],
)
def test_reminder_timers(now: datetime, pm: PostMortem | None, expected: list[str]) -> None:
    plan = plan_for(INC, pm, now=now)
    assert remind_keys(keys(plan)) == expected


def test_escalation_goes_to_owner_and_incident_commander() -> None:
    plan = plan_for(
        incident(severity=Severity.SEV2, incident_commander=None), now=ny(2026, 3, 11, 12)
    )
    escalation = plan.intent(PREFIX + "remind:overdue@2026-03-11T14:00:00Z")
    assert escalation is not None
    assert escalation.kind is IntentKind.REMIND
    assert escalation.due_at == ny(2026, 3, 11, 10)
    assert escalation.clause == "reminders.overdue"
    # Owner is the first acknowledger here; nobody holds incident_commander.
    assert payload(escalation, Remind).recipients == (ACK,)
    assert payload(escalation, Remind).unresolved_roles == ("incident_commander",)
    assert "reminder 'overdue': nobody holds incident_commander" in plan.problems


def test_escalation_recipients() -> None:
    plan = plan_for(
        incident(severity=Severity.SEV2, incident_commander=ACK), now=ny(2026, 3, 11, 12)
    )
    escalation = plan.intent(PREFIX + "remind:overdue@2026-03-11T14:00:00Z")
    assert escalation is not None
    # Owner and IC are the same person: notified once.
    assert payload(escalation, Remind).recipients == (ACK,)


def test_reminder_condition_is_checked_again_when_the_timer_fires() -> None:
    due = ny(2026, 3, 3, 10)
    before = plan_for(INC, None, now=ny(2026, 3, 2, 12))
    assert PREFIX + "remind:meeting_not_scheduled@2026-03-03T15:00:00Z" in keys(before)
    # The owner scheduled the meeting before the timer fired: no reminder at its due time.
    scheduled = postmortem(meeting=meeting(ny(2026, 3, 5, 14)))
    at_due = plan_for(INC, scheduled, now=due)
    assert not [k for k in keys(at_due) if "meeting_not_scheduled" in k]


def test_reminder_message_names_the_condition() -> None:
    plan = plan_for(INC, now=ny(2026, 3, 4, 12))
    reminder = plan.intent(PREFIX + "remind:meeting_not_scheduled@2026-03-03T15:00:00Z")
    assert reminder is not None
    assert reminder.message == "Post-mortem for PD-1: the post-mortem meeting is not scheduled yet"
    assert payload(reminder, Remind).recipients == (IC,)
