"""The calendar port: free/busy, booking the post-mortem meeting, and keeping it true.

How the engine uses it to schedule a meeting (the selection itself stays pure)::

    start = max(window_start, now + calendar.min_notice)
    slots = candidate_slots(start, deadline, duration, work_calendar)     # hub.policy.deadlines
    free_busy = await calendar.free_busy(invitees, slots[0].start, slots[-1].end)
    choice = choose_slot(slots, free_busy.calendars, required=invitees)   # hub.policy.slot_choice
    ref = await calendar.create_event(EventRequest(key=intent.key, start=choice.slot.start, ...))

`create_event` is idempotent by `key`: the event id is derived from it, so a retried
job finds the event it booked before (whatever happened to the first answer) instead
of booking a second one. Every method raises only `hub.errors` types.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol


@dataclass(frozen=True, slots=True)
class BusyInterval:
    """A half-open busy period [start, end) of one calendar."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class FreeBusy:
    """Busy periods per invitee email over [start, end).

    `calendars[email]` is None when the vendor could not say (an unknown calendar,
    no permission to see it, an internal error): such an invitee is *unknown*, never
    free. `errors[email]` carries the vendor's reasons for the report to the owner.
    """

    start: datetime
    end: datetime
    calendars: Mapping[str, tuple[BusyInterval, ...] | None] = field(hash=False)
    errors: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def busy(self, email: str) -> tuple[BusyInterval, ...] | None:
        """The busy periods of `email` (matched case-insensitively), None if unknown."""
        wanted = email.casefold()
        for name, intervals in self.calendars.items():
            if name.casefold() == wanted:
                return intervals
        return None

    @property
    def unknown(self) -> tuple[str, ...]:
        return tuple(name for name, intervals in self.calendars.items() if intervals is None)


@dataclass(frozen=True)
class MeetingDetails:
    """What the event's description says; the connector renders it (with the agenda).

    The engine cannot import a connector's text builder, so it hands over facts and
    each calendar connector words them for its vendor.
    """

    incident_title: str
    incident_reference: str | None = None  # "PD-1042", "INC-45"
    severity: str | None = None
    incident_url: str | None = None
    postmortem_url: str | None = None
    pagerduty_url: str | None = None
    owner: str | None = None  # a display name
    incident_commander: str | None = None
    notes: tuple[str, ...] = ()  # e.g. "The incident was reopened on ..."


@dataclass(frozen=True)
class EventRequest:
    """One meeting to book on the shared calendar."""

    key: str  # the effect key, e.g. "pm:pagerduty:P1:meeting": the event's identity
    summary: str
    start: datetime  # aware
    end: datetime  # aware
    attendees: tuple[str, ...]
    details: MeetingDetails
    optional_attendees: tuple[str, ...] = ()
    time_zone: str | None = None  # IANA name the event is shown in, e.g. "America/New_York"
    conference: bool | None = None  # add a video link; None: the connector's setting
    calendar_id: str | None = None  # the team's calendar (issue 15); None: the configured one


@dataclass(frozen=True)
class EventRef:
    """An event as the calendar has it now (a human may have moved or cancelled it)."""

    id: str
    html_link: str | None
    start: datetime | None  # None for an all-day event a human turned it into
    end: datetime | None
    attendees: tuple[str, ...]
    status: str  # "confirmed", "tentative" or "cancelled"
    conference_link: str | None = None  # the video link, once the vendor made one

    @property
    def cancelled(self) -> bool:
        return self.status == "cancelled"


class Calendar(Protocol):
    """A calendar holding the shared "post-mortem meetings" calendar (Google Calendar)."""

    @property
    def min_notice(self) -> timedelta:
        """The soonest a meeting may start after now (people need time to see the invite)."""
        ...

    async def free_busy(self, emails: Sequence[str], start: datetime, end: datetime) -> FreeBusy:
        """Busy periods of each invitee between `start` and `end`."""
        ...

    async def create_event(self, request: EventRequest) -> EventRef:
        """Book the meeting; if an event for `request.key` exists already, return that one.

        The returned event may differ from the request (a human moved or cancelled
        it since): the caller compares, and never books over a human's decision.
        """
        ...

    async def booked_event(self, key: str, *, calendar_id: str | None = None) -> EventRef | None:
        """The event `create_event` booked for `key` (its id derived from the key), as it is
        now; None if there is none. One read: what a retry whose earlier attempt may have
        booked asks first, before anything else that could fail (issue 12)."""
        ...

    async def patch_event(
        self,
        event_id: str,
        *,
        attendees: Sequence[str] | None = None,
        details: MeetingDetails | None = None,
        calendar_id: str | None = None,
    ) -> EventRef:
        """Replace the attendee list and/or the description; None leaves a field alone.
        `calendar_id` (here and below): the calendar the event is on, a team's (issue 15);
        None: the configured one."""
        ...

    async def add_attendees(
        self, event_id: str, emails: Sequence[str], *, calendar_id: str | None = None
    ) -> EventRef:
        """Invite `emails` too, keeping everyone invited (and their answers).

        The list is read and written in one guarded step (a write refused if the event
        changed since the read), so two invitations at once never drop each other's
        invitee: the one that lost the race fails `Transient` and is retried.
        """
        ...

    async def get_event(self, event_id: str, *, calendar_id: str | None = None) -> EventRef | None:
        """The event as it is now; None if the calendar has no such event."""
        ...

    def event_id_of(self, link: str) -> str | None:
        """The event id a person gave: the event's link as the calendar shows it, or its
        id. None when it names no event (a meeting a person booked is linked by it)."""
        ...

    async def cancel_event(
        self,
        event_id: str,
        *,
        reason: str,
        details: MeetingDetails,
        calendar_id: str | None = None,
    ) -> EventRef | None:
        """Cancel the meeting, its description saying why (attendees are told by the
        calendar). An event already cancelled is left alone; None if it does not exist."""
        ...
