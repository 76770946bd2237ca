"""Both sides of every Calendar call checked against Google's discovery document.

The connector drives the fake through every method pmhub uses and through the
failures it handles; then each recorded request (what googleapiclient sent for us)
and each answer (what the fake said) is validated against the trimmed document.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable

import pytest

from connectors.common.faults import Exchange
from connectors.google_calendar import GoogleCalendarConnector, event_id_for
from connectors.google_calendar.fake import FakeGoogleCalendar, error_body
from hub.errors import ConnectorError
from tests.connectors.google_calendar.conftest import (
    DETAILS,
    IC,
    OWNER,
    PM,
    STRANGER,
    booking,
    ny,
)
from tests.support.discovery import ContractViolation, DiscoveryContract

METHODS = {
    "calendar.freebusy.query",
    "calendar.events.insert",
    "calendar.events.get",
    "calendar.events.patch",
}
EVENTS = "/calendar/v3/calendars/postmortems@group.calendar.google.com/events"


async def _tolerate(call: Awaitable[object]) -> None:
    with contextlib.suppress(ConnectorError):
        await call


async def exercise(connector: GoogleCalendarConnector, fake: FakeGoogleCalendar) -> None:
    await connector.free_busy([IC, OWNER, STRANGER], ny(2, 0), ny(6, 0))
    ref = await connector.create_event(booking())
    await connector.create_event(booking())  # 409, then a GET
    await connector.create_event(booking("pm:pagerduty:P2:meeting", conference=False))
    await connector.get_event(ref.id)
    await connector.get_event(event_id_for("pm:none:meeting"))  # 404
    await connector.patch_event(ref.id, attendees=[IC, PM], details=DETAILS)
    fake.rate_limit(403, reason="userRateLimitExceeded")
    await _tolerate(connector.free_busy([IC], ny(2, 0), ny(3, 0)))
    fake.rate_limit(429, retry_after=2)
    await _tolerate(connector.get_event(ref.id))
    fake.fail(503)
    await _tolerate(connector.patch_event(ref.id, details=DETAILS))
    fake.token = "required-now"
    await _tolerate(connector.get_event(ref.id))  # 401


def answered(exchange: Exchange) -> bool:
    # A hang or a dropped connection has no answer to check.
    return exchange.status is not None


async def test_every_request_and_answer_matches_the_document(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar, contract: DiscoveryContract
) -> None:
    await exercise(connector, fake)

    seen: set[str] = set()
    statuses: set[int] = set()
    for exchange in filter(answered, fake.exchanges):
        method = contract.validate_request(
            exchange.method, exchange.path, query=exchange.query, body=exchange.body
        )
        assert exchange.status is not None
        contract.validate_response(method, exchange.status, exchange.response)
        seen.add(method.id)
        statuses.add(exchange.status)

    assert seen == METHODS
    assert statuses == {200, 401, 403, 404, 409, 429, 503}


async def test_a_dropped_insert_was_a_valid_request(
    connector: GoogleCalendarConnector, fake: FakeGoogleCalendar, contract: DiscoveryContract
) -> None:
    fake.drop_after_commit()
    await connector.create_event(booking())
    dropped = fake.exchanges[0]
    assert dropped.fault == "drop_after_commit"
    contract.validate_request(dropped.method, dropped.path, query=dropped.query, body=dropped.body)


# -- the contract check has teeth --------------------------------------------------

VALID_EVENT = {
    "id": "abcdefghij",
    "summary": "x",
    "start": {"dateTime": "2026-03-03T10:00:00-05:00"},
    "end": {"dateTime": "2026-03-03T10:30:00-05:00"},
}


def test_a_misspelt_field_is_a_violation(contract: DiscoveryContract) -> None:
    body = {**VALID_EVENT, "atendees": [{"email": IC}]}
    with pytest.raises(ContractViolation, match="'atendees' was unexpected"):
        contract.validate_request("POST", EVENTS, body=body)


def test_an_insert_without_start_is_a_violation(contract: DiscoveryContract) -> None:
    body = {k: v for k, v in VALID_EVENT.items() if k != "start"}
    with pytest.raises(ContractViolation, match="'start' is a required property"):
        contract.validate_request("POST", EVENTS, body=body)
    # ...while a patch may leave it out: `annotations.required` is per method.
    contract.validate_request("PATCH", f"{EVENTS}/abcdefghij", body={"summary": "y"})


def test_a_bad_time_is_a_violation(contract: DiscoveryContract) -> None:
    body = {**VALID_EVENT, "start": {"dateTime": "2026-03-03 10:00"}}
    with pytest.raises(ContractViolation, match="is not a 'date-time'"):
        contract.validate_request("POST", EVENTS, body=body)


@pytest.mark.parametrize(
    ("query", "match"),
    [
        ([("sendUpdate", "all")], "'sendUpdate' is not documented"),
        ([("sendUpdates", "everyone")], "is not one of"),
        ([("conferenceDataVersion", "2")], "maximum"),
        ([("conferenceDataVersion", "one")], "not an integer"),
        ([("alt", "xml")], "is not one of"),
    ],
)
def test_a_bad_query_parameter_is_a_violation(
    contract: DiscoveryContract, query: list[tuple[str, str]], match: str
) -> None:
    with pytest.raises(ContractViolation, match=match):
        contract.validate_request("POST", EVENTS, query=query, body=VALID_EVENT)


def test_an_undocumented_method_is_a_violation(contract: DiscoveryContract) -> None:
    with pytest.raises(ContractViolation, match="matches no documented method"):
        contract.validate_request("DELETE", f"{EVENTS}/abcdefghij", body=None)
    with pytest.raises(ContractViolation, match="a body was sent"):
        contract.validate_request("GET", f"{EVENTS}/abcdefghij", body={"x": 1})


def test_a_misshapen_answer_is_a_violation(contract: DiscoveryContract) -> None:
    method, _ = contract.match("POST", "/calendar/v3/freeBusy")
    bad = {"calendars": {IC: {"busy": [{"start": "soon", "end": "later"}]}}}
    with pytest.raises(ContractViolation, match="is not a 'date-time'"):
        contract.validate_response(method, 200, bad)
    with pytest.raises(ContractViolation, match="'errors' is a required property"):
        contract.validate_response(method, 403, {"error": {"code": 403, "message": "no"}})
    with pytest.raises(ContractViolation, match="is not the status"):
        contract.validate_response(method, 429, error_body(403, "rateLimitExceeded", "x"))
