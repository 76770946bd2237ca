"""Both sides of every Drive and Docs call checked against Google's discovery documents.

The connector drives the fake through every method pmhub uses and through the failures
it handles; each recorded request (what googleapiclient sent for us) and each answer
(what the fake said) is validated against the trimmed Drive v3 or Docs v1 document. An
upload goes to the method's `mediaUpload` path (`/upload/drive/v3/files`); its JSON
part (the File resource) is what is checked against `files.create`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable

import pytest

from connectors.google_docs.fake import FakeGoogleDocs
from hub.errors import ConnectorError
from tests.connectors.google_docs.conftest import DocumentsFactory, request
from tests.support.discovery import SPECS, ContractViolation, DiscoveryContract

DRIVE = DiscoveryContract.load(SPECS / "google_drive.v3.trimmed.json")
DOCS = DiscoveryContract.load(SPECS / "google_docs.v1.trimmed.json")
METHODS = {
    "drive.files.create",
    "drive.files.list",
    "drive.files.get",
    "drive.files.update",
    "docs.documents.get",
    "docs.documents.batchUpdate",
}


async def _tolerate(call: Awaitable[object]) -> None:
    with contextlib.suppress(ConnectorError):
        await call


async def exercise(make_documents: DocumentsFactory, fake: FakeGoogleDocs) -> None:
    documents = make_documents()
    ref = await documents.create(request())
    await documents.create(request())
    await documents.read(ref)
    await documents.update_draft(ref, "- [ ] [Runbook](https://runbooks.example.com/x)\n# More")
    fake.edit_before_next_write("alice@example.com", ref.id, "More", "Alice")
    await _tolerate(documents.update_draft(ref, "again"))  # 400: stale revision
    await documents.create(request("pm:x:doc", content="<h1>T</h1><p>x</p>", content_format="html"))
    await _tolerate(make_documents(folder_id="0ANope").create(request("pm:y:doc")))  # 404
    fake.rate_limit(403)
    await _tolerate(documents.read(ref))
    fake.rate_limit(429, reason="rateLimitExceeded", retry_after=3)
    await _tolerate(documents.read(ref))
    fake.fail(503)
    await _tolerate(documents.read(ref))
    fake.token = "required-now"
    await _tolerate(documents.read(ref))  # 401


def _contract(path: str) -> tuple[DiscoveryContract, str]:
    if path.startswith("/upload/"):
        return DRIVE, path.removeprefix("/upload")
    return (DRIVE, path) if path.startswith("/drive/") else (DOCS, path)


async def test_every_request_and_answer_matches_the_documents(
    make_documents: DocumentsFactory, fake: FakeGoogleDocs
) -> None:
    await exercise(make_documents, fake)

    seen: set[str] = set()
    statuses: set[int] = set()
    for exchange in fake.exchanges:
        if exchange.status is None:
            continue
        contract, path = _contract(exchange.path)
        method = contract.validate_request(
            exchange.method, path, query=exchange.query, body=exchange.body
        )
        contract.validate_response(method, exchange.status, exchange.response)
        seen.add(method.id)
        statuses.add(exchange.status)

    assert seen == METHODS
    assert statuses == {200, 400, 401, 403, 404, 429, 503}


async def test_a_dropped_upload_was_a_valid_request(
    make_documents: DocumentsFactory, fake: FakeGoogleDocs
) -> None:
    fake.drop_after_commit(route="/upload/drive/v3/files")
    await _tolerate(make_documents().create(request()))
    dropped = next(e for e in fake.exchanges if e.fault == "drop_after_commit")
    contract, path = _contract(dropped.path)
    contract.validate_request(dropped.method, path, query=dropped.query, body=dropped.body)


# -- the contract check has teeth --------------------------------------------------


def test_a_misspelt_request_is_a_violation() -> None:
    with pytest.raises(ContractViolation, match="'requiredRevision' was unexpected"):
        DOCS.validate_request(
            "POST",
            "/v1/documents/abc:batchUpdate",
            body={"requests": [], "writeControl": {"requiredRevision": "r"}},
        )
    with pytest.raises(ContractViolation, match="'supportsAllDrive' is not documented"):
        DRIVE.validate_request(
            "GET", "/drive/v3/files/abc", query=[("supportsAllDrive", "true")], body=None
        )


def test_a_misshapen_answer_is_a_violation() -> None:
    method, _ = DRIVE.match("GET", "/drive/v3/files")
    with pytest.raises(ContractViolation, match="is not of type 'array'"):
        DRIVE.validate_response(method, 200, {"files": {"id": "x"}})
