"""Each intent's payload given the targets of its incident's team (issue 15).

`Context.add` passes every payload through `routed`: a payload with a target field
(`hub.model.intent.ROUTING_FIELDS`) gets the part of the incident's `Route` its effect
needs. Planning steps therefore never think about routing, and a route with nothing
in it leaves every payload as it was (same canonical form, same fingerprint).
"""

from __future__ import annotations

from typing import Any

from hub.model.intent import (
    CheckMeeting,
    CreateDocument,
    EmailResults,
    FileFollowUp,
    IntentPayload,
    InviteToMeeting,
    PublishExternalMessage,
    RequestReview,
    ScheduleMeeting,
    UpdateMeeting,
)
from hub.model.postmortem import Meeting
from hub.model.routing import DocumentRoute, Route

_CALENDAR = (ScheduleMeeting, InviteToMeeting, UpdateMeeting, CheckMeeting)


def routed(payload: IntentPayload, route: Route, meeting: Meeting | None = None) -> IntentPayload:
    """`payload` with its targets from `route`; `meeting` is the one on record, if any."""
    if route.empty:
        return payload
    fields = type(payload).model_fields
    update: dict[str, Any] = {}
    if "channel" in fields:
        review = isinstance(payload, RequestReview)
        update["channel"] = route.review_channel if review else route.channel
    if isinstance(payload, _CALENDAR):
        # An event lives on the calendar it was booked on, whatever the route says now.
        booked = meeting.calendar_id if meeting is not None and meeting.event_ref else None
        update["calendar_id"] = route.calendar_id if isinstance(payload, ScheduleMeeting) else None
        update["calendar_id"] = update["calendar_id"] or booked or route.calendar_id
    if isinstance(payload, FileFollowUp):
        update["tracker"] = route.tracker
    if isinstance(payload, PublishExternalMessage):
        update["status_page"] = route.status_page
    if isinstance(payload, CreateDocument) and route.document is not None:
        update["location"] = _location(payload, route.document)
    if isinstance(payload, EmailResults) and route.stakeholders:
        # The team's stakeholders hear the results too, with whom the rule names.
        update["recipients"] = tuple(dict.fromkeys((*payload.recipients, *route.stakeholders)))
    changes = {name: value for name, value in update.items() if value is not None}
    return payload.model_copy(update=changes) if changes else payload


def _location(payload: CreateDocument, target: DocumentRoute) -> str | None:
    """Where the document goes, in the intent's terms (a folder id; 'owner/name:folder').

    A team's target is more specific than the rule's `document:` block, so it wins; what
    it leaves out (the repository, the folder in it) stays the rule's.
    """
    if payload.tool == "google_docs":
        return target.folder or payload.location
    repository, _, folder = (payload.location or ":").partition(":")
    repository = target.repository or repository
    folder = target.path or target.folder or folder
    return f"{repository}:{folder}" if repository or folder else None
