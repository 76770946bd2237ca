"""A Google Drive v3 + Docs v1 double: the calls pmhub makes, answered like Google.

Drive: `files.create` as a multipart upload (`/upload/drive/v3/files?uploadType=multipart`)
converting Markdown or HTML to a Google Doc in a folder, `files.list` with the
`appProperties has {…}` query, `files.get`, `files.update` (appProperties merged);
`supportsAllDrives` required for shared-drive files (404 without it, as Drive does).
Docs: `documents.get` (structure with indexes, styles, bullets, links, `revisionId`) and
`documents.batchUpdate` (insertText, deleteContentRange, updateParagraphStyle,
create/deleteParagraphBullets, updateTextStyle; `requiredRevisionId` -> 400 when stale).
Errors in Google's shape; faults: a status with a reason, rate limits (403
`userRateLimitExceeded`, 429) with Retry-After, hanging, committing then dropping the
connection. `edit_as` plays a person typing in the document. Serve it over TLS: the
client sends uploads to https whatever the API root says.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from connectors.common.faults import Exchange, finish_exchange, record_exchange, take_fault
from connectors.google_docs.fake.docmodel import DocBody, from_html, from_markdown

Json = dict[str, Any]
GOOGLE_DOC = "application/vnd.google-apps.document"
FOLDER = "application/vnd.google-apps.folder"
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


def error_body(code: int, reason: str, message: str, domain: str = "global") -> Json:
    return {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"domain": domain, "reason": reason, "message": message}],
            "status": STATUS_NAMES.get(code, "UNKNOWN"),
        }
    }


def google_error(code: int, reason: str, message: str, **kwargs: Any) -> web.Response:
    headers = kwargs.pop("headers", None)
    return web.json_response(
        error_body(code, reason, message, **kwargs), status=code, headers=headers
    )


@dataclass
class Fault:
    kind: str  # "status", "rate_limit", "hang", "drop_after_commit"
    times: int | None
    method: str | None = None
    route: str | None = None
    status: int = 500
    reason: str = "backendError"
    retry_after: float | None = None

    def matches(self, method: str, route: str) -> bool:
        return self.method in (None, method) and self.route in (None, route)


@dataclass
class StoredDoc:
    body: DocBody
    revision: int = 1


@dataclass
class FakeGoogleDocs:
    """Seed a folder (`add_folder`), point root_url and docs_root_url at it (https)."""

    acting_user: str = "pmhub@example.com"  # who pmhub's calls act as (`me`)
    token: str | None = None  # when set, require "Authorization: Bearer <token>"
    latency: float = 0.0
    files: dict[str, Json] = field(default_factory=dict)
    docs: dict[str, StoredDoc] = field(default_factory=dict)
    media: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # id -> uploaded
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)
    exchanges: list[Exchange] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    pending_edits: list[tuple[str, str, str]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _clock: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _released: asyncio.Event = field(default_factory=asyncio.Event)

    # -- seeding and people -------------------------------------------------------

    def add_folder(self, folder_id: str, name: str, *, drive_id: str | None = None) -> Json:
        folder = self._file(folder_id, name, FOLDER, parents=[], drive_id=drive_id)
        self.files[folder_id] = folder
        return folder

    def _file(
        self, file_id: str, name: str, mime: str, *, parents: list[str], drive_id: str | None
    ) -> Json:
        stamp = self._now()
        file: Json = {
            "kind": "drive#file",
            "id": file_id,
            "name": name,
            "mimeType": mime,
            "parents": parents,
            "trashed": False,
            "createdTime": stamp,
            "modifiedTime": stamp,
            "version": "1",
            "lastModifyingUser": self._user(self.acting_user),
            "webViewLink": f"https://docs.google.com/document/d/{file_id}/edit?usp=drivesdk",
        }
        if drive_id:
            file["driveId"] = drive_id
        return file

    def _user(self, email: str) -> Json:
        return {
            "kind": "drive#user",
            "displayName": email.split("@", maxsplit=1)[0].title(),
            "emailAddress": email,
            "me": email == self.acting_user,
            "permissionId": str(abs(hash(email)) % 10**20),
        }

    def _now(self) -> str:
        tick = next(self._clock)
        return f"2026-11-24T15:{tick // 60 % 60:02d}:{tick % 60:02d}.000Z"

    def document_text(self, file_id: str) -> str:
        return self.docs[file_id].body.plain()

    def edit_as(self, email: str, file_id: str, after: str, text: str) -> None:
        """A person types `text` as a new paragraph after the paragraph reading `after`."""
        doc = self.docs[file_id]
        for _start, end, content, _style, _bullet in doc.body.paragraphs():
            if content.strip() == after:
                doc.body.insert_text(end - 1, "\n" + text)
                # Enter after a heading starts a normal paragraph in the editor.
                doc.body.set_style(end, end + len(text) + 1, style="NORMAL_TEXT", bullet=None)
                self.touch(file_id, email)
                return
        raise LookupError(f"no paragraph reading {after!r}")

    def clear_section_as(self, email: str, file_id: str, heading: str) -> None:
        """A person deletes everything under the heading reading `heading`, up to the next."""
        doc = self.docs[file_id]
        found = doc.body.paragraphs()
        starts = [
            i for i, p in enumerate(found) if p[2].strip() == heading and p[3] != "NORMAL_TEXT"
        ]
        if not starts:
            raise LookupError(f"no heading reading {heading!r}")
        first = starts[0]
        after = next((p[0] for p in found[first + 1 :] if p[3] != "NORMAL_TEXT"), doc.body.end - 1)
        if after > found[first][1]:
            doc.body.delete(found[first][1], after)
            self.touch(file_id, email)

    def edit_before_next_write(self, email: str, file_id: str, after: str, text: str) -> None:
        """A person types just before pmhub's next batchUpdate lands (a race)."""
        self.pending_edits.append((email, file_id, f"{after}\x00{text}"))

    def touch(self, file_id: str, email: str | None = None) -> None:
        file = self.files[file_id]
        file["modifiedTime"] = self._now()
        file["version"] = str(int(file["version"]) + 1)
        file["lastModifyingUser"] = self._user(email or self.acting_user)
        if file_id in self.docs:
            self.docs[file_id].revision += 1

    def new_id(self) -> str:
        return f"1pmhubDoc{next(self._ids):05d}xYz"

    # -- faults ---------------------------------------------------------------------

    def fail(
        self,
        status: int = 503,
        *,
        reason: str | None = None,
        times: int | None = 1,
        method: str | None = None,
        route: str | None = None,
    ) -> None:
        reason = reason or ("backendError" if status >= 500 else "badRequest")  # noqa: PLR2004
        self.faults.append(Fault("status", times, method, route, status, reason))

    def rate_limit(
        self,
        status: int = 403,
        *,
        reason: str = "userRateLimitExceeded",
        retry_after: float | None = None,
        times: int | None = 1,
    ) -> None:
        self.faults.append(Fault("rate_limit", times, None, None, status, reason, retry_after))

    def hang(self, *, times: int | None = 1, method: str | None = None) -> None:
        self.faults.append(Fault("hang", times, method))

    def drop_after_commit(
        self, *, times: int | None = 1, method: str | None = "POST", route: str | None = None
    ) -> None:
        self.faults.append(Fault("drop_after_commit", times, method, route))

    # -- app ------------------------------------------------------------------------

    def make_app(self) -> web.Application:
        from connectors.google_docs.fake.api import add_routes  # noqa: PLC0415 - a cycle

        app = web.Application(middlewares=[_middleware])
        app[STATE] = self
        add_routes(app)

        async def release_hanging(_: web.Application) -> None:
            self._released.set()

        app.on_shutdown.append(release_hanging)
        return app

    def convert(self, media_type: str, content: bytes) -> DocBody:
        text = content.decode("utf-8", "replace")
        blocks = from_html(text) if media_type.startswith("text/html") else from_markdown(text)
        return DocBody(blocks)


STATE = web.AppKey("google_docs_fake", FakeGoogleDocs)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
EXCHANGE = web.RequestKey("google_docs_exchange", Exchange)


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[STATE]
    exchange = await record_exchange(request)
    request[EXCHANGE] = exchange
    state.exchanges.append(exchange)
    state.calls[(request.method, exchange.route)] += 1
    if state.latency:
        await asyncio.sleep(state.latency)
    fault = take_fault(state.faults, request.method, exchange.route)
    exchange.fault = fault.kind if fault else None  # type: ignore[assignment]
    response = await _answer(request, handler, state, fault)
    return finish_exchange(request, response, exchange)


async def _answer(
    request: web.Request, handler: Handler, state: FakeGoogleDocs, fault: Fault | None
) -> web.StreamResponse:
    if fault is not None and fault.kind == "hang":
        await state._released.wait()
        return google_error(503, "backendError", "Shutting down")
    if fault is not None and fault.kind == "status":
        return google_error(fault.status, fault.reason, "Injected failure")
    if fault is not None and fault.kind == "rate_limit":
        headers = (
            {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
        )
        return google_error(
            fault.status, fault.reason, "Rate Limit Exceeded", domain="usageLimits", headers=headers
        )
    if state.token is not None and request.headers.get("Authorization") != f"Bearer {state.token}":
        return google_error(401, "authError", "Invalid Credentials")
    if request.match_info.http_exception is not None:
        return google_error(404, "notFound", "Not Found")
    return await handler(request)
