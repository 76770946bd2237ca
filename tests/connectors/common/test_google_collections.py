"""The Google API wrapper builds each collection of a service once (issue 16)."""

from __future__ import annotations

from connectors.common.google import GoogleApi


def _docs_api() -> GoogleApi:
    return GoogleApi(
        "docs",
        "v1",
        product="Google Docs",
        root_url="http://127.0.0.1:9/",
        service_path="",
        credentials=None,
        timeout=1.0,
        max_concurrency=1,
    )


def test_a_collection_is_built_once_and_shared() -> None:
    # googleapiclient rebuilt `documents()` (every method and its schema-printed
    # docstring, ~18 MB for Docs) on each call: the peak of a storm's memory.
    service = _docs_api().service

    first = service.documents()

    assert service.documents() is first
    request = first.get(documentId="doc-1")
    assert request.uri.startswith("http://127.0.0.1:9/")
    assert "doc-1" in request.uri


def test_what_is_not_a_collection_is_the_service_own() -> None:
    service = _docs_api().service

    # A new batch each time: only collections are shared.
    assert service.new_batch_http_request() is not service.new_batch_http_request()
