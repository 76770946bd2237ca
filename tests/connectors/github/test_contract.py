"""Both sides of every GitHub call checked against GitHub's OpenAPI description (Octokit's).

The connector drives the fake through every call pmhub makes (with a token and with
a GitHub App) and through the failures it handles; then each recorded request (what
githubkit sent for us) and each answer (what the fake said) is validated against the
trimmed document.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from pathlib import Path

import pytest

from connectors.github.fake import FakeGitHub
from hub.errors import ConnectorError
from tests.connectors.github.conftest import DocumentsFactory, request
from tests.support.contract import ContractViolation, OpenApiContract

OPERATIONS = {
    ("GET", "/repos/{owner}/{repo}/git/ref/{ref}"),
    ("POST", "/repos/{owner}/{repo}/git/refs"),
    ("GET", "/repos/{owner}/{repo}/contents/{path}"),
    ("PUT", "/repos/{owner}/{repo}/contents/{path}"),
    ("GET", "/repos/{owner}/{repo}/pulls"),
    ("POST", "/repos/{owner}/{repo}/pulls"),
    ("GET", "/repos/{owner}/{repo}/commits"),
    ("POST", "/app/installations/{installation_id}/access_tokens"),
}


async def _tolerate(call: Awaitable[object]) -> None:
    with contextlib.suppress(ConnectorError):
        await call


async def exercise(make_documents: DocumentsFactory, fake: FakeGitHub, app_key: Path) -> None:
    documents = make_documents()
    ref = await documents.create(request())
    await documents.create(request())
    await documents.read(ref)
    await documents.update_draft(ref, "new draft")
    branch, path = ref.id.split(":", 1)
    fake.edit_before_next_write("alice", branch, path, "# Rewritten by Alice\n")
    await _tolerate(documents.update_draft(ref, "newer draft"))  # 409
    await _tolerate(make_documents(base_branch="trunk").create(request("pm:x:doc")))  # 404
    await _tolerate(make_documents(token="wrong").create(request()))  # 401
    fake.rate_limit(403)
    await _tolerate(documents.read(ref))
    fake.rate_limit(429, retry_after=5)
    await _tolerate(documents.read(ref))
    app = make_documents(
        token=None, app_id=fake.app_id, private_key_file=app_key, installation_id=42
    )
    await app.create(request("pm:y:document", slug="other"))
    await _tolerate(
        make_documents(
            token=None, app_id=fake.app_id, private_key_file=app_key, installation_id=7
        ).create(request())
    )  # 404 for the installation


async def test_every_request_and_answer_matches_the_document(
    make_documents: DocumentsFactory,
    fake: FakeGitHub,
    contract: OpenApiContract,
    app_key: Path,
) -> None:
    await exercise(make_documents, fake, app_key)

    seen: set[tuple[str, str]] = set()
    statuses: set[int] = set()
    for exchange in fake.exchanges:
        if exchange.status is None:
            continue
        body = exchange.body if exchange.body is not None else None
        template = contract.validate_request(
            exchange.method,
            exchange.path,
            query=exchange.query,
            headers=exchange.headers,
            body=body,
        )
        if contract.documents_status(exchange.method, template, exchange.status):
            contract.validate_response(
                exchange.method, template, exchange.status, exchange.response
            )
        else:
            # Bad credentials (401), rate limits and outages may answer any operation;
            # GitHub's REST docs give them the common error body.
            contract.validate_component("basic-error", exchange.response)
        seen.add((exchange.method, template))
        statuses.add(exchange.status)

    assert seen == OPERATIONS
    assert statuses >= {200, 201, 401, 403, 404, 409, 429}


async def test_dropped_writes_were_valid_requests(
    make_documents: DocumentsFactory, fake: FakeGitHub, contract: OpenApiContract
) -> None:
    documents = make_documents()
    for method, route in [
        ("POST", "/repos/{owner}/{repo}/git/refs"),
        ("PUT", "/repos/{owner}/{repo}/contents/{path}"),
        ("POST", "/repos/{owner}/{repo}/pulls"),
    ]:
        fake.drop_after_commit(method=method, route=route)
        await _tolerate(documents.create(request()))
    dropped = [e for e in fake.exchanges if e.fault == "drop_after_commit"]
    assert len(dropped) == 3
    for exchange in dropped:
        contract.validate_request(
            exchange.method,
            exchange.path,
            query=exchange.query,
            headers=exchange.headers,
            body=exchange.body,
        )


# -- the contract check has teeth --------------------------------------------------

PULLS = "/repos/PostHog/incidents-analysis/pulls"


def test_a_pull_request_without_head_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="'head' is a required property"):
        contract.validate_request("POST", PULLS, body={"title": "x", "base": "main"})


def test_an_unknown_query_parameter_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="'heads' is not documented"):
        contract.validate_request("GET", PULLS, query=[("heads", "PostHog:x")])
    with pytest.raises(ContractViolation, match="is not one of"):
        contract.validate_request("GET", PULLS, query=[("state", "any")])


def test_a_misshapen_answer_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="'object' is a required property"):
        contract.validate_response(
            "GET",
            "/repos/{owner}/{repo}/git/ref/{ref}",
            200,
            {"ref": "refs/heads/x", "node_id": "n", "url": "https://api.github.com/x"},
        )
