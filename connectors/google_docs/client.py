"""Drive v3 and Docs v1 transport: the shared Google transport (`connectors/common/google.py`).

Drive creates the document (a multipart upload of HTML or Markdown, converted to a
Google Doc by Drive), finds it again by its `appProperties` marker, and keeps pmhub's
own facts on it; Docs reads its structure and writes pmhub's draft section.
Every call passes `supportsAllDrives=true`: without it Drive answers 404 for files in
shared drives.
"""

from __future__ import annotations

import io
from typing import Any

from googleapiclient.http import MediaIoBaseUpload

from connectors.common import google
from connectors.google_docs.config import GoogleDocsConfig
from hub.errors import Transient

JsonDict = dict[str, Any]
DRIVE = "Google Drive"
DOCS = "Google Docs"
GOOGLE_DOC = "application/vnd.google-apps.document"
FILE_FIELDS = (
    "id,name,webViewLink,appProperties,createdTime,modifiedTime,version,trashed,lastModifyingUser"
)
UPLOAD_TYPES = {"markdown": "text/markdown", "html": "text/html"}


def _checked(answer: Any, product: str, what: str) -> JsonDict:
    if not isinstance(answer, dict):
        raise Transient(f"{product} {what}: unexpected answer {type(answer).__name__}")
    return answer


class DriveDocsClient:
    def __init__(self, config: GoogleDocsConfig) -> None:
        credentials = google.delegated_credentials(
            config.credentials_file, config.scopes, config.subject, DRIVE
        )
        common: dict[str, Any] = {
            "credentials": credentials,
            "timeout": config.timeout_seconds,
            "max_concurrency": config.max_concurrency,
            "ca_certs": config.ca_bundle,
        }
        self._drive = google.GoogleApi(
            "drive",
            "v3",
            product=DRIVE,
            root_url=config.root_url,
            service_path="drive/v3/",
            **common,
        )
        self._docs = google.GoogleApi(
            "docs",
            "v1",
            product=DOCS,
            root_url=config.docs_root_url,
            service_path="",
            **common,
        )
        self._drive_id = config.drive_id

    async def close(self) -> None:
        await self._drive.close()
        await self._docs.close()

    async def find_by_property(self, name: str, value: str) -> list[JsonDict]:
        """Files (not trashed) carrying appProperties name=value. Values are ours: hex."""
        query = f"appProperties has {{ key='{name}' and value='{value}' }} and trashed = false"
        scope: JsonDict = (
            {"corpora": "drive", "driveId": self._drive_id}
            if self._drive_id
            else {"corpora": "allDrives"}
        )
        answer = await self._drive.call(
            "files.list",
            lambda s: s.files().list(
                q=query,
                fields=f"files({FILE_FIELDS})",
                supportsAllDrives=True,
                includeItemsFromAllDrives=True,
                pageSize=10,
                **scope,
            ),
        )
        files = _checked(answer, DRIVE, "files.list").get("files") or []
        return [f for f in files if isinstance(f, dict)]

    async def create_document(
        self, *, name: str, folder_id: str, properties: dict[str, str], content: bytes, kind: str
    ) -> JsonDict:
        """Upload `content` (Markdown or HTML) converted to a Google Doc in the folder."""
        media = MediaIoBaseUpload(io.BytesIO(content), mimetype=UPLOAD_TYPES[kind], resumable=False)
        body = {
            "name": name,
            "mimeType": GOOGLE_DOC,
            "parents": [folder_id],
            "appProperties": properties,
        }
        answer = await self._drive.call(
            "files.create",
            lambda s: s.files().create(
                body=body, media_body=media, supportsAllDrives=True, fields=FILE_FIELDS
            ),
        )
        return _checked(answer, DRIVE, "files.create")

    async def get_file(self, file_id: str) -> JsonDict:
        answer = await self._drive.call(
            "files.get",
            lambda s: s.files().get(fileId=file_id, supportsAllDrives=True, fields=FILE_FIELDS),
        )
        return _checked(answer, DRIVE, "files.get")

    async def set_properties(self, file_id: str, properties: dict[str, str]) -> JsonDict:
        """Merge appProperties (Drive keeps the others)."""
        answer = await self._drive.call(
            "files.update",
            lambda s: s.files().update(
                fileId=file_id,
                body={"appProperties": properties},
                supportsAllDrives=True,
                fields=FILE_FIELDS,
            ),
        )
        return _checked(answer, DRIVE, "files.update")

    async def trash(self, file_id: str) -> None:
        await self._drive.call(
            "files.update",
            lambda s: s.files().update(
                fileId=file_id, body={"trashed": True}, supportsAllDrives=True, fields="id"
            ),
        )

    async def get_document(self, document_id: str) -> JsonDict:
        answer = await self._docs.call(
            "documents.get", lambda s: s.documents().get(documentId=document_id)
        )
        return _checked(answer, DOCS, "documents.get")

    async def batch_update(
        self, document_id: str, requests: list[JsonDict], *, required_revision: str
    ) -> JsonDict:
        """Apply `requests` only if the document is still at `required_revision`
        (Google answers 400 otherwise, and nothing is written)."""
        body = {"requests": requests, "writeControl": {"requiredRevisionId": required_revision}}
        answer = await self._docs.call(
            "documents.batchUpdate",
            lambda s: s.documents().batchUpdate(documentId=document_id, body=body),
        )
        return _checked(answer, DOCS, "documents.batchUpdate")
