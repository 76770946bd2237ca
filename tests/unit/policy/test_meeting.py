"""Decision 3: the meeting - deadline by severity in the policy calendar, invitees, scheduling."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hub.model.incident import Person, RoleHolder, ServiceRef, Severity, TeamRef
from hub.model.intent import (
    IntentKind,
    InviteToMeeting,
    ReportNoMeetingSlot,
    ReportUnresolvedRole,
    ScheduleMeeting,
)
from hub.model.postmortem import OwnerBriefing, OwnerDesignation

from .factories import (
    ALICE,
    IC,
    incident,
    keys,
    meeting,
    ny,
    payload,
    plan_for,
    policy_from,
    postmortem,
)


@pytest.mark.parametrize(
    ("severity", "resolved_at", "deadline"),
    [
        # SEV-1: 3 calendar days, wall clock in New York.
        (Severity.SEV1, ny(2026, 3, 2, 10, 0), ny(2026, 3, 5, 10, 0)),
        # Thursday 23:30 EST -> Sunday 23:30 EDT across the Mar 8 change.
        (Severity.SEV1, ny(2026, 3, 5, 23, 30), ny(2026, 3, 8, 23, 30)),
        # SEV-2: 5 business days.
        (Severity.SEV2, ny(2026, 3, 2, 10, 0), ny(2026, 3, 9, 10, 0)),
        # 23:30 on a Tuesday counts from Wednesday 09:00.
        (Severity.SEV2, ny(2026, 3, 10, 23, 30), ny(2026, 3, 18, 9, 0)),
        # Thanksgiving week: Thursday skipped, Friday counts.
        (Severity.SEV2, ny(2026, 11, 23, 14, 0), ny(2026, 12, 1, 14, 0)),
        # Company holiday Dec 24 plus Christmas.
        (Severity.SEV2, ny(2026, 12, 21, 14, 0), ny(2026, 12, 30, 14, 0)),
        # Fall-back weekend.
        (Severity.SEV2, ny(2026, 10, 30, 12, 0), ny(2026, 11, 6, 12, 0)),
    ],
)
def test_deadline_by_severity(
    severity: Severity, resolved_at: datetime, deadline: datetime
) -> None:
    plan = plan_for(incident(severity=severity, resolved_at=resolved_at), now=resolved_at)
    assert plan.meeting is not None
    assert plan.meeting.deadline == deadline
    assert plan.meeting.deadline.utcoffset() == deadline.utcoffset()  # shown with its offset


def test_anchor_owner_designated_counts_from_the_designation() -> None:
    policies = policy_from(
        """\
        version: 1
        calendar: {timezone: America/New_York}
        rules:
          - name: major
            postmortem: required
            meeting:
              calendar: PMs
              anchor: owner_designated
              deadline: {default: 1 business day}
        """
    )
    designated = postmortem(designations=(OwnerDesignation(person=ALICE, at=ny(2026, 3, 3, 15)),))
    plan = plan_for(incident(), designated, policies=policies)
    assert plan.meeting is not None
    assert plan.meeting.deadline == ny(2026, 3, 4, 15, 0)
    # Nobody designated: the chain's owner is known from resolution (Mon 10:00).
    plan = plan_for(incident(), None, policies=policies)
    assert plan.meeting is not None
    assert plan.meeting.deadline == ny(2026, 3, 3, 10, 0)


def test_invitees_resolved_from_roles_owner_first_each_once() -> None:
    inc = incident(
        severity=Severity.SEV1,
        roles=(
            RoleHolder(role="Shadow", person=Person(email="shadow@example.com")),
            RoleHolder(role="Team Manager", person=Person(email="em@example.com")),
        ),
        teams=(TeamRef(id="PT1", name="Payments"),),
    )
    plan = plan_for(inc)
    assert plan.meeting is not None
    assert plan.meeting.invitees == (
        "ic@example.com",  # owner (and incident commander)
        "shadow@example.com",  # incident.io-style role, via vendor_roles
        "api-owners@example.com",  # directory: service API
        "responder@example.com",
        "em@example.com",  # the vendor knows the manager: the directory default is not used
        "product@example.com",  # directory default
        "support-lead@example.com",  # customer liaison: SEV-1 only
        "eng-learning@example.com",  # observer
    )
    assert plan.meeting.unresolved_roles == ()


def test_customer_liaison_only_for_sev1() -> None:
    plan = plan_for(incident(severity=Severity.SEV2))
    assert plan.meeting is not None
    assert "support-lead@example.com" not in plan.meeting.invitees


def test_unresolved_roles_are_reported_to_the_owner() -> None:
    # Told before (an owner already briefed): a role unresolved since has its own message.
    # The owner's first DM names them instead (tests/unit/policy/test_owner_briefing.py).
    briefed = postmortem(owner_briefings=(OwnerBriefing(person_key=IC.key),))
    plan = plan_for(incident(services=(ServiceRef(id="PX", name="Other"),)), briefed)
    assert plan.meeting is not None
    assert plan.meeting.unresolved_roles == ("incident_commander_shadow",)
    assert "nobody holds the role 'incident_commander_shadow': invite them by hand" in plan.problems
    report = plan.intent("pm:pagerduty:P1:meeting:unresolved:incident_commander_shadow")
    assert report is not None
    assert report.kind is IntentKind.REPORT_UNRESOLVED_ROLE
    assert payload(report, ReportUnresolvedRole).recipient == IC


def test_schedule_intent_carries_the_window() -> None:
    plan = plan_for(incident(severity=Severity.SEV2))
    schedule = plan.intent("pm:pagerduty:P1:meeting")
    assert schedule is not None
    assert schedule.due_at is None  # as soon as the owner is known
    booking = payload(schedule, ScheduleMeeting)
    assert booking.calendar == "Incident Post-Mortem Meetings"
    # Resolved Monday 10:00: a business day of writing, then 24h of review.
    assert booking.window_start.isoformat() == "2026-03-04T10:00:00-05:00"
    assert booking.fallback_start is not None
    assert booking.fallback_start.isoformat() == "2026-03-02T10:00:00-05:00"
    assert booking.deadline.isoformat() == "2026-03-09T10:00:00-04:00"
    assert booking.earliest_slot is not None
    assert booking.earliest_slot.isoformat() == "2026-03-04T10:00:00-05:00"
    assert booking.duration_minutes == 30
    assert booking.title == "Post-mortem: PD-1 Checkout errors"


def test_scheduled_meeting_is_not_scheduled_again_but_missing_invitees_are_added() -> None:
    planned = plan_for(incident())
    assert planned.meeting is not None
    invited = tuple(e for e in planned.meeting.invitees if e != "responder@example.com")
    pm = postmortem(meeting=meeting(ny(2026, 3, 4, 14), invitees=invited))
    plan = plan_for(incident(), pm)
    assert "pm:pagerduty:P1:meeting" not in keys(plan)
    invite = plan.intent("pm:pagerduty:P1:meeting:invite:responder@example.com")
    assert invite is not None
    assert payload(invite, InviteToMeeting).event_ref == "evt1"


def test_meeting_after_the_deadline_is_a_problem() -> None:
    pm = postmortem(meeting=meeting(ny(2026, 3, 9, 16)))
    plan = plan_for(incident(), pm)
    assert any("after the deadline" in problem for problem in plan.problems)


def test_window_without_any_working_slot_is_reported() -> None:
    policies = policy_from(
        """\
        version: 1
        calendar: {timezone: America/New_York, holidays: {country: US}}
        rules:
          - name: major
            postmortem: required
            meeting: {calendar: PMs, deadline: {default: 12h}}
        """
    )
    # Resolved Wednesday 18:00 before Thanksgiving: 12h later is Thursday 06:00.
    plan = plan_for(incident(resolved_at=ny(2026, 11, 25, 18)), policies=policies)
    assert any(problem.startswith("no working time to book") for problem in plan.problems)
    # Nothing to book: the owner (here also the commander) is asked to pick a time, once.
    assert plan.intent("pm:pagerduty:P1:meeting") is None
    [ask] = [i for i in plan.intents if i.kind is IntentKind.REPORT_NO_MEETING_SLOT]
    assert ask.key == "pm:pagerduty:P1:meeting:no-slot:email:ic@example.com"
    # Proposed: the first working time after the deadline, Friday 09:00.
    assert payload(ask, ReportNoMeetingSlot).proposed_start == ny(2026, 11, 27, 9)


def test_not_before_opens_the_window_later() -> None:
    policies = policy_from(
        """\
        version: 1
        calendar: {timezone: America/New_York}
        rules:
          - name: major
            postmortem: required
            meeting:
              calendar: PMs
              not_before: 1 business day
              deadline: {default: 2 business days}
        """
    )
    plan = plan_for(incident(), policies=policies)
    assert plan.meeting is not None
    assert plan.meeting.window_start == ny(2026, 3, 2, 10)  # the anchor: the fallback
    assert plan.meeting.not_before == ny(2026, 3, 3, 10)
    assert plan.meeting.deadline == ny(2026, 3, 4, 10)
    assert plan.meeting.duration == timedelta(minutes=30)


def test_severity_without_deadline_is_a_problem() -> None:
    policies = policy_from(
        """\
        version: 1
        rules:
          - name: major
            postmortem: required
            meeting: {calendar: PMs, deadline: {SEV-1: 1d}}
        """
    )
    plan = plan_for(incident(severity=Severity.SEV2), policies=policies)
    assert "rule 'major' sets no meeting deadline for SEV-2" in plan.problems
    assert "pm:pagerduty:P1:meeting" not in keys(plan)


def test_person_without_email_cannot_be_invited() -> None:
    plan = plan_for(incident(primary_oncall=None, incident_commander=Person(pagerduty_id="PU1")))
    assert "PU1 (owner) has no email address to invite" in plan.problems
