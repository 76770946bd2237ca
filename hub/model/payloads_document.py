"""Intent payloads of the post-mortem document (issue 14)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hub.model.incident import Frozen
from hub.model.intent_base import (
    Channel,
    IntentKind,
    Moment,
    Payload,
    PersonRef,
)

# -- the post-mortem document (issue 14) -----------------------------------------------


class CreateDocument(Payload):
    """Write the document once. Where and from which template; what goes in it (the
    timeline, the people) is read from the incident's history when the job runs."""

    kind: Literal[IntentKind.CREATE_DOCUMENT] = IntentKind.CREATE_DOCUMENT
    tool: str = Field(description="'google_docs' or 'github'")
    template: str
    location: str | None = Field(description="a folder id or owner/repository; None: default")
    title: str
    slug: str = Field(description="a file name where one is needed: '2026-11-24-pd-1042-…'")


class DraftFollowUp(Frozen):
    """One follow-up as pmhub's draft section lists it."""

    id: str
    summary: str
    priority: str
    state: str
    tracker_key: str | None


class UpdateDocumentDraft(Payload):
    """pmhub's own section of the document: re-written when what it shows changes, and
    only while nobody has edited it."""

    kind: Literal[IntentKind.UPDATE_DOCUMENT_DRAFT] = IntentKind.UPDATE_DOCUMENT_DRAFT
    document_id: str
    status: str
    owner: PersonRef | None
    meeting_start: Moment | None
    follow_ups: tuple[DraftFollowUp, ...]
    candidates: tuple[str, ...] = Field(description="ids of TODOs not added as follow-ups")


class CandidateOffer(Frozen):
    id: str
    follow_up_id: str | None = Field(description="the follow-up it was added as")


class OfferFollowUps(Payload):
    """The owner's DM offering the TODOs found in the history, one button each."""

    kind: Literal[IntentKind.OFFER_FOLLOW_UPS] = IntentKind.OFFER_FOLLOW_UPS
    recipient: PersonRef
    candidates: tuple[CandidateOffer, ...]
    document_url: str | None
    channel: Channel = None


class EmailResults(Payload):
    """Seed 004: the results and key learnings, emailed to the stakeholders, once."""

    kind: Literal[IntentKind.EMAIL_RESULTS] = IntentKind.EMAIL_RESULTS
    recipients: tuple[str, ...]
    moment: Literal["reviewed", "closed"]
    document_url: str | None
