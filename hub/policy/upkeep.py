"""Keeping a booked meeting true: the event's details, reading it back, a move past the deadline.

Once the meeting is on the calendar, three kinds of intent keep pmhub and the
calendar honest with each other (issue 5, "keeping it true"):

* `UPDATE_MEETING` (`pm:<id>:meeting:details`): what pmhub writes on the event
  besides its time - who owns the post-mortem, who leads the meeting, and a note
  while the incident is open again. The payload holds only those facts, so a new
  owner or a reopen changes the fingerprint and the event is patched; a reworded
  title does not. The time a person chose is never patched.
* `CHECK_MEETING` (`pm:<id>:meeting:check@<utc>`): read the event back every
  `meeting.check_every` until it starts, counted from the meeting's anchor so the
  keys are fixed instants (like reminders: the latest one due and the next one).
  The check records the event's times as the calendar has them; nothing else. Its
  payload is only the event id, so recording a moved meeting does not re-run it.
* `REPORT_LATE_MEETING` (`pm:<id>:meeting:late:<owner>@<end utc>`): the recorded
  meeting ends after the deadline - a person moved it. The owner is told once per
  move (the key carries the new end) and per owner; pmhub never moves it back.

Invitees are kept by `INVITE_TO_MEETING` (hub.policy.meeting): a new owner, or a
new person in a role, is added to the event. Nobody is removed: a person may have
invited them on purpose.
"""

from __future__ import annotations

from hub.model.intent import (
    CheckMeeting,
    MeetingFacts,
    ReportLateMeeting,
    UpdateMeeting,
    utc_stamp,
)
from hub.model.postmortem import Meeting
from hub.policy.calendar import instant
from hub.policy.context import OPEN_STATUSES, Context
from hub.policy.document_plan import document_url
from hub.policy.plan import MeetingPlan
from hub.policy.reminders import occurrences


def meeting_facts(meeting: Meeting) -> MeetingFacts:
    """What a message about the meeting depends on (its time and link), for a payload."""
    return MeetingFacts(start=meeting.start, end=meeting.end, html_link=meeting.html_link)


def plan_upkeep(ctx: Context, plan: MeetingPlan) -> None:
    """The intents that keep a booked meeting true while the incident is resolved."""
    meeting = plan.scheduled
    if meeting is None or meeting.event_ref is None:
        return  # recorded by hand (admin API) without an event: nothing to read or patch
    update_details(ctx, meeting, reopened=False)
    if ctx.status not in OPEN_STATUSES:
        return  # reviewed: the meeting has done its job
    _checks(ctx, plan, meeting)
    _late(ctx, plan, meeting)


def update_details(ctx: Context, meeting: Meeting, *, reopened: bool) -> None:
    """Patch the event's description when who owns or leads it changes, or on a reopen."""
    if meeting.event_ref is None:
        return
    ctx.add(
        "meeting:details",
        "meeting",
        "keep the meeting's description true: the owner, the commander, a reopened incident",
        UpdateMeeting(
            event_ref=meeting.event_ref,
            owner=ctx.owner_person,
            commander=ctx.incident.incident_commander,
            reopened=reopened,
            document_url=document_url(ctx),
        ),
    )


def _checks(ctx: Context, plan: MeetingPlan, meeting: Meeting) -> None:
    spec = ctx.rule.meeting
    first = plan.anchor or ctx.resolved_at
    if spec is None or first is None or meeting.event_ref is None:
        return
    check = CheckMeeting(event_ref=meeting.event_ref, calendar=meeting.calendar)
    last, upcoming = occurrences(ctx.calendar, first, spec.check_every, ctx.now)
    for due in (last, upcoming):
        if due is not None and instant(due) < instant(meeting.start):
            ctx.add(
                f"meeting:check@{utc_stamp(due)}",
                "meeting.check",
                "read the meeting back from the calendar: a person may have moved it",
                check,
                due_at=due,
            )


def _late(ctx: Context, plan: MeetingPlan, meeting: Meeting) -> None:
    deadline, owner = plan.deadline, ctx.owner
    if deadline is None or owner is None or instant(meeting.end) <= instant(deadline):
        return
    ctx.add(
        f"meeting:late:{owner.person.key}@{utc_stamp(meeting.end)}",
        "meeting",
        f"the meeting now ends {meeting.end.isoformat()}, after the deadline "
        f"{deadline.isoformat()}: tell the owner (pmhub does not move it back)",
        ReportLateMeeting(
            recipient=owner.person,
            meeting=meeting_facts(meeting),
            deadline=deadline,
        ),
    )
