"""The Drive and Docs fake's endpoints, shaped as Google shapes them."""

from __future__ import annotations

import json
import re
from email import message_from_bytes
from email.message import Message
from typing import Any

from aiohttp import web

from connectors.google_docs.fake import (
    EXCHANGE,
    GOOGLE_DOC,
    STATE,
    FakeGoogleDocs,
    StoredDoc,
    google_error,
)
from connectors.google_docs.fake.docmodel import DocError

Json = dict[str, Any]
_QUERY = re.compile(
    r"^appProperties has \{ key='([^']+)' and value='([^']*)' \}(?: and trashed = (true|false))?$"
)
_FIELDS = re.compile(r"^files\((.*)\)$")
CONVERTIBLE = ("text/markdown", "text/html", "text/plain")


def _truthy(request: web.Request, name: str) -> bool:
    return request.query.get(name) == "true"


def _visible(request: web.Request, file: Json) -> bool:
    """Shared-drive files exist for a caller only if it says it supports shared drives."""
    return not file.get("driveId") or _truthy(request, "supportsAllDrives")


def _fields(file: Json, fields: str | None) -> Json:
    if not fields:
        return {k: file[k] for k in ("kind", "id", "name", "mimeType") if k in file}
    wanted = {name.strip() for name in fields.split(",")}
    return {k: v for k, v in file.items() if k in wanted}


def _not_found(file_id: str) -> web.Response:
    return google_error(404, "notFound", f"File not found: {file_id}.", domain="global")


async def list_files(request: web.Request) -> web.Response:
    state = request.app[STATE]
    query = request.query.get("q", "")
    found = _QUERY.match(query)
    if found is None:
        return google_error(400, "invalid", "Invalid Value", domain="global")
    corpora = request.query.get("corpora", "user")
    drive_id = request.query.get("driveId")
    if corpora == "drive" and (not drive_id or not _truthy(request, "includeItemsFromAllDrives")):
        return google_error(
            400,
            "invalid",
            "The driveId parameter requires corpora=drive and includeItemsFromAllDrives.",
        )
    key, value, trashed = found.groups()
    all_drives = _truthy(request, "includeItemsFromAllDrives") and _truthy(
        request, "supportsAllDrives"
    )
    matching = [
        f
        for f in state.files.values()
        if (f.get("appProperties") or {}).get(key) == value
        and (trashed is None or f["trashed"] == (trashed == "true"))
        and (not f.get("driveId") or all_drives)
        and (drive_id is None or f.get("driveId") == drive_id)
    ]
    wanted = _FIELDS.match(request.query.get("fields", ""))
    files = [_fields(f, wanted.group(1) if wanted else None) for f in matching]
    return web.json_response({"kind": "drive#fileList", "incompleteSearch": False, "files": files})


def _parts(request: web.Request, raw: bytes) -> tuple[Json, str, bytes] | None:
    head = f"Content-Type: {request.headers.get('Content-Type', '')}\r\n\r\n".encode()
    message = message_from_bytes(head + raw)
    parts = message.get_payload()
    if not message.is_multipart() or not isinstance(parts, list) or len(parts) != 2:  # noqa: PLR2004
        return None
    meta_part, media_part = parts
    if not isinstance(meta_part, Message) or not isinstance(media_part, Message):
        return None
    try:
        metadata = json.loads(meta_part.get_payload(decode=True) or b"{}")  # type: ignore[arg-type]
    except ValueError:
        return None
    media = media_part.get_payload(decode=True)
    return metadata, media_part.get_content_type(), media if isinstance(media, bytes) else b""


async def upload_file(request: web.Request) -> web.Response:
    state = request.app[STATE]
    if request.query.get("uploadType") != "multipart":
        return google_error(400, "badRequest", "Unsupported upload type")
    parsed = _parts(request, await request.read())
    if parsed is None:
        return google_error(400, "badContent", "Bad multipart body")
    metadata, media_type, media = parsed
    request[EXCHANGE].body = metadata  # what the contract checks: the File resource sent
    parents = metadata.get("parents") or []
    folder = state.files.get(parents[0]) if parents else None
    if parents and (folder is None or not _visible(request, folder)):
        return _not_found(parents[0])
    if metadata.get("mimeType") != GOOGLE_DOC or media_type not in CONVERTIBLE:
        return google_error(
            400, "badRequest", f"Cannot convert {media_type} to {metadata.get('mimeType')}"
        )
    file_id = state.new_id()
    file = state._file(
        file_id,
        str(metadata.get("name") or "Untitled document"),
        GOOGLE_DOC,
        parents=list(parents),
        drive_id=folder.get("driveId") if folder else None,
    )
    if metadata.get("appProperties"):
        file["appProperties"] = dict(metadata["appProperties"])
    state.files[file_id] = file
    state.docs[file_id] = StoredDoc(state.convert(media_type, media))
    state.media[file_id] = (media_type, media)
    return web.json_response(_fields(file, request.query.get("fields")))


async def get_file(request: web.Request) -> web.Response:
    state = request.app[STATE]
    file_id = request.match_info["fileId"]
    file = state.files.get(file_id)
    if file is None or not _visible(request, file):
        return _not_found(file_id)
    return web.json_response(_fields(file, request.query.get("fields")))


async def update_file(request: web.Request) -> web.Response:
    state = request.app[STATE]
    file_id = request.match_info["fileId"]
    file = state.files.get(file_id)
    if file is None or not _visible(request, file):
        return _not_found(file_id)
    body = await request.json()
    if "appProperties" in body:
        merged = {**(file.get("appProperties") or {}), **body["appProperties"]}
        file["appProperties"] = {k: v for k, v in merged.items() if v is not None}
    if "name" in body:
        file["name"] = body["name"]
    if "trashed" in body:
        file["trashed"] = bool(body["trashed"])
    state.touch(file_id)
    return web.json_response(_fields(file, request.query.get("fields")))


def _document(state: FakeGoogleDocs, document_id: str) -> StoredDoc | None:
    file = state.files.get(document_id)
    if file is None or file["trashed"] or document_id not in state.docs:
        return None
    return state.docs[document_id]


def _revision(doc: StoredDoc) -> str:
    return f"ALm37BV{doc.revision:08d}pmhub"


async def get_document(request: web.Request) -> web.Response:
    state = request.app[STATE]
    document_id = request.match_info["documentId"]
    doc = _document(state, document_id)
    if doc is None:
        return google_error(404, "notFound", "Requested entity was not found.")
    title = state.files[document_id]["name"]
    return web.json_response(doc.body.render(document_id, title, _revision(doc)))


async def batch_update(request: web.Request) -> web.Response:
    state = request.app[STATE]
    document_id, _, verb = request.match_info["documentId"].partition(":")
    doc = _document(state, document_id) if verb == "batchUpdate" else None
    if doc is None:
        return google_error(404, "notFound", "Requested entity was not found.")
    while state.pending_edits:
        email, target, spec = state.pending_edits.pop(0)
        after, _, text = spec.partition("\x00")
        state.edit_as(email, target, after, text)
    body = await request.json()
    required = (body.get("writeControl") or {}).get("requiredRevisionId")
    if required is not None and required != _revision(doc):
        return google_error(
            400,
            "failedPrecondition",
            "The required revision ID does not match the latest revision of the document.",
        )
    snapshot = (list(doc.body.chars), list(doc.body.links), dict(doc.body.styles))
    replies: list[Json] = []
    try:
        for number, item in enumerate(body.get("requests") or ()):
            replies.append(_apply(doc, item, number))
    except DocError as exc:
        doc.body.chars, doc.body.links, doc.body.styles = snapshot  # all or nothing
        return google_error(400, "badRequest", str(exc))
    state.touch(document_id)
    return web.json_response(
        {
            "documentId": document_id,
            "replies": replies,
            "writeControl": {"requiredRevisionId": _revision(doc)},
        }
    )


def _range(spec: Json) -> tuple[int, int]:
    return int(spec["startIndex"]), int(spec["endIndex"])


def _apply(doc: StoredDoc, item: Json, number: int) -> Json:
    if len(item) != 1:
        raise DocError(f"Invalid requests[{number}]: exactly one request kind expected")
    kind, spec = next(iter(item.items()))
    body = doc.body
    if kind == "insertText":
        body.insert_text(int(spec["location"]["index"]), str(spec["text"]))
    elif kind == "deleteContentRange":
        body.delete(*_range(spec["range"]))
    elif kind == "updateParagraphStyle":
        if spec.get("fields") != "namedStyleType":
            raise DocError(f"Invalid requests[{number}].updateParagraphStyle: fields")
        body.set_style(*_range(spec["range"]), style=spec["paragraphStyle"]["namedStyleType"])
    elif kind == "createParagraphBullets":
        body.set_style(
            *_range(spec["range"]), bullet=spec.get("bulletPreset") or "BULLET_DISC_CIRCLE_SQUARE"
        )
    elif kind == "deleteParagraphBullets":
        body.set_style(*_range(spec["range"]), bullet=None)
    elif kind == "updateTextStyle":
        if spec.get("fields") != "link":
            raise DocError(f"Invalid requests[{number}].updateTextStyle: fields")
        body.set_link(*_range(spec["range"]), (spec["textStyle"].get("link") or {}).get("url"))
    else:
        raise DocError(f"Invalid requests[{number}]: {kind} is not supported by the fake")
    return {}


def add_routes(app: web.Application) -> None:
    app.router.add_get("/drive/v3/files", list_files)
    app.router.add_post("/upload/drive/v3/files", upload_file)
    app.router.add_get("/drive/v3/files/{fileId}", get_file)
    app.router.add_patch("/drive/v3/files/{fileId}", update_file)
    app.router.add_get("/v1/documents/{documentId}", get_document)
    app.router.add_post("/v1/documents/{documentId}", batch_update)
