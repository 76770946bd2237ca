"""Performers for the post-mortem meeting: book it on the shared calendar, keep its invite list.

SCHEDULE_MEETING runs the recipe of `hub.ports.calendar`: the policy's candidate
slots (working hours, ending by the deadline) after the writing and review time
(`meeting.not_before`) and `now + calendar.min_notice`, the invitees' free/busy,
`choose_slot` (the first slot where every required invitee is free, else the least
conflicting one), then `create_event` under the intent's key. When the deadline
leaves no working time after `not_before`, the latest slots before it are tried
first (hub.policy.meeting_window). The slot is chosen when the job runs, not when
the intent was planned, so the intent's fingerprint stays independent of `now` and
of other people's calendars.

Idempotency comes from the calendar: the event id is derived from the key, so a
retry after an unknown outcome gets the event booked the first time back, even
though its own free/busy now shows that event and would pick another slot. The
meeting pmhub records is therefore always the event as the calendar returned it,
never the slot this attempt chose. Likewise a human's move or cancellation is
recorded, not undone (seed 004 makes the owner responsible for the meeting; pmhub
only books it and reports what no longer meets the policy).

Nothing here tells anyone: the performers record what happened
(hub.engine.performers.meeting_record) and the plan turns the record into messages
for the owner, each once - who cannot make the booked time and why it is early
(REPORT_MEETING_BOOKING), no working time left to book in (REPORT_NO_MEETING_SLOT,
instead of a dead job), a cancelled or deleted meeting (REPORT_MEETING_CANCELLED).

Keeping it true (hub.policy.upkeep): UPDATE_MEETING patches the event's description
(the owner, the commander, a note while the incident is open again), never its
time; CHECK_MEETING reads the event back and records its times as the calendar has
them. A meeting a person moved past the deadline is then in pmhub's record, and the
plan asks the chat side to tell the owner (REPORT_LATE_MEETING), once per move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.engine.performers.meeting_record import (
    booking_detail,
    booking_note,
    meeting_of,
    record_gone,
    record_no_slot,
    set_meeting,
    timing,
)
from hub.errors import Permanent
from hub.model.incident import Incident, Source
from hub.model.intent import (
    CheckMeeting,
    IntentKind,
    InviteToMeeting,
    ScheduleMeeting,
    UpdateMeeting,
)
from hub.model.postmortem import BookingNote, NoMeetingSlot
from hub.policy import PolicySet
from hub.policy.calendar import WorkCalendar, instant
from hub.policy.deadlines import Slot
from hub.policy.meeting_window import meeting_candidates, proposed_slot
from hub.policy.plan import MeetingPlan
from hub.policy.slot_choice import choose_slot
from hub.ports import Calendar, EventRef, EventRequest, MeetingDetails

Clock = Callable[[], datetime]


def calendar_performers(
    calendar: Calendar, policies: PolicySet, clock: Clock
) -> dict[IntentKind, Performer]:
    """The performers a configured calendar contributes, by intent kind."""
    meetings = _Meetings(calendar, policies, clock)
    return {
        IntentKind.SCHEDULE_MEETING: meetings.schedule,
        IntentKind.INVITE_TO_MEETING: meetings.invite,
        IntentKind.UPDATE_MEETING: meetings.update,
        IntentKind.CHECK_MEETING: meetings.check,
    }


@dataclass(frozen=True)
class _Meetings:
    calendar: Calendar
    policies: PolicySet
    clock: Clock

    async def schedule(self, request: EffectRequest) -> EffectOutcome:
        intent, plan = request.intent, _meeting_plan(request)
        booking = payload_of(request.intent, ScheduleMeeting)
        deadline, floor, preferred = plan.deadline, plan.window_start, plan.not_before
        if deadline is None or floor is None or preferred is None:
            raise Permanent(f"{intent.key}: the plan has no meeting window to schedule in")
        work = self.policies.calendar_for(intent.rule)
        now = self.clock()
        if request.unknown_outcome:
            # An earlier attempt may have booked it and lost the answer: look for that
            # event first, so an outage of free/busy (needed only to choose a new time)
            # cannot keep pmhub from recording the meeting that is on the calendar.
            earlier = await self.calendar.booked_event(intent.key, calendar_id=booking.calendar_id)
            if earlier is not None:
                return _booked_before(earlier, plan, booking.calendar_id, now)
        # Not sooner than the minimum notice: people need time to see the invitation.
        earliest = max(instant(floor), instant(now + self.calendar.min_notice))
        found = meeting_candidates(earliest, preferred, deadline, plan.duration, work)
        if not found.slots:
            return _no_slot(
                intent.key, earliest, deadline=deadline, duration=plan.duration, work=work, now=now
            )
        required, optional = _split(plan)
        free_busy = await self.calendar.free_busy(
            [*required, *optional], found.slots[0].start, found.slots[-1].end
        )
        choice = choose_slot(
            found.slots,
            free_busy.calendars,
            required,
            optional=optional,
            deadline=deadline,
            prefer=found.prefer,
        )
        if choice is None:  # every candidate ends by the deadline: cannot happen
            raise Permanent(f"{intent.key}: no candidate slot ends by {deadline.isoformat()}")
        event = await self.calendar.create_event(
            EventRequest(
                key=intent.key,
                summary=booking.title or f"Post-mortem: {_headline(request)}",
                start=choice.slot.start,
                end=choice.slot.end,
                attendees=required,
                optional_attendees=optional,
                details=_details(request),
                time_zone=booking.timezone or work.tz.key,
                calendar_id=booking.calendar_id,
            )
        )
        note = booking_note(choice, event, early_before=preferred if found.early else None)
        detail = booking_detail(choice, free_busy, event, deadline, note)
        if event.cancelled:
            # A retry found the event it booked before, since cancelled by a person.
            gone = record_gone(event.id, "cancelled", now, times=choice.slot)
            return EffectOutcome(vendor_ref=event.id, detail=detail, update=gone)
        meeting = meeting_of(
            event, plan.calendar, required + optional, booking=note, calendar_id=booking.calendar_id
        )
        update = None if meeting is None else set_meeting(meeting, merge_invitees=False)
        return EffectOutcome(vendor_ref=event.id, detail=detail, update=update)

    async def invite(self, request: EffectRequest) -> EffectOutcome:
        invitation = payload_of(request.intent, InviteToMeeting)
        email, event_id = invitation.email, invitation.event_ref
        if not email or not event_id:
            raise Permanent(f"{request.intent.key}: an invitation needs an email and an event")
        on = invitation.calendar_id
        current = await self.calendar.get_event(event_id, calendar_id=on)
        if current is None or current.cancelled:
            # A person removed the meeting: re-creating it would fight their decision.
            return self._gone(event_id, current, skipped=f"{email} was not invited")
        # Added in one guarded read-and-write by the connector: invitations running at
        # once (a linked meeting gets all the policy's invitees) never drop each other.
        event = await self.calendar.add_attendees(event_id, [email], calendar_id=on)
        deadline = _meeting_plan(request).deadline
        detail: dict[str, Any] = {"invited": email, **timing(event, deadline)}
        stored = request.postmortem.meeting if request.postmortem else None
        calendar = stored.calendar if stored else invitation.calendar
        meeting = meeting_of(event, calendar, event.attendees, stored)
        update = None if meeting is None else set_meeting(meeting, merge_invitees=True)
        return EffectOutcome(vendor_ref=event.id, detail=detail, update=update)

    async def update(self, request: EffectRequest) -> EffectOutcome:
        """Rewrite the description (owner, commander, reopen note); the time is left alone."""
        change = payload_of(request.intent, UpdateMeeting)
        event_id, reopened = change.event_ref, change.reopened
        current = await self.calendar.get_event(event_id, calendar_id=change.calendar_id)
        if current is None or current.cancelled:
            return self._gone(event_id, current, skipped="the description was not updated")
        # The connector leaves an unchanged description alone: no update mail to everyone.
        event = await self.calendar.patch_event(
            event_id, details=_details(request, reopened), calendar_id=change.calendar_id
        )
        detail = {
            "owner": request.plan.owner.person.key if request.plan.owner else None,
            "reopened": reopened,
            "event_start": event.start.isoformat() if event.start else None,
        }
        return EffectOutcome(vendor_ref=event.id, detail=detail)

    async def check(self, request: EffectRequest) -> EffectOutcome:
        """Read the event back; record its times as they are now (a person may have moved it),
        or that it is gone (a person cancelled or deleted it)."""
        check = payload_of(request.intent, CheckMeeting)
        event_id = check.event_ref
        stored = request.postmortem.meeting if request.postmortem else None
        current = await self.calendar.get_event(event_id, calendar_id=check.calendar_id)
        if current is None or current.cancelled:
            return self._gone(event_id, current)
        deadline = request.plan.meeting.deadline if request.plan.meeting else None
        detail = timing(current, deadline)
        calendar = stored.calendar if stored else check.calendar
        meeting = meeting_of(current, calendar, current.attendees, stored)
        if meeting is None:
            return EffectOutcome(vendor_ref=current.id, detail=detail)  # all-day: times unknown
        if stored is not None and (meeting.start, meeting.end) != (stored.start, stored.end):
            detail["moved"] = {"from": stored.start.isoformat(), "to": meeting.start.isoformat()}
        # Invitees only grow in pmhub's record: someone a person removed is not re-invited.
        return EffectOutcome(
            vendor_ref=current.id, detail=detail, update=set_meeting(meeting, merge_invitees=True)
        )

    def _gone(self, event_id: str, current: EventRef | None, skipped: str = "") -> EffectOutcome:
        """The event was cancelled (`current` says so) or deleted (None): record it, so the
        plan stops treating it as booked and tells the owner; never re-create it here."""
        how: Literal["cancelled", "deleted"] = "deleted" if current is None else "cancelled"
        detail: dict[str, Any] = {"status": "missing" if current is None else "cancelled"}
        detail["gone"] = how
        if skipped:
            detail["skipped"] = f"the meeting was {how}; {skipped}"
        return EffectOutcome(
            vendor_ref=event_id, detail=detail, update=record_gone(event_id, how, self.clock())
        )


def _booked_before(
    event: EventRef, plan: MeetingPlan, calendar_id: str | None, now: datetime
) -> EffectOutcome:
    """The meeting an earlier attempt booked, recorded as the calendar has it now.

    How that attempt chose the time (who was busy then) was lost with its answer; what
    the owner must still hear is whether it is earlier than the review needs."""
    deadline, preferred = plan.deadline, plan.not_before
    assert deadline is not None  # noqa: S101 - checked by the caller
    early = (
        event.start is not None
        and preferred is not None
        and instant(event.start) < instant(preferred)
    )
    note = BookingNote(not_before=preferred if early else None)
    detail: dict[str, Any] = {
        "booked_earlier": True,
        "found": "the event an earlier attempt booked (its answer was lost)",
        "html_link": event.html_link,
        **timing(event, deadline),
    }
    if note.worth_telling:
        detail["owner_told_by"] = "report_meeting_booking"
    if event.cancelled:
        times = Slot(event.start, event.end) if event.start and event.end else None
        gone = record_gone(event.id, "cancelled", now, times=times)
        return EffectOutcome(vendor_ref=event.id, detail=detail, update=gone)
    required, optional = _split(plan)
    invitees = required + optional
    meeting = meeting_of(event, plan.calendar, invitees, booking=note, calendar_id=calendar_id)
    update = None if meeting is None else set_meeting(meeting, merge_invitees=False)
    return EffectOutcome(vendor_ref=event.id, detail=detail, update=update)


def _split(plan: MeetingPlan) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(required, optional) attendees: the plan marks observers and `invite_optional`
    roles optional (an email a required role also names stays required)."""
    optional = {email.casefold() for email in plan.optional_invitees}
    return (
        tuple(e for e in plan.invitees if e.casefold() not in optional),
        tuple(e for e in plan.invitees if e.casefold() in optional),
    )


def _meeting_plan(request: EffectRequest) -> MeetingPlan:
    if request.plan.meeting is None:
        raise Permanent(f"{request.intent.key}: the plan has no meeting")
    return request.plan.meeting


def _headline(request: EffectRequest) -> str:
    incident = request.incident
    return " ".join(part for part in (incident.reference, incident.title) if part) or incident.id


REOPENED_NOTE = (
    "The incident was reopened: the post-mortem waits until it is resolved again. "
    "pmhub leaves this meeting where it is; move it if it should wait too."
)


def _details(request: EffectRequest, reopened: bool = False) -> MeetingDetails:
    incident, postmortem, owner = request.incident, request.postmortem, request.plan.owner
    commander = incident.incident_commander
    return MeetingDetails(
        notes=(REOPENED_NOTE,) if reopened else (),
        incident_title=incident.title or incident.id,
        incident_reference=incident.reference,
        severity=incident.severity.value,
        incident_url=incident.links.vendor_url,
        postmortem_url=(postmortem.document_url if postmortem else None)
        or incident.links.postmortem_document_url,
        pagerduty_url=_pagerduty_url(incident),
        owner=owner.person.display if owner else None,
        incident_commander=commander.display if commander else None,
    )


def _pagerduty_url(incident: Incident) -> str | None:
    # An incident.io incident may carry a PagerDuty link in a custom field one day;
    # today only PagerDuty's own incidents have one.
    return incident.links.vendor_url if incident.source is Source.PAGERDUTY else None


def _no_slot(
    key: str,
    earliest: datetime,
    *,
    deadline: datetime,
    duration: timedelta,
    work: WorkCalendar,
    now: datetime,
) -> EffectOutcome:
    """No working time is left before the deadline (the notice included): nothing to retry
    and nothing to book. Recorded, so the plan asks the owner and the commander to pick a
    time (REPORT_NO_MEETING_SLOT) with this proposal; the job does not die."""
    proposal = proposed_slot(max(earliest, deadline, key=instant), duration, work)
    unbooked = NoMeetingSlot(
        key=key,
        window_start=earliest.astimezone(work.tz),
        deadline=deadline,
        proposed_start=proposal.start,
        proposed_end=proposal.end,
        noticed_at=now,
    )
    detail = {
        "no_slot": f"no working time between {earliest.isoformat()} and the deadline "
        f"{deadline.isoformat()}",
        "proposed": {"start": proposal.start.isoformat(), "end": proposal.end.isoformat()},
        "owner_told_by": "report_no_meeting_slot",
    }
    return EffectOutcome(vendor_ref=None, detail=detail, update=record_no_slot(unbooked))
