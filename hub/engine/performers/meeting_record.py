"""pmhub's record of the meeting, as the calendar answers: what the calendar performers write.

Every function here returns a pure update of the stored post-mortem (applied in the
transaction that records the effect), or the ledger detail of one calendar call. The
record follows the calendar, never the other way round:

* a booked or read-back event becomes `PostMortem.meeting` (with how pmhub chose its
  time, `BookingNote`, kept across read-backs of the same event);
* an event a person cancelled, or deleted outright, moves from `meeting` to
  `cancelled_meetings`: the plan then tells the owner and re-books or waits
  (hub.policy.meeting_reports), instead of treating it as booked;
* a booking that found no working time left records `no_meeting_slot`, so the plan
  asks a person to pick a time instead of a job dying.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal

from hub.model.postmortem import (
    BookingNote,
    CancelledMeeting,
    Meeting,
    NoMeetingSlot,
    PostMortem,
)
from hub.policy.calendar import instant
from hub.policy.deadlines import Slot
from hub.policy.slot_choice import SlotChoice
from hub.ports import EventRef, FreeBusy

Update = Callable[[PostMortem], PostMortem]


def meeting_of(
    event: EventRef,
    calendar: str,
    invitees: Sequence[str],
    previous: Meeting | None = None,
    *,
    booking: BookingNote | None = None,
    calendar_id: str | None = None,
) -> Meeting | None:
    """The meeting as the calendar has it; None when it is no timed meeting any more."""
    if event.cancelled:
        return None
    same = previous is not None and previous.event_ref == event.id
    start = event.start or (previous.start if previous else None)
    end = event.end or (previous.end if previous else None)
    if start is None or end is None:
        return None  # turned into an all-day event before pmhub ever saw its times
    return Meeting(
        event_ref=event.id,
        start=start,
        end=end,
        calendar=calendar,
        invitees=tuple(event.attendees) or tuple(invitees),
        html_link=event.html_link or (previous.html_link if previous else None),
        booking=booking or (previous.booking if previous and same else None),
        # The team's calendar it is on (issue 15), kept across read-backs.
        calendar_id=calendar_id or (previous.calendar_id if previous and same else None),
    )


def set_meeting(meeting: Meeting, *, merge_invitees: bool) -> Update:
    def update(postmortem: PostMortem) -> PostMortem:
        stored = postmortem.meeting
        if merge_invitees and stored is not None:
            # Invitations run concurrently and commit in any order: pmhub's record of
            # who was invited only grows, so an older answer cannot drop a newer invitee.
            known = {email.casefold() for email in meeting.invitees}
            extra = tuple(e for e in stored.invitees if e.casefold() not in known)
            meeting_now = meeting.model_copy(update={"invitees": meeting.invitees + extra})
            return postmortem.model_copy(update={"meeting": meeting_now})
        return postmortem.model_copy(update={"meeting": meeting, "no_meeting_slot": None})

    return update


def record_gone(
    event_id: str,
    how: Literal["cancelled", "deleted"],
    noticed_at: datetime,
    *,
    times: Slot | None = None,
) -> Update:
    """A person cancelled or deleted the event: it is no longer the meeting.

    Recorded once per event (a later read-back of the same event changes nothing), so
    the owner is told once. `times` stand in for a meeting pmhub never recorded (a
    retried booking that found its event already cancelled).
    """

    def update(postmortem: PostMortem) -> PostMortem:
        if any(c.event_ref == event_id for c in postmortem.cancelled_meetings):
            return postmortem
        stored = postmortem.meeting
        current = stored is not None and stored.event_ref == event_id
        slot = Slot(stored.start, stored.end) if current and stored is not None else times
        if slot is None:
            return postmortem  # not the meeting pmhub knows: nothing of ours to change
        gone = CancelledMeeting(
            event_ref=event_id, start=slot.start, end=slot.end, how=how, noticed_at=noticed_at
        )
        return postmortem.model_copy(
            update={
                "meeting": None if current else stored,
                "cancelled_meetings": (*postmortem.cancelled_meetings, gone),
            }
        )

    return update


def record_no_slot(unbooked: NoMeetingSlot) -> Update:
    def update(postmortem: PostMortem) -> PostMortem:
        if postmortem.meeting is not None:
            return postmortem  # booked meanwhile (by a person's link): nothing to ask
        return postmortem.model_copy(update={"no_meeting_slot": unbooked})

    return update


def booking_note(
    choice: SlotChoice[Slot], event: EventRef, *, early_before: datetime | None
) -> BookingNote:
    """What the owner must hear about the booked time (see `BookingNote`).

    When the calendar returned an event an earlier attempt booked at another time, this
    attempt's free/busy already shows that event as everyone's busy time, so who else
    conflicts then cannot be told apart: only the unknown calendars are kept.
    """
    same_slot = event.start is None or instant(event.start) == instant(choice.slot.start)
    return BookingNote(
        conflicts=choice.conflicts if same_slot else (),
        optional_conflicts=choice.optional_conflicts if same_slot else (),
        unknown=choice.unknown,
        not_before=early_before,
    )


def booking_detail(
    choice: SlotChoice[Slot],
    free_busy: FreeBusy,
    event: EventRef,
    deadline: datetime,
    note: BookingNote,
) -> dict[str, Any]:
    """The ledger's (and the audit's) account of one booking."""
    detail: dict[str, Any] = {
        "chosen": {"start": choice.slot.start.isoformat(), "end": choice.slot.end.isoformat()},
        "all_free": choice.all_free,
        "conflicts": list(choice.conflicts),
        "unknown": {email: list(free_busy.errors.get(email, ())) for email in choice.unknown},
        "optional_conflicts": list(choice.optional_conflicts),
        "html_link": event.html_link,
        **timing(event, deadline),
    }
    if event.start is not None and event.start != choice.slot.start:
        # Booked by an earlier attempt (or moved since): the calendar's time is the truth.
        detail["booked_earlier"] = True
    if note.not_before is not None:
        detail["early"] = {
            "not_before": note.not_before.isoformat(),
            "reason": f"the deadline {deadline.isoformat()} leaves no working time after "
            f"{note.not_before.isoformat()} (the writing and review time): booked the latest "
            "slot before it",
        }
    if note.worth_telling:
        detail["owner_told_by"] = "report_meeting_booking"
    return detail


def timing(event: EventRef, deadline: datetime | None) -> dict[str, Any]:
    """The event's times, and whether a human moved it past the deadline or cancelled it."""
    found: dict[str, Any] = {
        "event_start": event.start.isoformat() if event.start else None,
        "event_end": event.end.isoformat() if event.end else None,
        "status": event.status,
    }
    if event.cancelled:
        # Recorded (`record_gone`); the plan tells the owner (REPORT_MEETING_CANCELLED).
        found["gone"] = "cancelled"
    elif deadline is not None and event.end is not None and instant(event.end) > instant(deadline):
        # Not moved back: the person who moved it knows something pmhub does not. The
        # plan reports it as a problem and tells the owner (REPORT_LATE_MEETING).
        found["past_deadline"] = True
    return found
