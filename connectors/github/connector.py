"""GitHub as `hub.ports.Documents`: a post-mortem proposed as a Markdown file in a pull request.

PostHog's flow (seed 001): the analysis goes into a PR against an incidents-analysis
repository. Each post-mortem gets a branch named from its slug and a digest of the
effect key (`branch_for`), one file under the configured folder, and a pull request
from that branch to the base branch.

Exactly once without a vendor idempotency key: every step first looks for what an
earlier attempt made (the branch, the file on it, the pull request by head branch), and
a step refused because its object already exists (422 "Reference already exists",
422 "sha wasn't supplied", 422 "A pull request already exists") is read back instead.
So a retry after any lost answer converges on one branch, one file, one PR.

Edits: pmhub's commits carry a `Pmhub-Effect: <key>` trailer; a commit on the file
without it is a person's. The draft section is rewritten with the blob sha of the
file as read (GitHub answers 409 if it changed meanwhile, and the retried job reads
again), and only while its digest comment still matches its text.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from connectors.github import document
from connectors.github.client import GitHubClient, NotFound
from connectors.github.config import GitHubConfig
from hub.errors import Conflict, Permanent, Transient
from hub.ports import (
    DocumentRef,
    DocumentRequest,
    DocumentSnapshot,
    DraftOutcome,
    DraftUpdate,
)


def _parse_ref(ref: DocumentRef) -> tuple[str, str]:
    branch, sep, path = ref.id.partition(":")
    if not sep or not branch or not path:
        raise Permanent(f"GitHub: {ref.id!r} is not a document id of this connector")
    return branch, path


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


class GitHubDocuments:
    """Implements `hub.ports.Documents` on one repository."""

    def __init__(self, client: GitHubClient, config: GitHubConfig) -> None:
        self._client = client
        self._config = config

    @classmethod
    def from_config(cls, config: GitHubConfig) -> GitHubDocuments:
        return cls(GitHubClient(config), config)

    async def create(self, request: DocumentRequest) -> DocumentRef:
        config = self._config
        branch = document.branch_for(config.branch_prefix, request.slug, request.key)
        path = document.file_path(config.path, request.slug)
        await self._ensure_branch(branch)
        blob = await self._ensure_file(request, branch, path)
        pull = await self._ensure_pull(request, branch, path)
        return DocumentRef(id=f"{branch}:{path}", url=str(pull["html_url"]), version=blob)

    async def _ensure_branch(self, branch: str) -> None:
        if await self._client.branch_head(branch) is not None:
            return
        base = await self._client.branch_head(self._config.base_branch)
        if base is None:
            raise Permanent(f"GitHub: base branch {self._config.base_branch!r} does not exist")
        try:
            await self._client.create_branch(branch, base)
        except (Permanent, Conflict):
            # Made by an attempt whose answer was lost ("Reference already exists")?
            if await self._client.branch_head(branch) is None:
                raise

    async def _ensure_file(self, request: DocumentRequest, branch: str, path: str) -> str:
        found = await self._client.get_file(path, branch)
        if found is not None:
            return found[0]
        text = document.initial_text(request, self._config.draft_heading)
        message = document.commit_message(f"Post-mortem: {request.title}", request.key)
        try:
            return await self._client.put_file(
                path, branch=branch, content=text.encode("utf-8"), message=message
            )
        except (Permanent, Conflict):
            # Committed by an attempt whose answer was lost ("sha" wasn't supplied)?
            found = await self._client.get_file(path, branch)
            if found is None:
                raise
            return found[0]

    async def _ensure_pull(
        self, request: DocumentRequest, branch: str, path: str
    ) -> dict[str, Any]:
        pull = await self._client.find_pull(branch)
        if pull is not None:
            return pull
        body = "\n\n".join(
            part
            for part in (
                request.summary,
                f"The post-mortem is `{path}`. Review it here; merge when it is reviewed.",
                f"<!-- {document.TRAILER}: {request.key} -->",
            )
            if part
        )
        try:
            return await self._client.create_pull(
                title=f"Post-mortem: {request.title}",
                branch=branch,
                base=self._config.base_branch,
                body=body,
                draft=self._config.draft_pull_request,
            )
        except (Permanent, Conflict):
            # Opened by an attempt whose answer was lost ("A pull request already exists")?
            pull = await self._client.find_pull(branch)
            if pull is None:
                raise
            return pull

    async def _file(self, branch: str, path: str) -> tuple[str, str, bytes]:
        """(where it was read, blob sha, content): the branch, or the base once merged."""
        for ref in (branch, self._config.base_branch):
            found = await self._client.get_file(path, ref)
            if found is not None:
                return ref, *found
        raise NotFound(f"GitHub: {path} is on neither {branch} nor {self._config.base_branch}")

    async def read(self, ref: DocumentRef) -> DocumentSnapshot:
        branch, path = _parse_ref(ref)
        where, blob, raw = await self._file(branch, path)
        text = raw.decode("utf-8", "replace")
        heading = self._config.draft_heading
        commits = await self._client.commits_touching(path, where)
        key = _key_of(commits)
        by_people = [c for c in commits if not key or not document.made_by_pmhub(_message(c), key)]
        newest = commits[0] if commits else {}
        return DocumentSnapshot(
            ref=DocumentRef(id=ref.id, url=ref.url, version=blob),
            title=document.title_of(text, fallback=path),
            sections=document.document_sections(text, heading),
            edited_by_others=bool(by_people),
            modified_at=_time(_get(newest, "commit", "committer", "date")),
            last_modified_by=_author(newest),
            draft_edited=document.draft_edited(text, heading),
        )

    async def update_draft(self, ref: DocumentRef, content: str) -> DraftUpdate:
        branch, path = _parse_ref(ref)
        found = await self._client.get_file(path, branch)
        if found is None:
            raise NotFound(f"GitHub: {path} is no longer on {branch} (merged or deleted)")
        blob, raw = found
        outcome, text = document.replace_draft(
            raw.decode("utf-8", "replace"), self._config.draft_heading, content
        )
        if text is None:
            return DraftUpdate(outcome, DocumentRef(id=ref.id, url=ref.url, version=blob))
        commits = await self._client.commits_touching(path, branch)
        message = document.commit_message("Post-mortem: pmhub draft updated", _key_of(commits))
        try:
            new_blob = await self._client.put_file(
                path, branch=branch, content=text.encode("utf-8"), message=message, sha=blob
            )
        except Conflict:
            # Someone committed since we read it: read again on the retry, never overwrite.
            raise Transient(f"GitHub: {path} changed while pmhub wrote its draft") from None
        return DraftUpdate(
            DraftOutcome.WRITTEN, DocumentRef(id=ref.id, url=ref.url, version=new_blob)
        )


def _get(value: Any, *keys: str) -> Any:
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _message(commit: dict[str, Any]) -> str:
    return str(_get(commit, "commit", "message") or "")


def _key_of(commits: list[dict[str, Any]]) -> str:
    """The effect key pmhub stamped on its first commit of the file (the oldest)."""
    for commit in reversed(commits):
        for line in _message(commit).splitlines():
            if line.startswith(f"{document.TRAILER}: "):
                return line.removeprefix(f"{document.TRAILER}: ").strip()
    return ""


def _author(commit: dict[str, Any]) -> str | None:
    login = _get(commit, "author", "login")
    name = _get(commit, "commit", "author", "name")
    value = login or name
    return str(value) if value else None
