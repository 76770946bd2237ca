"""Both sides of every PagerDuty call checked against PagerDuty's OpenAPI document.

The connector drives the fake through every operation pmhub uses and through each
documented failure; then each recorded request (what our client sent) and each
answer (what the fake said) is validated against the trimmed official document.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.common.faults import Exchange
from connectors.pagerduty import PagerDutyConnector
from connectors.pagerduty.config import PagerDutyConfig
from connectors.pagerduty.doctor import diagnose
from connectors.pagerduty.fake import FakePagerDuty
from hub.errors import ConnectorError
from tests.connectors.pagerduty.conftest import (
    ALICE,
    INCIDENT,
    POLICY,
    ConnectorFactory,
)
from tests.support.contract import ContractViolation, OpenApiContract
from tests.support.tls import LoopbackTls

OPERATIONS = {
    ("GET", "/incidents/{id}"),
    ("GET", "/incidents/{id}/log_entries"),
    ("POST", "/incidents/{id}/notes"),
    ("GET", "/incidents/{id}/notes"),
    ("GET", "/users/{id}"),
    ("GET", "/oncalls"),
    ("GET", "/abilities"),
}


async def _tolerate(call: Awaitable[object]) -> None:
    with contextlib.suppress(ConnectorError):
        await call


async def exercise(
    connector: PagerDutyConnector, wrong: PagerDutyConnector, fake: FakePagerDuty
) -> None:
    fake.max_page_size = 2
    await connector.get_incident(INCIDENT)
    await connector.list_log_entries(INCIDENT)
    await connector.get_user(ALICE)
    await connector.primary_oncall(POLICY)
    await connector.add_note(INCIDENT, "Post-mortem review booked")
    await connector.list_notes(INCIDENT)
    await _tolerate(connector.list_notes("PNOPE00"))
    # The documented failures: 400, 401, 404, 429.
    await _tolerate(connector.add_note(INCIDENT, "hi", "stranger@example.com"))
    await _tolerate(connector.get_incident("PNOPE00"))
    await _tolerate(connector.list_log_entries("PNOPE00"))
    await _tolerate(connector.get_user("PNOPE00"))
    await _tolerate(wrong.get_incident(INCIDENT))
    await _tolerate(wrong.primary_oncall(POLICY))
    fake.rate_limit(retry_after=3)
    await _tolerate(connector.get_user("PX"))


def documented(exchange: Exchange) -> bool:
    # Injected 5xx, hangs and drops are not part of PagerDuty's contract (and have no
    # answer to check); an injected 429 is, and is checked.
    return exchange.fault in (None, "rate_limit")


async def test_every_request_and_answer_matches_the_document(
    make_connector: ConnectorFactory,
    fake: FakePagerDuty,
    contract: OpenApiContract,
    base_url: str,
    loopback_tls: LoopbackTls,
) -> None:
    await exercise(make_connector(), make_connector(api_token=SecretStr("nope")), fake)
    # `pmhub doctor`'s read: GET /abilities, with a good token and a refused one.
    for token in (fake.token, "nope"):
        config = PagerDutyConfig(
            api_token=SecretStr(token), base_url=base_url, ca_bundle=loopback_tls.ca_pem
        )
        async with aiohttp.ClientSession() as session:
            assert await diagnose(config, session)

    seen: set[tuple[str, str]] = set()
    statuses: set[int] = set()
    for exchange in filter(documented, fake.exchanges):
        template = contract.validate_request(
            exchange.method,
            exchange.path,
            query=exchange.query,
            headers=exchange.headers,
            body=exchange.body,
        )
        assert exchange.status is not None
        contract.validate_response(exchange.method, template, exchange.status, exchange.response)
        seen.add((exchange.method, template))
        statuses.add(exchange.status)

    assert seen == OPERATIONS
    assert statuses == {200, 400, 401, 404, 429}


async def test_seeded_log_entries_cover_the_kinds_pmhub_reads(
    connector: PagerDutyConnector, contract: OpenApiContract
) -> None:
    entries = await connector.list_log_entries(INCIDENT)
    body = {"log_entries": list(entries), "limit": 25, "offset": 0, "more": False, "total": None}
    contract.validate_response("GET", "/incidents/{id}/log_entries", 200, body)


# -- the contract check has teeth --------------------------------------------------


def test_a_note_without_from_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="'From' is missing"):
        contract.validate_request(
            "POST",
            f"/incidents/{INCIDENT}/notes",
            headers={
                "Authorization": "Token token=x",
                "Accept": "application/vnd.pagerduty+json;version=2",
                "Content-Type": "application/json",
            },
            body={"note": {"content": "x"}},
        )


def test_an_undocumented_query_parameter_is_a_violation(contract: OpenApiContract) -> None:
    headers = {"Authorization": "Token token=x", "Accept": "application/vnd.pagerduty+json"}
    with pytest.raises(ContractViolation, match="'include' is not documented"):
        contract.validate_request(
            "GET", f"/incidents/{INCIDENT}", query=[("include", "assignees")], headers=headers
        )
    with pytest.raises(ContractViolation, match="is not one of"):
        contract.validate_request(
            "GET", f"/incidents/{INCIDENT}", query=[("include[]", "everything")], headers=headers
        )


def test_a_request_without_credentials_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="credential"):
        contract.validate_request(
            "GET", f"/users/{ALICE}", headers={"Accept": "application/vnd.pagerduty+json"}
        )


def test_a_misshapen_answer_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="'email' is a required property"):
        contract.validate_response(
            "GET", "/users/{id}", 200, {"user": {"type": "user", "name": "x"}}
        )
    with pytest.raises(ContractViolation, match="not documented"):
        contract.validate_response("GET", "/oncalls", 404, {"error": {"message": "Not Found"}})
