"""The configured document tools, and a document read back for the review guard.

A policy names its tool (`document.tool`: google_docs, github) and optionally where
(`document.folder`, `document.repository`); the wiring (hub/app.py) hands this library a
factory per configured tool, which makes (and keeps) one connector per location. A tool
the policy names but the configuration lacks is `Permanent`: the effect is recorded as
refused, with that reason, rather than retried.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from hub.errors import ConnectorError, Permanent
from hub.model.document import DocumentRecord, DocumentReview
from hub.ports import DocumentRef, Documents, DocumentSnapshot

log = structlog.get_logger("pmhub.documents")
DocumentsFactory = Callable[[str | None], Documents]


@dataclass
class DocumentLibrary:
    """One `Documents` per (tool, location), made on first use by the tool's factory."""

    factories: Mapping[str, DocumentsFactory]
    _made: dict[tuple[str, str | None], Documents] = field(default_factory=dict)

    def get(self, tool: str, location: str | None) -> Documents:
        made = self._made.get((tool, location))
        if made is not None:
            return made
        factory = self.factories.get(tool)
        if factory is None:
            configured = ", ".join(sorted(self.factories)) or "none"
            raise Permanent(
                f"the policy writes documents with {tool!r}, but connectors.{tool} is not "
                f"configured (configured: {configured})"
            )
        made = self._made[(tool, location)] = factory(location)
        return made

    def of(self, record: DocumentRecord) -> Documents:
        return self.get(record.tool, record.location)

    async def read(self, record: DocumentRecord) -> DocumentReview:
        """The document as it is now. Raises `hub.errors` types (Permanent: deleted)."""
        snapshot = await self.of(record).read(DocumentRef(id=record.id, url=record.url))
        return review_of(snapshot)

    async def review(self, record: DocumentRecord) -> DocumentReview:
        """The document as it is now, for the review guard; a failed read says why."""
        try:
            return await self.read(record)
        except ConnectorError as exc:
            log.warning("document.read_failed", document=record.url, error=exc.message)
            return DocumentReview(error=exc.message)


def review_of(snapshot: DocumentSnapshot) -> DocumentReview:
    """Each section's words outside pmhub's draft, its subsections' included (first of a
    name wins: a later "Summary" inside another section is not the summary)."""
    headings: dict[str, str] = {}
    sections: dict[str, str] = {}
    found = snapshot.sections
    for index, section in enumerate(found):
        if section.draft or section.name in headings:
            continue
        parts = [section.text] if section.text.strip() else []
        for child in found[index + 1 :]:
            if child.level <= section.level or child.draft:
                break
            if child.text.strip():
                parts.append(f"{child.heading}\n{child.text}")
        headings[section.name] = section.heading
        sections[section.name] = "\n\n".join(parts)
    return DocumentReview(headings=headings, sections=sections)
