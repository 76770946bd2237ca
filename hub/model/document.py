"""The post-mortem document pmhub writes, and what it found for it (issue 14).

pmhub creates the document once, when the post-mortem starts, pre-filled with the
timeline, the responders and the links it assembled from the incident's history; it
keeps what it learnt on the `PostMortem` so that every message can link the document,
the owner can be offered the TODOs found in the channel, and the results email is sent
once.
"""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import Field

from hub.model.incident import Frozen


def section_name(heading: str) -> str:
    """A heading as policies name it: "1. Root Cause " -> "root cause", "Timeline (UTC)"
    -> "timeline (utc)". Case, numbering and surrounding punctuation do not count."""
    text = re.sub(r"^[\s#]*(?:\d+[.)]\s*)*", "", heading)
    return re.sub(r"\s+", " ", text).strip(" :.-").casefold()


class DocumentRecord(Frozen):
    """The document pmhub created: where it is, and what pmhub last read from it."""

    tool: str = Field(description="the policy's document tool: 'google_docs' or 'github'")
    location: str | None = Field(
        default=None, description="the folder or repository the policy named (None: default)"
    )
    id: str = Field(description="the connector's id: a Drive file id, 'branch:path'")
    url: str = Field(description="what people open: the Google Doc, the pull request")
    created_at: datetime
    history_cut: tuple[str, ...] = Field(
        default=(), description="history sources the policy's cap cut short (the doc says so)"
    )
    draft_taken_over: bool = Field(
        default=False,
        description="a person edited or removed pmhub's draft section: pmhub no longer writes it",
    )
    summary: str | None = Field(default=None, description="its Summary, as last read")
    read_at: datetime | None = None


class CandidateFollowUp(Frozen):
    """A TODO found in the incident's history. Offered to the owner; filed only by a person."""

    id: str = Field(description="stable: derived from the message it was found in")
    text: str
    author: str | None = None
    at: datetime
    link: str | None = Field(default=None, description="back to the message (a permalink)")
    follow_up_id: str | None = Field(default=None, description="the follow-up it was added as")


class ResultsEmail(Frozen):
    """The results email, once sent (seed 004: "communicate internally")."""

    message_id: str
    sent_at: datetime
    recipients: tuple[str, ...]


class DocumentReview(Frozen):
    """A document read back for the review guard: its sections and which have words in them.

    `sections` maps a section's name (as `hub.ports.section_name` spells it) to its text
    outside pmhub's draft section, subsections included; `headings` to the heading as
    written. `error` says why it could not be read (then both are empty).
    """

    headings: dict[str, str] = Field(default_factory=dict)
    sections: dict[str, str] = Field(default_factory=dict)
    error: str | None = None

    def filled(self, name: str) -> bool:
        return bool(self.sections.get(section_name(name), "").strip())

    def text(self, name: str) -> str | None:
        return self.sections.get(section_name(name), "").strip() or None

    def heading(self, name: str) -> str:
        """How the document spells a section (the policy's words when it has none)."""
        return self.headings.get(section_name(name)) or name.strip().capitalize()
