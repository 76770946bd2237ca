"""Both sides of every Statuspage call checked against Statuspage's OpenAPI document."""

from __future__ import annotations

import json

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.common.pacer import KeyedPacer
from connectors.statuspage.config import StatuspageConfig
from connectors.statuspage.doctor import diagnose
from connectors.statuspage.fake import FakeStatuspage
from hub.errors import ConnectorError
from hub.ports import Publication
from tests.connectors.statuspage.conftest import MARKER, MESSAGE, NAME, SPEC, ConnectorFactory
from tests.support.contract import ContractViolation, OpenApiContract

PUB = Publication(incident_name=NAME, body=MESSAGE, marker=MARKER, component_ids=("8kbf7d35c070",))


async def test_every_request_and_answer_matches_the_document(
    make_connector: ConnectorFactory,
    fake: FakeStatuspage,
    contract: OpenApiContract,
    base_url: str,
    session: aiohttp.ClientSession,
) -> None:
    # Off: aiohttp's immediate resend of a dropped PUT would meet it (see test_connector).
    fake.min_interval = 0
    incidents, postmortems = make_connector(), make_connector(mode="postmortem")
    # Incident mode: create, update, and the look-ups of an unknown outcome.
    fake.drop_after_commit(method="POST")
    with pytest.raises(ConnectorError):
        await incidents.publish(PUB)
    created = await incidents.publish(PUB, unknown_outcome=True)
    await incidents.publish(PUB, unknown_outcome=True)  # nothing to do: already shows it
    await incidents.publish(Publication(incident_name="Slow", body=MESSAGE, marker="pm:x:2:ext"))
    await incidents.publish(
        Publication(incident_name=NAME, body="Update.", marker=MARKER, existing_id=created.id),
        unknown_outcome=True,
    )
    # Post-mortem mode, fresh and after a lost answer.
    mine = Publication(
        incident_name=NAME, body="Post-mortem.", marker=MARKER, existing_id=created.id
    )
    await postmortems.publish(mine, unknown_outcome=True)  # it has no post-mortem yet: 404
    fake.drop_after_commit(method="PUT", times=2)
    with pytest.raises(ConnectorError):
        await postmortems.publish(mine)
    await postmortems.publish(mine, unknown_outcome=True)
    # Every error the connector meets.
    failing = [
        incidents.publish(Publication(incident_name="x" * 256, body="b", marker="m")),  # 422
        postmortems.publish(
            Publication(incident_name=NAME, body="b", marker="m", existing_id="no")
        ),
        make_connector(api_key=SecretStr("nope"), shared_pacer=KeyedPacer(0)).publish(PUB),  # 401
    ]
    for call in failing:
        with pytest.raises(ConnectorError):
            await call
    # Short Retry-Afters: the connector honours them (its pacer holds the key back).
    fake.rate_limit(retry_after=0.1, status=420)
    fake.rate_limit(retry_after=0.1, status=429)
    fake.fail(500)
    for _ in range(3):
        with pytest.raises(ConnectorError):
            await incidents.publish(PUB)

    # `pmhub doctor`'s read: GET /pages/{page_id}, for the page, another, a refused key.
    # With component ids: GET …/components too (one known, one not).
    for key, page in ((fake.api_key, fake.page_id), (fake.api_key, "nopage"), ("nope", "p")):
        config = StatuspageConfig(
            api_key=SecretStr(key),
            page_id=page,
            base_url=base_url,
            component_ids=("8kbf7d35c070", "nosuchcomp01"),
        )
        assert await diagnose(config, session)
    assert any(exchange.path.endswith("/components") for exchange in fake.exchanges)

    statuses = set()
    for exchange in fake.exchanges:
        template = contract.validate_request(
            exchange.method,
            exchange.path,
            query=exchange.query,
            headers=exchange.headers,
            body=exchange.body,
        )
        if exchange.status is None:  # dropped unanswered on purpose
            continue
        contract.validate_response(exchange.method, template, exchange.status, exchange.response)
        statuses.add(exchange.status)
    assert statuses == {200, 201, 401, 404, 420, 422, 429, 500}


async def test_publishing_without_a_draft_is_a_documented_400(
    make_connector: ConnectorFactory, fake: FakeStatuspage, contract: OpenApiContract
) -> None:
    from connectors.statuspage.client import StatuspageClient  # noqa: PLC0415

    incident = fake.add_incident(NAME)
    connector = make_connector()
    client: StatuspageClient = connector._client
    with pytest.raises(ConnectorError, match="HTTP 400: Postmortem body can't be blank"):
        await client.publish_postmortem(incident["id"], notify_subscribers=False)
    [exchange] = fake.exchanges
    template = contract.validate_request(
        "PUT", exchange.path, headers=exchange.headers, body=exchange.body
    )
    contract.validate_response("PUT", template, 400, exchange.response)


def test_the_errata_are_needed(fake: FakeStatuspage) -> None:
    """Without them, the published document rejects what Statuspage itself sends."""
    incident = fake.add_incident(NAME)
    draft = fake.save_postmortem(incident, "Draft.")
    as_published = OpenApiContract(json.loads(SPEC.read_text(encoding="utf-8")))
    template = "/pages/{page_id}/incidents/{incident_id}/postmortem"
    with pytest.raises(ContractViolation, match="None is not of type 'string'"):
        as_published.validate_response("GET", template, 200, draft)
    # ...and cannot check an incident at all: "Object" is no JSON Schema type.
    incident_schema = as_published.document["components"]["schemas"]["Incident"]
    assert incident_schema["properties"]["metadata"]["type"] == "Object"


def test_a_create_without_a_name_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="'name' is a required property"):
        contract.validate_request(
            "POST",
            "/pages/gytm4qzbx9t6/incidents",
            headers={"Authorization": "OAuth k"},
            body={"incident": {"body": "b"}},
        )


def test_a_bad_status_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="'fixed' is not one of"):
        contract.validate_request(
            "PATCH",
            "/pages/gytm4qzbx9t6/incidents/abc",
            headers={"Authorization": "OAuth k"},
            body={"incident": {"status": "fixed"}},
        )


def test_missing_credentials_are_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="credential"):
        contract.validate_request("GET", "/pages/gytm4qzbx9t6/incidents")
