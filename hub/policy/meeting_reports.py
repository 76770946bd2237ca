"""What the owner (and the commander) must hear when booking the meeting goes wrong.

pmhub runs unattended, so every dead end of booking reaches a named person, once:

* `REPORT_MEETING_BOOKING` (`pm:<id>:meeting:booked:<event>:<owner>`): the time pmhub
  booked has required invitees who are busy, calendars it could not read, or is
  earlier than the writing and review time because of the deadline. Once per booked
  event and owner (a new owner after a hand-off hears it too).
* `REPORT_NO_MEETING_SLOT` (`pm:<id>:<booking>:no-slot:<person>`): no working time
  before the deadline to book in. The owner and the incident commander are each told
  once, with the deadline, the reason and a proposed time; the policy's reminders
  (`meeting_not_scheduled`, `overdue`) keep coming as for any unscheduled meeting.
* `REPORT_MEETING_CANCELLED` (`pm:<id>:meeting:cancelled:<event>:<owner>`): a person
  cancelled or deleted the meeting. The owner is told once; pmhub books another
  (`meeting.rebook_when_cancelled: true`) or waits for a person to link one.

A re-booking after a cancellation is its own intent (`pm:<id>:meeting:again:<n>`),
since the calendar keeps a cancelled event's id taken.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from hub.model.incident import Person
from hub.model.intent import ReportMeetingBooking, ReportMeetingCancelled, ReportNoMeetingSlot
from hub.model.postmortem import CancelledMeeting, Meeting, PostMortem
from hub.policy.context import OPEN_STATUSES, Context
from hub.policy.deadlines import Slot
from hub.policy.plan import MeetingPlan

NoSlotReason = Literal["no_working_time", "no_time_left"]


def booking_suffix(postmortem: PostMortem | None) -> str:
    """The key suffix of the booking intent: `meeting`, then `meeting:again:<n>` after
    the n-th cancellation or second review (a new key is a new event: Google keeps a
    cancelled id, and the held meeting stays as it was)."""
    if postmortem is None:
        return "meeting"
    again = len(postmortem.cancelled_meetings) + len(postmortem.past_meetings)
    return f"meeting:again:{again}" if again else "meeting"


def report_booking(ctx: Context, meeting: Meeting) -> None:
    note, owner = meeting.booking, ctx.owner
    if note is None or not note.worth_telling or owner is None or meeting.event_ref is None:
        return
    if ctx.status not in OPEN_STATUSES:
        return
    told = []
    if note.conflicts:
        told.append(f"busy then: {', '.join(note.conflicts)}")
    if note.unknown:
        told.append(f"calendars pmhub could not read: {', '.join(note.unknown)}")
    if note.not_before:
        told.append(f"earlier than the writing and review time ({note.not_before.isoformat()})")
    ctx.add(
        f"meeting:booked:{meeting.event_ref}:{owner.person.key}",
        "meeting",
        f"tell the owner about the booked time: {'; '.join(told)}",
        ReportMeetingBooking(
            recipient=owner.person,
            event_ref=meeting.event_ref,
            conflicts=note.conflicts,
            optional_conflicts=note.optional_conflicts,
            unknown=note.unknown,
            not_before=note.not_before,
        ),
    )


def report_no_slot(
    ctx: Context,
    plan: MeetingPlan,
    booking: str,
    proposal: Slot,
    *,
    why: NoSlotReason,
    window_start: datetime,
) -> None:
    """Tell the owner and the incident commander, once each, that a person must pick a time."""
    owner, deadline = ctx.owner, plan.deadline
    if owner is None or deadline is None:
        return
    ctx.problems.append(
        f"no working time to book the meeting in between {window_start.isoformat()} and the "
        f"deadline {deadline.isoformat()}: the owner and the incident commander are asked to "
        f"pick a time (proposed: {proposal.start.isoformat()})"
    )
    for person in _owner_and_commander(owner.person, ctx.incident.incident_commander):
        ctx.add(
            f"{booking}:no-slot:{person.key}",
            "meeting",
            f"no working time before the deadline: ask {person.display} to pick a time",
            ReportNoMeetingSlot(
                recipient=person,
                owner=owner.person,
                why=why,
                window_start=window_start,
                deadline=deadline,
                proposed_start=proposal.start,
                proposed_end=proposal.end,
            ),
        )


def report_cancelled(ctx: Context, cancelled: CancelledMeeting, *, rebook: bool) -> None:
    owner = ctx.owner
    if owner is None or ctx.status not in OPEN_STATUSES:
        return
    what = "book another" if rebook else "wait for a person to book one and link it"
    ctx.add(
        f"meeting:cancelled:{cancelled.event_ref}:{owner.person.key}",
        "meeting",
        f"the meeting was {cancelled.how} on the calendar: tell the owner; pmhub will {what}",
        ReportMeetingCancelled(
            recipient=owner.person,
            event_ref=cancelled.event_ref,
            start=cancelled.start,
            how=cancelled.how,
            rebook=rebook,
        ),
    )


def _owner_and_commander(owner: Person, commander: Person | None) -> list[Person]:
    people = [owner] if commander is None else [owner, commander]
    return list({person.key: person for person in people}.values())
