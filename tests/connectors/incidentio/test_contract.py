"""Both sides of the incident.io call checked against incident.io's OpenAPI document."""

from __future__ import annotations

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.incidentio.config import IncidentIoConfig
from connectors.incidentio.doctor import diagnose
from connectors.incidentio.fake import FakeIncidentIo
from hub.errors import ConnectorError
from tests.connectors.incidentio.conftest import INCIDENT, LISA, ConnectorFactory
from tests.support.contract import ContractViolation, OpenApiContract


async def test_every_request_and_answer_matches_the_document(
    make_connector: ConnectorFactory,
    fake: FakeIncidentIo,
    contract: OpenApiContract,
    base_url: str,
    session: aiohttp.ClientSession,
) -> None:
    connector = make_connector()
    await connector.get_incident(INCIDENT)
    await connector.get_incident("123")
    fake.add_incident(
        "01MINIMAL", reference="INC-7", severity=None, incident_type=None, summary=None
    )
    await connector.get_incident("01MINIMAL")
    for failing in (
        connector.get_incident("01NOPE"),
        make_connector(api_key=SecretStr("nope")).get_incident(INCIDENT),
    ):
        with pytest.raises(ConnectorError):
            await failing
    fake.rate_limit(retry_after=1)
    fake.fail(500)
    for _ in range(2):
        with pytest.raises(ConnectorError):
            await connector.get_incident(INCIDENT)

    # The people a membership names, and the post-mortem document whose status pmhub follows.
    await connector.get_user(LISA)
    with pytest.raises(ConnectorError):
        await connector.get_user("01NOBODY")
    document = fake.add_postmortem_document(INCIDENT)
    assert (await connector.get_postmortem_document(document["id"]))["status"] == "in_progress"
    written = await connector.set_postmortem_status(document["id"], "completed")
    assert written["status"] == "completed"
    with pytest.raises(ConnectorError):
        await connector.get_postmortem_document("01NODOC")

    # `pmhub doctor`'s read: GET /v1/identity, with a good key and a refused one.
    for key in (fake.api_key, "nope"):
        config = IncidentIoConfig(api_key=SecretStr(key), base_url=base_url)
        assert await diagnose(config, session)

    statuses = set()
    for exchange in fake.exchanges:
        template = contract.validate_request(
            exchange.method,
            exchange.path,
            query=exchange.query,
            headers=exchange.headers,
            body=exchange.body,
        )
        assert exchange.status is not None
        contract.validate_response(exchange.method, template, exchange.status, exchange.response)
        statuses.add(exchange.status)
    assert statuses == {200, 401, 404, 429, 500}


def test_missing_bearer_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="credential"):
        contract.validate_request(
            "GET", f"/v2/incidents/{INCIDENT}", headers={"Authorization": "Token x"}
        )


def test_a_misshapen_incident_is_a_violation(contract: OpenApiContract) -> None:
    with pytest.raises(ContractViolation, match="'reference' is a required property"):
        contract.validate_response(
            "GET", "/v2/incidents/{id}", 200, {"incident": {"id": INCIDENT, "name": "x"}}
        )
    with pytest.raises(ContractViolation, match="'errors' is a required property"):
        contract.validate_response(
            "GET",
            "/v2/incidents/{id}",
            404,
            {"type": "not_found", "status": 404, "request_id": "r"},
        )
