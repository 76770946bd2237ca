"""Telling the world: the external message on the status page, notes on the PagerDuty incident.

PUBLISH_EXTERNAL_MESSAGE is only in a plan once the post-mortem is Reviewed and the
message passes the wording lint (`hub.policy.external_message`), and the effect runner
re-evaluates the plan right before calling here, so the performer publishes what it
is given; it still refuses a request whose post-mortem has no message (a plan and a
store that disagree are a bug to surface, not to paper over). The publication carries
the incident's reference and times, so that in `postmortem` mode the connector can
find the page incident opened during the outage (or make one). The status page's id
(the page incident's) is recorded on the message (`published_ref`) and in the ledger
row, with how that page incident was chosen.

PAGERDUTY_NOTE: PagerDuty notes have no idempotency key, so every note ends with a
tag derived from the intent's key and fingerprint (`[pmhub 3f2a…]`); a retry whose
earlier outcome is unknown lists the incident's notes and returns the tagged one
instead of posting again. The fingerprint is part of the tag because a changed
intent (the meeting moved) is meant to produce a new note under the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from hub.engine.effects import EffectOutcome, EffectRequest, Performer
from hub.engine.performers import payload_of
from hub.errors import Permanent
from hub.model.incident import Incident, Person, Source
from hub.model.intent import (
    ClosedNote,
    Intent,
    IntentKind,
    OwnerAndMeetingNote,
    PublishExternalMessage,
)
from hub.model.postmortem import PostMortem
from hub.ports import JsonObject, Publication, StatusPage

NOTE_TAG_LENGTH = 16


class IncidentNotes(Protocol):
    """The part of the PagerDuty connector the note performer uses."""

    async def add_note(self, incident_id: str, content: str, from_email: str | None = None) -> str:
        """POST /incidents/{id}/notes; returns the note id."""
        ...

    async def list_notes(self, incident_id: str) -> Sequence[JsonObject]:
        """GET /incidents/{id}/notes."""
        ...


def publish_performers(
    *,
    status_page: StatusPage | None,
    notes: IncidentNotes | None,
    clock: Callable[[], datetime],
) -> dict[IntentKind, Performer]:
    """The performers of whichever of the two is configured."""
    performers: dict[IntentKind, Performer] = {}
    if status_page is not None:
        performers[IntentKind.PUBLISH_EXTERNAL_MESSAGE] = MessagePublisher(status_page, clock)
    if notes is not None:
        performers[IntentKind.PAGERDUTY_NOTE] = NoteWriter(notes)
    return performers


class MessagePublisher:
    """PUBLISH_EXTERNAL_MESSAGE → the status page; records the page's id on the message."""

    def __init__(self, status_page: StatusPage, clock: Callable[[], datetime]) -> None:
        self._status_page, self._clock = status_page, clock

    async def __call__(self, request: EffectRequest) -> EffectOutcome:
        pm, payload = request.postmortem, payload_of(request.intent, PublishExternalMessage)
        if pm is None or pm.external_message is None:
            raise Permanent("asked to publish an external message the post-mortem does not have")
        body = _nonblank(payload.body) or pm.external_message.body.strip()
        incident = request.incident
        publication = Publication(
            incident_name=_nonblank(payload.title) or incident.title or _reference(incident),
            body=body,
            marker=request.intent.key,
            # What lets the connector find the page incident opened during the outage.
            reference=incident.reference,
            started_at=incident.created_at,
            resolved_at=incident.resolved_at,
            **_page_target(payload),
        )
        ref = await self._status_page.publish(publication, unknown_outcome=request.unknown_outcome)
        published_at = self._clock()

        def record(current: PostMortem) -> PostMortem:
            message = current.external_message
            if message is None or message.published:
                return current
            done = message.model_copy(
                update={"published_ref": ref.id, "published_at": published_at}
            )
            return current.model_copy(update={"external_message": done})

        detail: dict[str, object] = {"url": ref.url, "page_incident_id": ref.id}
        if ref.how:
            detail["page_incident"] = ref.how
        return EffectOutcome(vendor_ref=ref.id, detail=detail, update=record)


class NoteWriter:
    """PAGERDUTY_NOTE → a note on the PagerDuty incident, posted once."""

    def __init__(self, notes: IncidentNotes) -> None:
        self._notes = notes

    async def __call__(self, request: EffectRequest) -> EffectOutcome:
        incident = request.incident
        if incident.source is not Source.PAGERDUTY:
            raise Permanent(f"{incident.id} is not a PagerDuty incident: no note to add")
        tag = note_tag(request.intent)
        if request.unknown_outcome:
            for note in await self._notes.list_notes(incident.source_id):
                content, note_id = note.get("content"), note.get("id")
                if isinstance(content, str) and tag in content and isinstance(note_id, str):
                    return EffectOutcome(vendor_ref=note_id, detail={"found_earlier": True})
        content = f"{note_text(request.intent, incident)}\n\n{tag}"
        note_id = await self._notes.add_note(incident.source_id, content)
        return EffectOutcome(vendor_ref=note_id)


def note_tag(intent: Intent) -> str:
    digest = hashlib.sha256(f"{intent.key}\n{intent.fingerprint()}".encode()).hexdigest()
    return f"[pmhub {digest[:NOTE_TAG_LENGTH]}]"


def note_text(intent: Intent, incident: Incident) -> str:
    """What people read on the PagerDuty incident: the owner, the meeting, the links."""
    payload = intent.payload
    lines: list[str] = []
    if isinstance(payload, ClosedNote):
        reason = _nonblank(payload.not_needed_reason)
        lines.append(f"Post-mortem closed: {reason}." if reason else "Post-mortem closed.")
        if payload.follow_ups:
            lines.append(f"Follow-ups: {', '.join(payload.follow_ups)}")
        document = payload.document_url
    else:
        note = payload_of(intent, OwnerAndMeetingNote)
        lines.append(f"Post-mortem owner: {_person(note.owner)}")
        lines.append(f"Post-mortem meeting: {_when(note.meeting_start)}")
        if link := _nonblank(note.meeting_link):
            lines.append(f"Meeting: {link}")
        document = note.document_url
    if document := _nonblank(document) or incident.links.postmortem_document_url:
        lines.append(f"Post-mortem document: {document}")
    return "\n".join(lines)


def _person(person: Person) -> str:
    name, email = _nonblank(person.name), _nonblank(person.email)
    if name and email:
        return f"{name} <{email}>"
    return name or email or "unknown"


def _when(moment: datetime) -> str:
    # The policy's own time zone (the offset it was written with), spelled for people.
    return moment.strftime("%a %d %b %Y %H:%M (UTC%z)")


def _reference(incident: Incident) -> str:
    return incident.reference or incident.id


def _nonblank(text: str | None) -> str | None:
    return text if text and text.strip() else None


def _page_target(payload: PublishExternalMessage) -> dict[str, Any]:
    """The team's status page and components (issue 15); nothing: the configured ones."""
    target = payload.status_page
    if target is None:
        return {}
    found: dict[str, Any] = {"page_id": target.page_id}
    if target.component_ids is not None:
        found["component_ids"] = target.component_ids
    return found
