"""A post-mortem as a pull request: once, found again after lost answers, read back, drafts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from connectors.github import GitHubDocuments
from connectors.github.fake import FakeGitHub
from hub.errors import AuthFailed, Permanent, RateLimited, Transient
from hub.ports import DocumentRef, DraftOutcome
from tests.connectors.github.conftest import DocumentsFactory, request

PATH = "analyses/2026-11-24-inc-45-search-results-delayed.md"
PUT = "/repos/{owner}/{repo}/contents/{path}"


def _branch(ref: DocumentRef) -> str:
    return ref.id.split(":", 1)[0]


async def test_creates_a_branch_a_file_and_a_pull_request(
    documents: GitHubDocuments, fake: FakeGitHub
) -> None:
    ref = await documents.create(request())

    branch = _branch(ref)
    assert branch.startswith("pmhub/postmortem-2026-11-24-inc-45-search-results-delayed-")
    assert ref.id == f"{branch}:{PATH}"
    [pull] = fake.pulls
    assert ref.url == pull["html_url"] == "https://github.com/PostHog/incidents-analysis/pull/1"
    assert pull["title"] == "Post-mortem: INC-45 Search results delayed"
    assert pull["base"]["ref"] == "main"
    assert pull["head"]["ref"] == branch
    assert "Search results delayed, 2 hours." in pull["body"]
    text = fake.file(branch, PATH)
    assert text is not None
    assert text.startswith("# Post-mortem: INC-45 Search results delayed\n")
    assert "## pmhub draft\n<!-- pmhub draft sha256:" in text
    assert text.endswith("- [ ] Alert on indexing lag\n")
    assert fake.file("main", PATH) is None  # proposed, not pushed to main
    [commit] = fake.history(branch, PATH)
    assert f"Pmhub-Effect: {request().key}" in commit.message
    assert ref.version == fake.commits[fake.branches[branch]].tree[PATH]


async def test_a_second_create_finds_the_first(
    documents: GitHubDocuments, fake: FakeGitHub
) -> None:
    first = await documents.create(request())
    again = await documents.create(request())
    assert again == first
    assert len(fake.pulls) == 1
    assert fake.calls[("POST", "/repos/{owner}/{repo}/pulls")] == 1
    assert fake.calls[("PUT", PUT)] == 1


async def test_another_key_is_another_pull_request(
    documents: GitHubDocuments, fake: FakeGitHub
) -> None:
    first = await documents.create(request())
    second = await documents.create(request("pm:incidentio:OTHER:document"))
    assert first.url != second.url
    assert len(fake.pulls) == 2


@pytest.mark.parametrize(
    ("method", "route"),
    [
        ("POST", "/repos/{owner}/{repo}/git/refs"),
        ("PUT", PUT),
        ("POST", "/repos/{owner}/{repo}/pulls"),
    ],
    ids=["branch", "file", "pull"],
)
async def test_commit_then_drop_at_any_step_still_makes_one_of_each(
    documents: GitHubDocuments, fake: FakeGitHub, method: str, route: str
) -> None:
    fake.drop_after_commit(method=method, route=route)
    with pytest.raises(Transient):
        await documents.create(request())
    ref = await documents.create(request())

    assert len(fake.pulls) == 1
    assert ref.url == fake.pulls[0]["html_url"]
    assert len(fake.history(_branch(ref), PATH)) == 1
    assert [b for b in fake.branches if b != "main"] == [_branch(ref)]


async def test_read_back_gives_sections_and_who_edited(
    documents: GitHubDocuments, fake: FakeGitHub
) -> None:
    ref = await documents.create(request())
    snapshot = await documents.read(ref)

    assert snapshot.title == "Post-mortem: INC-45 Search results delayed"
    assert not snapshot.edited_by_others
    assert not snapshot.draft_edited
    assert snapshot.filled("summary")
    assert not snapshot.filled("DERP")
    assert snapshot.filled("Timeline")
    timeline = snapshot.section("timeline")
    assert timeline is not None
    assert "09:05 Alice joined" in timeline.text
    draft = snapshot.section("pmhub draft")
    assert draft is not None
    assert draft.draft
    assert "pmhub draft sha256" not in draft.text  # the marker is not text
    assert snapshot.last_modified_by == "pmhub-bot"

    branch = _branch(ref)
    text = fake.file(branch, PATH) or ""
    fake.commit_as("alice", branch, PATH, text.replace("## DERP\n", "## DERP\n\nDetect: slow.\n"))
    edited = await documents.read(ref)
    assert edited.edited_by_others
    assert edited.filled("derp")
    assert edited.last_modified_by == "alice"
    assert not edited.draft_edited


async def test_read_after_merge_reads_the_base_branch(
    documents: GitHubDocuments, fake: FakeGitHub
) -> None:
    ref = await documents.create(request())
    branch = _branch(ref)
    fake.branches["main"] = fake.branches.pop(branch)  # merged, branch deleted
    snapshot = await documents.read(ref)
    assert snapshot.filled("summary")


async def test_read_a_deleted_document_is_permanent(
    documents: GitHubDocuments, fake: FakeGitHub
) -> None:
    ref = await documents.create(request())
    del fake.branches[_branch(ref)]
    with pytest.raises(Permanent, match="neither"):
        await documents.read(ref)


async def test_the_draft_is_rewritten_while_nobody_touched_it(
    documents: GitHubDocuments, fake: FakeGitHub
) -> None:
    ref = await documents.create(request())
    result = await documents.update_draft(ref, "Candidate follow-ups:\n\n- [ ] Page on lag > 5m")
    assert result.outcome is DraftOutcome.WRITTEN
    text = fake.file(_branch(ref), PATH) or ""
    assert "Page on lag > 5m" in text
    assert "Alert on indexing lag" not in text
    assert text.startswith("# Post-mortem: INC-45")  # the rest untouched
    assert result.ref.version != ref.version

    again = await documents.update_draft(ref, "Candidate follow-ups:\n\n- [ ] Page on lag > 5m")
    assert again.outcome is DraftOutcome.UNCHANGED
    snapshot = await documents.read(ref)
    assert not snapshot.edited_by_others  # pmhub's own commits do not count
    assert len(fake.history(_branch(ref), PATH)) == 2


async def test_a_persons_edit_in_the_draft_is_never_overwritten(
    documents: GitHubDocuments, fake: FakeGitHub
) -> None:
    ref = await documents.create(request())
    branch = _branch(ref)
    text = fake.file(branch, PATH) or ""
    fake.commit_as("alice", branch, PATH, text + "- [ ] Alice's own item\n")

    result = await documents.update_draft(ref, "something new")
    assert result.outcome is DraftOutcome.EDITED
    assert "Alice's own item" in (fake.file(branch, PATH) or "")
    assert (await documents.read(ref)).draft_edited


async def test_a_removed_draft_stays_removed(documents: GitHubDocuments, fake: FakeGitHub) -> None:
    ref = await documents.create(request())
    branch = _branch(ref)
    text = fake.file(branch, PATH) or ""
    fake.commit_as("alice", branch, PATH, text.split("## pmhub draft")[0])
    result = await documents.update_draft(ref, "something new")
    assert result.outcome is DraftOutcome.REMOVED
    assert "something new" not in (fake.file(branch, PATH) or "")


async def test_a_concurrent_edit_makes_the_draft_write_retry(
    documents: GitHubDocuments, fake: FakeGitHub
) -> None:
    """Alice saves between pmhub's read and its write: GitHub's 409, a retry, no overwrite."""
    ref = await documents.create(request())
    branch = _branch(ref)
    text = fake.file(branch, PATH) or ""
    fake.edit_before_next_write("alice", branch, PATH, text + "Alice was here.\n")

    with pytest.raises(Transient, match="changed while"):
        await documents.update_draft(ref, "something new")
    retried = await documents.update_draft(ref, "something new")

    assert retried.outcome is DraftOutcome.EDITED
    assert (fake.file(branch, PATH) or "").endswith("Alice was here.\n")


async def test_with_a_github_app(
    make_documents: DocumentsFactory, fake: FakeGitHub, app_key: Path
) -> None:
    documents = make_documents(
        token=None, app_id=fake.app_id, private_key_file=app_key, installation_id=42
    )
    ref = await documents.create(request())
    assert fake.calls[("POST", "/app/installations/{installation_id}/access_tokens")] >= 1
    assert fake.pulls[0]["user"]["login"] == "pmhub-bot[bot]"
    assert (await documents.read(ref)).filled("summary")


async def test_a_wrong_app_key_is_refused_with_the_settings(
    make_documents: DocumentsFactory, fake: FakeGitHub, app_key: Path, tmp_path: Path
) -> None:
    # Refused where `pmhub check` sees it, not when the daemon builds the connector.
    other = tmp_path / "other.pem"
    other.write_text("not a key")
    with pytest.raises(ValidationError, match=r"other\.pem"):
        make_documents(token=None, app_id=fake.app_id, private_key_file=other, installation_id=42)


async def test_a_bad_token_is_auth_failed(make_documents: DocumentsFactory) -> None:
    with pytest.raises(AuthFailed, match="401"):
        await make_documents(token="ghp_wrong").create(request())


async def test_rate_limits_carry_the_wait(documents: GitHubDocuments, fake: FakeGitHub) -> None:
    fake.rate_limit(403, retry_after=30)
    with pytest.raises(RateLimited) as secondary:
        await documents.create(request())
    assert secondary.value.retry_after == 30
    fake.rate_limit(403)
    with pytest.raises(RateLimited) as primary:
        await documents.create(request())
    assert primary.value.retry_after is not None
    assert 0 < primary.value.retry_after <= 60


async def test_server_errors_are_transient(documents: GitHubDocuments, fake: FakeGitHub) -> None:
    fake.fail(502)
    with pytest.raises(Transient, match="502"):
        await documents.create(request())


async def test_a_missing_base_branch_is_permanent(make_documents: DocumentsFactory) -> None:
    with pytest.raises(Permanent, match="base branch 'trunk'"):
        await make_documents(base_branch="trunk").create(request())


async def test_nobody_listening_is_transient(make_documents: DocumentsFactory) -> None:
    with pytest.raises(Transient):
        await make_documents(base_url="http://127.0.0.1:9").create(request())
