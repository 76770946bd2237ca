"""A meeting a person booked, linked to the post-mortem (`/postmortem meeting <link>`).

When pmhub could not book (no working time before the deadline) or a person cancelled
the meeting and the policy waits for people (`meeting.rebook_when_cancelled: false`),
someone books it on the shared calendar and links it. The event is read from the
calendar here, before the action records it, so the person hears at once whether the
link was good: an unknown event, one on another calendar, or a cancelled one is
refused with the reason.
"""

from __future__ import annotations

from hub.errors import Permanent
from hub.ports import Calendar, EventRef

NO_CALENDAR = "no calendar is configured, so pmhub cannot read the meeting"


async def read_linked_event(
    calendar: Calendar | None, link: str, *, calendar_id: str | None = None
) -> EventRef | str:
    """The event `link` names, as the shared calendar has it (`calendar_id`: the team's,
    issue 15); else why not (a sentence)."""
    if calendar is None:
        return NO_CALENDAR
    event_id = calendar.event_id_of(link)
    if event_id is None:
        return f"`{link}` is not a calendar event's link or id"
    try:
        event = await calendar.get_event(event_id, calendar_id=calendar_id)
    except Permanent as refused:  # e.g. an id the calendar finds malformed
        return f"the calendar would not read it: {refused.reason}"
    return _usable(event)


def _usable(event: EventRef | None) -> EventRef | str:
    if event is None:
        return "there is no such event on the shared post-mortem calendar"
    if event.cancelled:
        return "that event is cancelled"
    if event.start is None or event.end is None:
        return "that event has no start and end time (an all-day event?)"
    return event
