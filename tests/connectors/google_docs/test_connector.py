"""A post-mortem as a Google Doc: created once, read back, its draft kept pmhub's only."""

from __future__ import annotations

import contextlib

import pytest
from pydantic import ValidationError

from connectors.google_docs import GoogleDocsConfig, GoogleDocsDocuments, key_marker
from connectors.google_docs.fake import FakeGoogleDocs
from hub.errors import AuthFailed, Permanent, RateLimited, Transient
from hub.ports import DraftOutcome
from tests.connectors.google_docs.conftest import DRIVE, FOLDER, DocumentsFactory, request

UPLOAD = "/upload/drive/v3/files"


async def test_creates_a_google_doc_in_the_shared_folder(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    ref = await documents.create(request())

    file = fake.files[ref.id]
    assert file["name"] == "Post-mortem: PD-1042 Checkout API 5xx"
    assert file["mimeType"] == "application/vnd.google-apps.document"
    assert file["parents"] == [FOLDER]
    assert file["driveId"] == DRIVE
    assert file["appProperties"]["pmhub_key"] == key_marker(request().key)
    assert "pmhub_draft" in file["appProperties"]
    assert ref.url == file["webViewLink"]
    media_type, media = fake.media[ref.id]
    assert media_type == "text/markdown"
    assert media.decode().endswith(
        "## pmhub draft\n\nCandidate follow-ups:\n- [ ] Canary config pushes\n"
    )
    text = fake.document_text(ref.id)
    assert "A config push broke checkout" in text
    [exchange] = [e for e in fake.exchanges if e.path == UPLOAD]
    assert ("supportsAllDrives", "true") in exchange.query


async def test_html_content_is_uploaded_as_html(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    html = (
        "<h1>Post-mortem</h1><h2>Summary</h2><p>It broke.</p>"
        "<h2>Timeline</h2><ul><li>09:00 paged</li></ul>"
    )
    ref = await documents.create(request(content=html, content_format="html", draft="<p>Draft</p>"))
    assert fake.media[ref.id][0] == "text/html"
    snapshot = await documents.read(ref)
    assert snapshot.filled("summary")
    assert snapshot.filled("timeline")
    draft = snapshot.section("pmhub draft")
    assert draft is not None
    assert draft.text == "Draft"


async def test_a_second_create_finds_the_first(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    first = await documents.create(request())
    again = await documents.create(request())
    assert again.id == first.id
    assert fake.calls[("POST", UPLOAD)] == 1
    other = await documents.create(request("pm:pagerduty:OTHER:document"))
    assert other.id != first.id


async def test_commit_then_drop_still_makes_one_document(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    fake.drop_after_commit(route=UPLOAD)
    # httplib2 re-sends the upload once on its own when the connection drops before
    # the status line: the first attempt itself may make a second document.
    with contextlib.suppress(Transient):
        await documents.create(request())
    ref = await documents.create(request())

    docs = [f for f in fake.files.values() if f["mimeType"].endswith("document")]
    live = [d["id"] for d in docs if not d["trashed"]]
    assert live == [ref.id]
    assert ref.id == min(d["id"] for d in docs)  # the first one made is kept
    assert "pmhub_draft" in fake.files[ref.id]["appProperties"]


async def test_read_back_gives_sections(documents: GoogleDocsDocuments) -> None:
    ref = await documents.create(request())
    snapshot = await documents.read(ref)

    assert snapshot.title == "Post-mortem: PD-1042 Checkout API 5xx"
    assert snapshot.filled("Summary")
    assert not snapshot.filled("impact")
    assert not snapshot.filled("root cause")
    timeline = snapshot.section("timeline")
    assert timeline is not None
    assert timeline.text.splitlines() == [
        "08:55 Triggered by Datadog",
        "09:02 Alice acknowledged",
    ]
    assert not snapshot.edited_by_others
    assert not snapshot.draft_edited
    assert snapshot.last_modified_by == "pmhub@example.com"


async def test_a_persons_edit_shows(documents: GoogleDocsDocuments, fake: FakeGoogleDocs) -> None:
    ref = await documents.create(request())
    fake.edit_as("alice@example.com", ref.id, "Impact", "Checkout failed for 12% of users.")
    snapshot = await documents.read(ref)
    assert snapshot.edited_by_others
    assert snapshot.filled("impact")
    assert snapshot.last_modified_by == "alice@example.com"
    assert not snapshot.draft_edited
    # ...and pmhub's later draft write does not hide that a person edited it.
    result = await documents.update_draft(ref, "Candidate follow-ups:\n- [ ] New item")
    assert result.outcome is DraftOutcome.WRITTEN
    assert (await documents.read(ref)).edited_by_others


async def test_the_draft_is_rewritten_while_untouched(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    ref = await documents.create(request())
    content = (
        "Follow-ups:\n- [ ] Page on [lag](https://grafana.example.com/d/lag)\n## Notes\nPlain."
    )
    result = await documents.update_draft(ref, content)
    assert result.outcome is DraftOutcome.WRITTEN

    text = fake.document_text(ref.id)
    assert "Canary config pushes" not in text
    assert "Page on lag" in text
    assert text.index("A config push broke") < text.index("pmhub draft") < text.index("Page on lag")
    doc = fake.docs[ref.id].body.render(ref.id, "t", "r")
    paragraphs = [e["paragraph"] for e in doc["body"]["content"] if "paragraph" in e]
    by_text = {
        "".join(r["textRun"]["content"] for r in p["elements"]).strip(): p for p in paragraphs
    }
    assert "bullet" in by_text["Page on lag"]
    assert by_text["Notes"]["paragraphStyle"]["namedStyleType"] == "HEADING_2"
    assert by_text["Plain."]["paragraphStyle"]["namedStyleType"] == "NORMAL_TEXT"
    assert "bullet" not in by_text["Plain."]
    links = [
        r["textRun"]["textStyle"]["link"]["url"]
        for r in by_text["Page on lag"]["elements"]
        if "link" in r["textRun"]["textStyle"]
    ]
    assert links == ["https://grafana.example.com/d/lag"]

    again = await documents.update_draft(ref, content)
    assert again.outcome is DraftOutcome.UNCHANGED
    snapshot = await documents.read(ref)
    assert not snapshot.draft_edited
    assert not snapshot.edited_by_others


async def test_a_persons_words_in_the_draft_are_never_overwritten(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    ref = await documents.create(request())
    fake.edit_as("alice@example.com", ref.id, "Canary config pushes", "Alice: also alert on 5xx")
    before = fake.document_text(ref.id)
    result = await documents.update_draft(ref, "replacement")
    assert result.outcome is DraftOutcome.EDITED
    assert fake.document_text(ref.id) == before
    assert (await documents.read(ref)).draft_edited


async def test_a_removed_draft_heading_stays_removed(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    ref = await documents.create(request())
    body = fake.docs[ref.id].body
    heading = next(p for p in body.paragraphs() if p[2] == "pmhub draft\n")
    body.delete(heading[0], body.end - 1)
    fake.touch(ref.id, "alice@example.com")
    result = await documents.update_draft(ref, "replacement")
    assert result.outcome is DraftOutcome.REMOVED
    assert "replacement" not in fake.document_text(ref.id)


async def test_typing_during_pmhubs_write_makes_it_retry_and_then_back_off(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    ref = await documents.create(request())
    fake.edit_before_next_write("alice@example.com", ref.id, "Canary config pushes", "Alice!")
    with pytest.raises(Transient, match="edited while"):
        await documents.update_draft(ref, "replacement")
    retried = await documents.update_draft(ref, "replacement")
    assert retried.outcome is DraftOutcome.EDITED
    assert "Alice!" in fake.document_text(ref.id)


async def test_a_lost_answer_after_the_draft_write_is_recognised(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    ref = await documents.create(request())
    fake.drop_after_commit(route="/v1/documents/{documentId}")
    with pytest.raises(Transient):
        await documents.update_draft(ref, "replacement")
    retried = await documents.update_draft(ref, "replacement")
    assert retried.outcome is DraftOutcome.UNCHANGED
    assert (await documents.update_draft(ref, "newer")).outcome is DraftOutcome.WRITTEN


async def test_a_trashed_or_missing_document(
    documents: GoogleDocsDocuments, fake: FakeGoogleDocs
) -> None:
    ref = await documents.create(request())
    fake.files[ref.id]["trashed"] = True
    with pytest.raises(Permanent, match="trash"):
        await documents.read(ref)
    del fake.files[ref.id]
    with pytest.raises(Permanent, match="404"):
        await documents.read(ref)


@pytest.mark.parametrize(
    ("status", "reason", "error"),
    [
        (403, "userRateLimitExceeded", RateLimited),
        (429, "rateLimitExceeded", RateLimited),
        (403, "insufficientFilePermissions", AuthFailed),
        (401, "authError", AuthFailed),
        (500, "backendError", Transient),
        (400, "badRequest", Permanent),
    ],
)
async def test_errors_are_mapped(
    documents: GoogleDocsDocuments,
    fake: FakeGoogleDocs,
    status: int,
    reason: str,
    error: type[Exception],
) -> None:
    fake.fail(status, reason=reason)
    with pytest.raises(error, match=reason):
        await documents.create(request())


async def test_retry_after_is_carried(documents: GoogleDocsDocuments, fake: FakeGoogleDocs) -> None:
    fake.rate_limit(429, reason="rateLimitExceeded", retry_after=17)
    with pytest.raises(RateLimited) as caught:
        await documents.create(request())
    assert caught.value.retry_after == 17


async def test_a_folder_outside_any_shared_drive_setting(make_documents: DocumentsFactory) -> None:
    with pytest.raises(Permanent, match="404"):
        await make_documents(folder_id="0ANoSuchFolder").create(request())


def test_configuration() -> None:
    with pytest.raises(ValidationError, match="credentials_file and subject"):
        GoogleDocsConfig(folder_id="f")  # Google itself needs delegated credentials
    with pytest.raises(ValidationError, match="go together"):
        GoogleDocsConfig(
            folder_id="f",
            root_url="https://127.0.0.1:1/",
            docs_root_url="https://127.0.0.1:1/",
            subject="pmhub@example.com",
        )
    local = GoogleDocsConfig(
        folder_id="f", root_url="https://127.0.0.1:1", docs_root_url="https://127.0.0.1:1"
    )
    assert local.root_url.endswith("/")
    assert not local.talks_to_google
