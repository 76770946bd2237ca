"""Post-mortem documents: written once by pmhub, read back for review, never overwritten.

How the engine uses it (the rendering itself is a template elsewhere)::

    ref = await documents.create(DocumentRequest(key=intent.key, title=..., content=markdown,
                                                 draft=draft_markdown, slug="2026-11-24-pd-1042"))
    # ref.url goes into every message; ref is recorded in the effects ledger.
    snapshot = await documents.read(ref)                 # the In Review guard
    empty = [name for name in policy.review.requires if not snapshot.filled(name)]
    result = await documents.update_draft(ref, draft_markdown)   # later re-renders
    if result.outcome is DraftOutcome.EDITED: ...        # a person owns it now: tell, don't write

Exactly once: `create` is idempotent by `key`. Each connector derives the document's
identity from it (a Drive `appProperties` marker, a Git branch name) and, before
creating, looks for what an earlier attempt made, so a retry after a lost answer
returns the first document instead of making a second.

Never a person's words: pmhub writes the whole document once. After that it writes
only into its own *draft section*: from a heading the connector is configured with
(e.g. "pmhub draft"), placed last on creation, to the end of the document. It does so
only while that section still holds exactly what pmhub last put there; if a person
edited it (or wrote below it) or removed it, `update_draft` writes nothing and says so.

Every method raises only `hub.errors` types.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal, Protocol

from hub.model.document import section_name

__all__ = [
    "DocumentFormat",
    "DocumentRef",
    "DocumentRequest",
    "DocumentSection",
    "DocumentSnapshot",
    "Documents",
    "DraftOutcome",
    "DraftUpdate",
    "section_name",
]

DocumentFormat = Literal["markdown", "html"]


@dataclass(frozen=True, slots=True)
class DocumentRequest:
    """One post-mortem document to create.

    `content` is the rendered template (Markdown or HTML, `content_format`), its
    sections introduced by headings. `draft` is what goes into pmhub's own section
    at the end (the connector adds the heading); None leaves the section empty.
    `slug` names the document where a file name is needed (a Markdown file in Git):
    lower-case letters, digits and dashes, e.g. "2026-11-24-pd-1042-checkout-api-5xx".
    """

    key: str  # the effect key, e.g. "pm:pagerduty:P1:document": the document's identity
    title: str
    content: str
    slug: str
    content_format: DocumentFormat = "markdown"
    draft: str | None = None
    summary: str | None = None  # a line for where the document is proposed (a PR's body)


@dataclass(frozen=True, slots=True)
class DocumentRef:
    """Where a created document is. Record it; pass it back to `read`/`update_draft`.

    `id` is opaque to the core (a Drive file id; "branch:path" in a repository).
    `url` is what people open: the Google Doc, or the pull request proposing the file.
    """

    id: str
    url: str
    version: str | None = None  # the vendor's revision pmhub last saw (opaque)


@dataclass(frozen=True, slots=True)
class DocumentSection:
    """The text under one heading, up to the next heading of the same or a higher level."""

    heading: str  # as written
    level: int  # 1 for a title-level heading
    text: str  # plain text of its body (subsections not included), stripped
    draft: bool = False  # inside pmhub's draft section (pmhub's words, not a person's)

    @property
    def name(self) -> str:
        return section_name(self.heading)

    @property
    def filled(self) -> bool:
        return bool(self.text.strip())


@dataclass(frozen=True, slots=True)
class DocumentSnapshot:
    """A document as it is now: its sections for the review guard, and who touched it."""

    ref: DocumentRef
    title: str
    sections: tuple[DocumentSection, ...]
    edited_by_others: bool  # someone other than pmhub changed it after pmhub wrote it
    modified_at: datetime | None = None
    last_modified_by: str | None = None  # a display name, email or login, when known
    draft_edited: bool = False  # a person changed or removed pmhub's draft section

    def section(self, name: str) -> DocumentSection | None:
        """The first section called `name` (compared as `section_name` does)."""
        wanted = section_name(name)
        return next((s for s in self.sections if s.name == wanted), None)

    def filled(self, name: str) -> bool:
        """Whether the section called `name` has text (or its subsections do), outside
        pmhub's draft section: a draft is pmhub's proposal, not the owner's writing."""
        wanted = section_name(name)
        for index, section in enumerate(self.sections):
            if section.name != wanted or section.draft:
                continue
            if section.filled:
                return True
            for child in self.sections[index + 1 :]:
                if child.level <= section.level:
                    break
                if child.filled:
                    return True
        return False


class DraftOutcome(StrEnum):
    WRITTEN = "written"  # the draft section now holds the new content
    UNCHANGED = "unchanged"  # it held that content already (e.g. a retried job)
    EDITED = "edited"  # a person changed the section: nothing written
    REMOVED = "removed"  # a person removed the section: nothing written


@dataclass(frozen=True, slots=True)
class DraftUpdate:
    outcome: DraftOutcome
    ref: DocumentRef  # with the version after the write


class Documents(Protocol):
    """A place post-mortem documents live: Google Docs in a shared drive, a Git repository."""

    async def create(self, request: DocumentRequest) -> DocumentRef:
        """Create the document; if one for `request.key` exists already, return that one
        (whatever people did to it since)."""
        ...

    async def read(self, ref: DocumentRef) -> DocumentSnapshot:
        """The document as it is now. `hub.errors.Permanent` if it was deleted."""
        ...

    async def update_draft(self, ref: DocumentRef, content: str) -> DraftUpdate:
        """Replace pmhub's draft section with `content` (same format as at creation),
        only while it still holds what pmhub last wrote there."""
        ...
