"""Performers for the post-mortem meeting: book it on the shared calendar, keep its invite list.

SCHEDULE_MEETING runs the recipe of `hub.ports.calendar`: the policy's candidate
slots (working hours, ending by the deadline) from the later of the window start and
`now + calendar.min_notice`, the invitees' free/busy, `choose_slot` (the earliest
slot where every required invitee is free, else the one with the fewest conflicts),
then `create_event` under the intent's key. The slot is chosen when the job runs,
not when the intent was planned, so the intent's fingerprint stays independent of
`now` and of other people's calendars.

Idempotency comes from the calendar: the event id is derived from the key, so a
retry after an unknown outcome gets the event booked the first time back, even
though its own free/busy now shows that event and would pick another slot. The
meeting pmhub records is therefore always the event as the calendar returned it,
never the slot this attempt chose. Likewise a human's move or cancellation is
recorded, not undone (seed 004 makes the owner responsible for the meeting; pmhub
only books it and reports what no longer meets the policy).

Everything the owner should be told (conflicts, unknown calendars, a meeting moved
past the deadline) goes into the outcome's `detail`, i.e. the effects ledger, with
a `tell_owner` sentence.

Keeping it true (hub.policy.upkeep): UPDATE_MEETING patches the event's description
(the owner, the commander, a note while the incident is open again), never its
time; CHECK_MEETING reads the event back and records its times as the calendar has
them. A meeting a person moved past the deadline is then in pmhub's record, and the
plan asks the chat side to tell the owner (REPORT_LATE_MEETING), once per move.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.errors import Permanent
from hub.model.incident import Incident, Source
from hub.model.intent import (
    CheckMeeting,
    IntentKind,
    InviteToMeeting,
    ScheduleMeeting,
    UpdateMeeting,
)
from hub.model.postmortem import Meeting, PostMortem
from hub.policy import PolicySet
from hub.policy.calendar import instant
from hub.policy.deadlines import Slot, candidate_slots
from hub.policy.plan import MeetingPlan
from hub.policy.slot_choice import SlotChoice, choose_slot
from hub.ports import Calendar, EventRef, EventRequest, FreeBusy, MeetingDetails

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
        deadline, window_start = plan.deadline, plan.window_start
        if deadline is None or window_start is None:
            raise Permanent(f"{intent.key}: the plan has no meeting window to schedule in")
        work = self.policies.calendar_for(intent.rule)
        # Not sooner than the minimum notice: people need time to see the invitation.
        start = max(instant(window_start), instant(self.clock() + self.calendar.min_notice))
        slots = candidate_slots(start, deadline, plan.duration, work)
        if not slots:
            # Nothing to retry: only a person can now pick a time (the plan says so too).
            raise Permanent(
                f"no slot inside working hours between {start.isoformat()} and the deadline "
                f"{deadline.isoformat()}: the owner must schedule the meeting by hand"
            )
        required, optional = _split(plan)
        free_busy = await self.calendar.free_busy(
            [*required, *optional], slots[0].start, slots[-1].end
        )
        choice = choose_slot(
            slots, free_busy.calendars, required, optional=optional, deadline=deadline
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
            )
        )
        detail = _booking_detail(choice, free_busy, event, deadline)
        meeting = _meeting(event, plan.calendar, required + optional)
        update = None if meeting is None else _set_meeting(meeting, merge_invitees=False)
        return EffectOutcome(vendor_ref=event.id, detail=detail, update=update)

    async def invite(self, request: EffectRequest) -> EffectOutcome:
        invitation = payload_of(request.intent, InviteToMeeting)
        email, event_id = invitation.email, invitation.event_ref
        if not email or not event_id:
            raise Permanent(f"{request.intent.key}: an invitation needs an email and an event")
        current = await self.calendar.get_event(event_id)
        if current is None or current.cancelled:
            gone = "no longer exists" if current is None else "was cancelled"
            # A person removed the meeting: re-creating it would fight their decision.
            return EffectOutcome(
                vendor_ref=event_id,
                detail={
                    "skipped": f"the meeting {gone}; {email} was not invited",
                    "tell_owner": f"The post-mortem meeting {gone}; please schedule it again.",
                },
            )
        attendees = list(current.attendees)
        if email.casefold() not in {a.casefold() for a in attendees}:
            attendees.append(email)
        # Patched even when already present: the call is cheap and confirms the state.
        event = await self.calendar.patch_event(event_id, attendees=attendees)
        deadline = _meeting_plan(request).deadline
        detail: dict[str, Any] = {"invited": email, **_timing(event, deadline)}
        stored = request.postmortem.meeting if request.postmortem else None
        calendar = stored.calendar if stored else invitation.calendar
        meeting = _meeting(event, calendar, event.attendees, stored)
        update = None if meeting is None else _set_meeting(meeting, merge_invitees=True)
        return EffectOutcome(vendor_ref=event.id, detail=detail, update=update)

    async def update(self, request: EffectRequest) -> EffectOutcome:
        """Rewrite the description (owner, commander, reopen note); the time is left alone."""
        change = payload_of(request.intent, UpdateMeeting)
        event_id, reopened = change.event_ref, change.reopened
        current = await self.calendar.get_event(event_id)
        if current is None or current.cancelled:
            gone = "no longer exists" if current is None else "was cancelled"
            return EffectOutcome(vendor_ref=event_id, detail={"skipped": f"the meeting {gone}"})
        # The connector leaves an unchanged description alone: no update mail to everyone.
        event = await self.calendar.patch_event(event_id, details=_details(request, reopened))
        detail = {
            "owner": request.plan.owner.person.key if request.plan.owner else None,
            "reopened": reopened,
            "event_start": event.start.isoformat() if event.start else None,
        }
        return EffectOutcome(vendor_ref=event.id, detail=detail)

    async def check(self, request: EffectRequest) -> EffectOutcome:
        """Read the event back; record its times as they are now (a person may have moved it)."""
        check = payload_of(request.intent, CheckMeeting)
        event_id = check.event_ref
        stored = request.postmortem.meeting if request.postmortem else None
        current = await self.calendar.get_event(event_id)
        if current is None:
            gone = "The post-mortem meeting no longer exists; please schedule it again."
            return EffectOutcome(
                vendor_ref=event_id, detail={"status": "missing", "tell_owner": gone}
            )
        deadline = request.plan.meeting.deadline if request.plan.meeting else None
        detail = _timing(current, deadline)
        calendar = stored.calendar if stored else check.calendar
        meeting = _meeting(current, calendar, current.attendees, stored)
        if meeting is None:
            return EffectOutcome(
                vendor_ref=current.id, detail=detail
            )  # cancelled: recorded, not undone
        if stored is not None and (meeting.start, meeting.end) != (stored.start, stored.end):
            detail["moved"] = {"from": stored.start.isoformat(), "to": meeting.start.isoformat()}
        # Invitees only grow in pmhub's record: someone a person removed is not re-invited.
        return EffectOutcome(
            vendor_ref=current.id, detail=detail, update=_set_meeting(meeting, merge_invitees=True)
        )


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


def _meeting(
    event: EventRef,
    calendar: str,
    invitees: Sequence[str],
    previous: Meeting | None = None,
) -> Meeting | None:
    """The meeting as the calendar has it; None when it is no timed meeting any more."""
    if event.cancelled:
        return None
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
    )


def _set_meeting(meeting: Meeting, *, merge_invitees: bool) -> Callable[[PostMortem], PostMortem]:
    def update(postmortem: PostMortem) -> PostMortem:
        stored = postmortem.meeting
        if merge_invitees and stored is not None:
            # Invitations run concurrently and commit in any order: pmhub's record of
            # who was invited only grows, so an older answer cannot drop a newer invitee.
            known = {email.casefold() for email in meeting.invitees}
            extra = tuple(e for e in stored.invitees if e.casefold() not in known)
            return postmortem.model_copy(
                update={
                    "meeting": meeting.model_copy(update={"invitees": meeting.invitees + extra})
                }
            )
        return postmortem.model_copy(update={"meeting": meeting})

    return update


def _slot_json(slot: Slot) -> dict[str, str]:
    return {"start": slot.start.isoformat(), "end": slot.end.isoformat()}


def _booking_detail(
    choice: SlotChoice[Slot], free_busy: FreeBusy, event: EventRef, deadline: datetime
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "chosen": _slot_json(choice.slot),
        "all_free": choice.all_free,
        "conflicts": list(choice.conflicts),
        "unknown": {email: list(free_busy.errors.get(email, ())) for email in choice.unknown},
        "optional_conflicts": list(choice.optional_conflicts),
        "html_link": event.html_link,
        **_timing(event, deadline),
    }
    if event.start is not None and event.start != choice.slot.start:
        # Booked by an earlier attempt (or moved since): the calendar's time is the truth.
        detail["booked_earlier"] = True
    told = []
    if choice.conflicts:
        told.append(f"busy at that time: {', '.join(choice.conflicts)}")
    if choice.unknown:
        told.append(f"calendars pmhub could not read: {', '.join(choice.unknown)}")
    if told:
        # TODO(chat): recorded in the ledger and audit only; not yet DMed to the owner.
        told_before = [detail["tell_owner"]] if "tell_owner" in detail else []
        conflict = "No slot before the deadline suits everyone; " + "; ".join(told)
        detail["tell_owner"] = " ".join([*told_before, conflict])
    return detail


def _timing(event: EventRef, deadline: datetime | None) -> dict[str, Any]:
    """The event's times, and whether a human moved it past the deadline or cancelled it."""
    found: dict[str, Any] = {
        "event_start": event.start.isoformat() if event.start else None,
        "event_end": event.end.isoformat() if event.end else None,
        "status": event.status,
    }
    if event.cancelled:
        found["tell_owner"] = "The post-mortem meeting was cancelled; please schedule it again."
    elif deadline is not None and event.end is not None and instant(event.end) > instant(deadline):
        # Not moved back: the person who moved it knows something pmhub does not. The
        # plan reports it as a problem and tells the owner (REPORT_LATE_MEETING).
        found["past_deadline"] = True
        found["tell_owner"] = (
            f"The post-mortem meeting now ends {event.end.isoformat()}, after the deadline "
            f"{deadline.isoformat()}."
        )
    return found
