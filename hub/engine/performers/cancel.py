"""CANCEL_MEETING: a post-mortem closed as not needed does not leave its meeting behind.

The calendar tells the attendees; the event's description says why (the reason the
post-mortem was closed with), so nobody wonders where the review went. A meeting
already cancelled or deleted by a person is left as it is.
"""

from __future__ import annotations

from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.model.intent import CancelMeeting, IntentKind
from hub.ports import Calendar, MeetingDetails


def cancel_performers(calendar: Calendar) -> dict[IntentKind, Performer]:
    async def cancel(request: EffectRequest) -> EffectOutcome:
        cancel = payload_of(request.intent, CancelMeeting)
        incident = request.incident
        owner = request.plan.owner
        details = MeetingDetails(
            incident_title=incident.title or incident.id,
            incident_reference=incident.reference,
            severity=incident.severity.value,
            incident_url=incident.links.vendor_url,
            owner=owner.person.display if owner else None,
            notes=(f"The post-mortem was closed as not needed: {cancel.not_needed_reason}",),
        )
        reason = f"the post-mortem is not needed ({cancel.not_needed_reason})"
        event = await calendar.cancel_event(
            cancel.event_ref, reason=reason, details=details, calendar_id=cancel.calendar_id
        )
        status = "missing" if event is None else event.status
        return EffectOutcome(vendor_ref=cancel.event_ref, detail={"status": status})

    return {IntentKind.CANCEL_MEETING: cancel}
