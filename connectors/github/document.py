"""The Markdown file of a post-mortem: its branch, its text, its sections, pmhub's draft. Pure.

pmhub's draft section runs from the draft heading (placed last) to the end of the
file. Right under the heading an HTML comment (invisible once rendered) carries a
digest of the section's text as pmhub wrote it; a section whose text no longer
matches was edited by a person, and pmhub leaves it alone.
"""

from __future__ import annotations

import hashlib
import re

from connectors.common.markdown import MarkdownSection, plain_text, split_sections
from hub.ports import DocumentRequest, DocumentSection, DraftOutcome, section_name

TRAILER = "Pmhub-Effect"
_MARKER = re.compile(r"<!-- pmhub draft sha256:([0-9a-f]{16})\b")
_SLUG = re.compile(r"[^a-z0-9]+")


def branch_for(prefix: str, slug: str, key: str) -> str:
    """The branch of a post-mortem: readable, and tied to the effect key by its digest."""
    readable = _SLUG.sub("-", slug.lower()).strip("-")[:60] or "postmortem"
    return f"{prefix}{readable}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def file_path(folder: str, slug: str) -> str:
    name = _SLUG.sub("-", slug.lower()).strip("-")[:100] or "postmortem"
    return f"{folder}/{name}.md" if folder else f"{name}.md"


def commit_message(subject: str, key: str) -> str:
    """A commit message whose trailer tells pmhub's commits from people's."""
    return f"{subject}\n\n{TRAILER}: {key}\n"


def made_by_pmhub(message: str, key: str) -> bool:
    return f"{TRAILER}: {key}" in message


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _draft_block(heading: str, content: str | None) -> list[str]:
    body = (content or "").strip("\n")
    marker = (
        f"<!-- pmhub draft sha256:{_digest(plain_text(body.splitlines()))}: pmhub rewrites "
        "this section until someone edits it; edit anything above it freely -->"
    )
    return [f"## {heading}", marker, "", *([body, ""] if body else [])]


def initial_text(request: DocumentRequest, heading: str) -> str:
    lines = [request.content.rstrip("\n"), "", *_draft_block(heading, request.draft)]
    return "\n".join(lines).rstrip("\n") + "\n"


def _draft_start(sections: list[MarkdownSection], heading: str) -> int | None:
    wanted = section_name(heading)
    found = [i for i, s in enumerate(sections) if s.level and section_name(s.heading) == wanted]
    return found[-1] if found else None


def _draft_state(text: str, heading: str) -> tuple[DraftOutcome, int | None]:
    """(UNCHANGED: pmhub's as written, EDITED or REMOVED; the draft heading's line)."""
    sections = split_sections(text)
    start = _draft_start(sections, heading)
    if start is None:
        return DraftOutcome.REMOVED, None
    lines = text.splitlines()
    first = sections[start].start
    marker = _MARKER.search("\n".join(lines[first + 1 : first + 2]))
    body = plain_text(lines[first + 1 :])
    if marker is None or marker.group(1) != _digest(body):
        return DraftOutcome.EDITED, first
    return DraftOutcome.UNCHANGED, first


def draft_edited(text: str, heading: str) -> bool:
    return _draft_state(text, heading)[0] is not DraftOutcome.UNCHANGED


def replace_draft(text: str, heading: str, content: str) -> tuple[DraftOutcome, str | None]:
    """The file with a new draft section, or why not (and then None)."""
    state, first = _draft_state(text, heading)
    if state is not DraftOutcome.UNCHANGED or first is None:
        return state, None
    lines = text.splitlines()
    if plain_text(lines[first + 1 :]) == plain_text(content.strip("\n").splitlines()):
        return DraftOutcome.UNCHANGED, None
    kept = lines[first : first + 1]  # the heading as it is written now
    block = _draft_block(heading, content)[1:]
    return DraftOutcome.WRITTEN, "\n".join([*lines[:first], *kept, *block]).rstrip("\n") + "\n"


def document_sections(text: str, heading: str) -> tuple[DocumentSection, ...]:
    sections = split_sections(text)
    start = _draft_start(sections, heading)
    return tuple(
        DocumentSection(
            heading=s.heading,
            level=s.level,
            text=plain_text(s.body),
            draft=start is not None and index >= start,
        )
        for index, s in enumerate(sections)
        if s.level
    )


def title_of(text: str, fallback: str) -> str:
    for section in split_sections(text):
        if section.level == 1:
            return section.heading
    return fallback
