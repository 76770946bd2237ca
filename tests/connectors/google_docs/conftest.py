"""A Drive + Docs fake over TLS on loopback, and document connectors pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from connectors.common.fakeserver import start_fake
from connectors.google_docs import GoogleDocsConfig, GoogleDocsDocuments
from connectors.google_docs.fake import FakeGoogleDocs
from hub.ports import DocumentRequest
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]

FOLDER, DRIVE = "0AFolderPostmortems", "0ASharedDriveEng"
KEY = "pm:pagerduty:PGR0VU2:document"
CONTENT = """# Post-mortem: PD-1042 Checkout API 5xx

## Summary

A config push broke checkout for 45 minutes.

## Impact

## Timeline

- 08:55 [Triggered](https://acme.pagerduty.com/incidents/PGR0VU2/log_entries/Q1) by Datadog
- 09:02 Alice acknowledged

## Root cause
"""


def request(key: str = KEY, **overrides: object) -> DocumentRequest:
    fields: dict[str, object] = {
        "key": key,
        "title": "PD-1042 Checkout API 5xx",
        "content": CONTENT,
        "slug": "2026-11-24-pd-1042",
        "draft": "Candidate follow-ups:\n- [ ] Canary config pushes",
        **overrides,
    }
    return DocumentRequest(**fields)  # type: ignore[arg-type]


@pytest.fixture
def fake() -> FakeGoogleDocs:
    fake = FakeGoogleDocs()
    fake.add_folder(FOLDER, "Post-mortems", drive_id=DRIVE)
    return fake


@pytest.fixture
async def base_url(fake: FakeGoogleDocs, loopback_tls: LoopbackTls) -> AsyncIterator[str]:
    runner, url = await start_fake(fake.make_app(), ssl_context=loopback_tls.server_context)
    yield url
    await runner.cleanup()


DocumentsFactory = Callable[..., GoogleDocsDocuments]


@pytest.fixture
async def make_documents(
    base_url: str, loopback_tls: LoopbackTls
) -> AsyncIterator[DocumentsFactory]:
    made: list[GoogleDocsDocuments] = []

    def make(**overrides: object) -> GoogleDocsDocuments:
        settings: dict[str, object] = {
            "folder_id": FOLDER,
            "drive_id": DRIVE,
            "root_url": base_url,
            "docs_root_url": base_url,
            "ca_bundle": str(loopback_tls.ca_pem),
            "timeout_seconds": 3,
            **overrides,
        }
        documents = GoogleDocsDocuments.from_config(GoogleDocsConfig.model_validate(settings))
        made.append(documents)
        return documents

    yield make
    for documents in made:
        await documents.close()


@pytest.fixture
def documents(make_documents: DocumentsFactory) -> GoogleDocsDocuments:
    return make_documents()
