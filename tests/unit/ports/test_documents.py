"""The document port's pure helpers: section names, filled sections, Markdown sections."""

from __future__ import annotations

import pytest

from connectors.common.markdown import plain_text, split_sections
from connectors.github import document as github_document
from hub.ports import (
    DocumentRef,
    DocumentRequest,
    DocumentSection,
    DocumentSnapshot,
    DraftOutcome,
    section_name,
)


@pytest.mark.parametrize(
    ("heading", "name"),
    [
        ("Timeline", "timeline"),
        ("## 2. Root Cause:", "root cause"),
        ("  Action   items ", "action items"),
        ("1) Summary", "summary"),
        ("Timeline (UTC)", "timeline (utc)"),
    ],
)
def test_section_names(heading: str, name: str) -> None:
    assert section_name(heading) == name


def _snapshot(*sections: DocumentSection) -> DocumentSnapshot:
    return DocumentSnapshot(
        ref=DocumentRef(id="d", url="u"), title="t", sections=sections, edited_by_others=False
    )


def test_a_section_is_filled_by_its_text_or_its_subsections() -> None:
    snapshot = _snapshot(
        DocumentSection("Summary", 2, "It broke."),
        DocumentSection("Timeline", 2, ""),
        DocumentSection("Before the page", 3, "08:50 config push"),
        DocumentSection("Impact", 2, ""),
        DocumentSection("Root cause", 2, ""),
        DocumentSection("pmhub draft", 2, "", draft=True),
        DocumentSection("Root cause", 3, "pmhub's guess", draft=True),
    )
    assert snapshot.filled("summary")
    assert snapshot.filled("Timeline")
    assert not snapshot.filled("impact")
    assert not snapshot.filled("root cause")  # pmhub's draft is not the owner's words
    assert not snapshot.filled("lessons")
    assert snapshot.section("ROOT CAUSE") == DocumentSection("Root cause", 2, "")


def test_markdown_sections_ignore_headings_in_code() -> None:
    text = "intro\n# Title\n## Timeline\n```\n# not a heading\n```\n- 09:00 paged\n## Impact ##\n"
    sections = split_sections(text)
    assert [(s.level, s.heading) for s in sections] == [
        (0, ""),
        (1, "Title"),
        (2, "Timeline"),
        (2, "Impact"),
    ]
    assert plain_text(sections[2].body) == "```\n# not a heading\n```\n- 09:00 paged"


def test_the_github_draft_survives_only_untouched() -> None:
    text = github_document.initial_text(
        _request(content="# T\n\n## Summary\n\nx\n", draft="- a"), "pmhub draft"
    )
    outcome, rewritten = github_document.replace_draft(text, "pmhub draft", "- b")
    assert outcome is DraftOutcome.WRITTEN
    assert rewritten is not None
    assert rewritten.startswith("# T\n\n## Summary\n\nx\n")
    assert rewritten.endswith("- b\n")
    assert github_document.replace_draft(rewritten, "pmhub draft", "- b") == (
        DraftOutcome.UNCHANGED,
        None,
    )
    edited = rewritten.replace("- b", "- b, and Alice's words")
    assert github_document.replace_draft(edited, "pmhub draft", "- c") == (
        DraftOutcome.EDITED,
        None,
    )
    removed = rewritten.split("## pmhub draft")[0]
    assert github_document.replace_draft(removed, "pmhub draft", "- c") == (
        DraftOutcome.REMOVED,
        None,
    )


def test_branch_names_are_stable_and_valid() -> None:
    one = github_document.branch_for("pmhub/postmortem-", "2026-11-24 PD-1042: Checkout!", "k")
    assert one == github_document.branch_for(
        "pmhub/postmortem-", "2026-11-24 PD-1042: Checkout!", "k"
    )
    assert one.startswith("pmhub/postmortem-2026-11-24-pd-1042-checkout-")
    assert one != github_document.branch_for(
        "pmhub/postmortem-", "2026-11-24 PD-1042: Checkout!", "k2"
    )


def _request(*, content: str, draft: str) -> DocumentRequest:
    return DocumentRequest(key="k", title="T", slug="s", content=content, draft=draft)
