"""Google Docs as `hub.ports.Documents`: post-mortems as Google Docs in a shared-drive folder.

Creation: Drive `files.create` uploads the rendered template (Markdown or HTML) and
converts it to a Google Doc in the configured folder, with `appProperties`
`pmhub_key=<digest of the effect key>`. Drive has no idempotency key and only accepts
file ids it generated, so before creating, the connector looks for that marker
(`files.list`, `appProperties has {key='pmhub_key' and value='…'}`): a retry after a
lost answer finds the first document. Two ways remain to make a second one: httplib2
re-sends a request once when the connection drops before the answer's status line
(it takes that for a stale keep-alive connection; googleapiclient gives no way to turn
it off), and Drive's search can lag a write by seconds. So after creating, the
connector lists the marker again and keeps the oldest document, trashing the others
that only pmhub ever touched: what people see is one document.

pmhub's own facts live on the file, private to pmhub's OAuth client: `pmhub_draft`,
the digest of its draft section as written, and `pmhub_others=1` once it has seen
anyone else change the document (Drive's `lastModifyingUser` only names the last one,
and pmhub's own later write would hide an earlier person's).

The draft section is rewritten with Docs `batchUpdate` under `requiredRevisionId` (the
revision just read): if anyone types in between, Docs refuses the whole write (400), the
connector sees the revision moved, and the retried job reads again and leaves it be.
"""

from __future__ import annotations

import hashlib
import html
from datetime import datetime
from typing import Any

from connectors.google_docs import document
from connectors.google_docs.client import DriveDocsClient, JsonDict
from connectors.google_docs.config import GoogleDocsConfig
from hub.errors import Permanent, Transient
from hub.ports import (
    DocumentRef,
    DocumentRequest,
    DocumentSnapshot,
    DraftOutcome,
    DraftUpdate,
)

KEY_PROPERTY = "pmhub_key"
DRAFT_PROPERTY = "pmhub_draft"
OTHERS_PROPERTY = "pmhub_others"


def key_marker(key: str) -> str:
    """The marker value for an effect key (a digest: appProperties are short, and quoted)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:40]


def upload_content(request: DocumentRequest, heading: str) -> str:
    """The template's content with pmhub's draft section appended, in the same format."""
    draft = (request.draft or "").strip("\n")
    if request.content_format == "html":
        return f"{request.content}\n<h2>{html.escape(heading)}</h2>\n{draft}\n"
    return f"{request.content.rstrip()}\n\n## {heading}\n\n{draft}\n"


def _time(value: object) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _properties(file: JsonDict) -> dict[str, Any]:
    found = file.get("appProperties")
    return found if isinstance(found, dict) else {}


def _others_edited(file: JsonDict) -> bool:
    last = file.get("lastModifyingUser")
    by_someone_else = isinstance(last, dict) and last.get("me") is False
    return by_someone_else or _properties(file).get(OTHERS_PROPERTY) == "1"


class GoogleDocsDocuments:
    """Implements `hub.ports.Documents` in one Drive folder."""

    def __init__(self, client: DriveDocsClient, config: GoogleDocsConfig) -> None:
        self._client = client
        self._config = config

    @classmethod
    def from_config(cls, config: GoogleDocsConfig) -> GoogleDocsDocuments:
        return cls(DriveDocsClient(config), config)

    async def close(self) -> None:
        await self._client.close()

    async def create(self, request: DocumentRequest) -> DocumentRef:
        marker = key_marker(request.key)
        found = await self._client.find_by_property(KEY_PROPERTY, marker)
        if not found:
            content = upload_content(request, self._config.draft_heading)
            made = await self._client.create_document(
                name=f"Post-mortem: {request.title}",
                folder_id=self._config.folder_id,
                properties={KEY_PROPERTY: marker},
                content=content.encode("utf-8"),
                kind=request.content_format,
            )
            found = await self._client.find_by_property(KEY_PROPERTY, marker) or [made]
        file = await self._keep_one(found)
        file_id = str(file["id"])
        if DRAFT_PROPERTY not in _properties(file):
            # Digest of the draft as Drive's conversion wrote it (only known by reading).
            found_paragraphs = document.paragraphs(await self._client.get_document(file_id))
            text = document.draft_text(found_paragraphs, self._config.draft_heading) or ""
            file = await self._client.set_properties(
                file_id, {DRAFT_PROPERTY: document.digest(text)}
            )
        return self._ref(file)

    async def _keep_one(self, found: list[JsonDict]) -> JsonDict:
        """The oldest document with the marker; pmhub's untouched duplicates trashed."""
        ordered = sorted(found, key=lambda f: (str(f.get("createdTime") or ""), str(f["id"])))
        for duplicate in ordered[1:]:
            if not _others_edited(duplicate):
                await self._client.trash(str(duplicate["id"]))
        return ordered[0]

    def _ref(self, file: JsonDict) -> DocumentRef:
        url = file.get("webViewLink") or f"https://docs.google.com/document/d/{file['id']}/edit"
        return DocumentRef(id=str(file["id"]), url=str(url), version=str(file.get("version") or ""))

    async def _file(self, file_id: str) -> JsonDict:
        file = await self._client.get_file(file_id)
        if file.get("trashed"):
            raise Permanent(f"Google Docs: document {file_id} is in the trash")
        return file

    async def read(self, ref: DocumentRef) -> DocumentSnapshot:
        file = await self._file(ref.id)
        doc = await self._client.get_document(ref.id)
        found = document.paragraphs(doc)
        heading = self._config.draft_heading
        text = document.draft_text(found, heading)
        stored = _properties(file).get(DRAFT_PROPERTY)
        last: dict[str, Any] = file.get("lastModifyingUser") or {}
        return DocumentSnapshot(
            ref=self._ref(file),
            title=str(doc.get("title") or file.get("name") or ""),
            sections=document.sections(found, heading),
            edited_by_others=_others_edited(file),
            modified_at=_time(file.get("modifiedTime")),
            last_modified_by=last.get("emailAddress") or last.get("displayName"),
            draft_edited=text is None or document.digest(text) != stored,
        )

    async def update_draft(self, ref: DocumentRef, content: str) -> DraftUpdate:
        heading = self._config.draft_heading
        file = await self._file(ref.id)
        doc = await self._client.get_document(ref.id)
        found = document.paragraphs(doc)
        text = document.draft_text(found, heading)
        if text is None:
            return DraftUpdate(DraftOutcome.REMOVED, self._ref(file))
        wanted = document.draft_plain(content)
        stored = _properties(file).get(DRAFT_PROPERTY)
        facts = {DRAFT_PROPERTY: document.digest(wanted)}
        if _others_edited(file):
            facts[OTHERS_PROPERTY] = "1"  # remembered before pmhub's write hides it
        if document.digest(text) != stored:
            if text == wanted:
                # pmhub's own write landed but its digest was not recorded (lost answer).
                return DraftUpdate(DraftOutcome.UNCHANGED, self._ref(await self._set(ref, facts)))
            return DraftUpdate(DraftOutcome.EDITED, self._ref(file))
        if text == wanted:
            return DraftUpdate(DraftOutcome.UNCHANGED, self._ref(file))
        revision = str(doc.get("revisionId") or "")
        requests = document.draft_requests(found, document.body_end(doc), heading, content)
        try:
            await self._client.batch_update(ref.id, requests, required_revision=revision)
        except Permanent:
            now = await self._client.get_document(ref.id)
            if str(now.get("revisionId") or "") != revision:
                raise Transient("Google Docs: edited while pmhub wrote its draft") from None
            raise
        return DraftUpdate(DraftOutcome.WRITTEN, self._ref(await self._set(ref, facts)))

    async def _set(self, ref: DocumentRef, facts: dict[str, str]) -> JsonDict:
        return await self._client.set_properties(ref.id, facts)
