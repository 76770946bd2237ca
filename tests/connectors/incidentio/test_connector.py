"""The incident.io connector against its fake over loopback."""

from __future__ import annotations

from datetime import UTC, datetime

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr, ValidationError

from connectors.common.fakeserver import start_fake
from connectors.common.retry_after import parse_retry_after
from connectors.incidentio import IncidentIoConfig, IncidentIoConnector
from connectors.incidentio.client import vendor_message
from connectors.incidentio.fake import FakeIncidentIo
from hub.errors import AuthFailed, Permanent, RateLimited, Transient
from tests.connectors.incidentio.conftest import DAVE, INCIDENT, LISA, ConnectorFactory


async def test_incident_is_the_seeded_one(
    connector: IncidentIoConnector, fake: FakeIncidentIo
) -> None:
    incident = await connector.get_incident(INCIDENT)

    assert incident["id"] == INCIDENT
    assert incident["reference"] == "INC-123"
    assert incident["incident_status"]["category"] == "live"
    assert incident["severity"]["name"] == "Minor"
    assert incident["postmortem_document_url"] == "https://docs.google.com/my_doc_id"
    roles = {a["role"]["role_type"]: a["assignee"] for a in incident["incident_role_assignments"]}
    assert roles["lead"]["id"] == LISA
    assert roles["lead"]["email"] == "lisa@incident.io"
    assert roles["reporter"]["id"] == DAVE
    assert incident["creator"]["user"]["id"] == DAVE
    [exchange] = fake.exchanges
    assert exchange.headers["Authorization"] == f"Bearer {fake.api_key}"


async def test_reference_number_works_as_id(connector: IncidentIoConnector) -> None:
    assert (await connector.get_incident("123"))["id"] == INCIDENT


async def test_each_call_refetches(connector: IncidentIoConnector, fake: FakeIncidentIo) -> None:
    # Deliveries are unordered; the API's current answer is the truth, never a cache.
    await connector.get_incident(INCIDENT)
    fake.update_incident(INCIDENT, name="Our database is happy again")
    assert (await connector.get_incident(INCIDENT))["name"] == "Our database is happy again"
    assert fake.calls[("GET", f"/v2/incidents/{INCIDENT}")] == 2


async def test_wrong_key_is_auth_failed_and_never_echoed(make_connector: ConnectorFactory) -> None:
    with pytest.raises(AuthFailed, match="invalid_authorization_material") as caught:
        await make_connector(api_key=SecretStr("wrong-secret-key")).get_incident(INCIDENT)
    assert "wrong-secret-key" not in str(caught.value)


async def test_forbidden_is_auth_failed(
    connector: IncidentIoConnector, fake: FakeIncidentIo
) -> None:
    fake.fail(403)
    with pytest.raises(AuthFailed):
        await connector.get_incident(INCIDENT)


async def test_unknown_incident_is_permanent_with_vendor_message(
    connector: IncidentIoConnector,
) -> None:
    with pytest.raises(Permanent, match="HTTP 404: not_found: not_found: Incident not found"):
        await connector.get_incident("01NOPE")


async def test_rate_limit_carries_retry_after(
    connector: IncidentIoConnector, fake: FakeIncidentIo
) -> None:
    fake.rate_limit(retry_after=11)
    with pytest.raises(RateLimited) as caught:
        await connector.get_incident(INCIDENT)
    assert caught.value.retry_after == 11


async def test_server_error_is_transient(
    connector: IncidentIoConnector, fake: FakeIncidentIo
) -> None:
    fake.fail(500)
    with pytest.raises(Transient) as caught:
        await connector.get_incident(INCIDENT)
    assert type(caught.value) is Transient
    assert "api_error" in str(caught.value)


async def test_other_client_errors_are_permanent(
    connector: IncidentIoConnector, fake: FakeIncidentIo
) -> None:
    fake.fail(422)
    with pytest.raises(Permanent, match="HTTP 422"):
        await connector.get_incident(INCIDENT)


async def test_timeout_is_transient(make_connector: ConnectorFactory, fake: FakeIncidentIo) -> None:
    fake.hang()
    with pytest.raises(Transient, match="Timeout"):
        await make_connector(timeout_seconds=0.3).get_incident(INCIDENT)


async def test_nothing_listening_is_transient(
    session: aiohttp.ClientSession, unused_tcp_port: int
) -> None:
    config = IncidentIoConfig(
        api_key=SecretStr("k"), base_url=f"http://127.0.0.1:{unused_tcp_port}"
    )
    with pytest.raises(Transient, match="ClientConnectorError"):
        await IncidentIoConnector.from_config(config, session).get_incident(INCIDENT)


async def test_a_non_json_answer_is_transient(session: aiohttp.ClientSession) -> None:
    async def proxy_page(_: web.Request) -> web.Response:
        return web.Response(text="<html>a proxy's error page</html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/v2/incidents/{id}", proxy_page)
    runner, url = await start_fake(app)
    try:
        config = IncidentIoConfig(api_key=SecretStr("k"), base_url=url)
        with pytest.raises(Transient, match="without a JSON object"):
            await IncidentIoConnector.from_config(config, session).get_incident(INCIDENT)
    finally:
        await runner.cleanup()


def test_config_defaults_and_secrecy() -> None:
    config = IncidentIoConfig(api_key=SecretStr("k-secret"))
    assert config.base_url == "https://api.incident.io"
    assert "k-secret" not in repr(config)
    with pytest.raises(ValidationError):
        IncidentIoConfig(api_key=SecretStr("k"), base_url="api.incident.io")


def test_validation_error_message_names_the_field() -> None:
    body = {
        "type": "validation_error",
        "status": 422,
        "request_id": "631766c4",
        "errors": [
            {
                "code": "is_required",
                "message": "A severity is required",
                "source": {"field": "severity_id"},
            }
        ],
    }
    assert vendor_message(body, "422") == (
        "validation_error: is_required: A severity is required (field severity_id)"
        " [request_id 631766c4]"
    )


def test_retry_after_http_date() -> None:
    now = datetime(2021, 8, 17, 13, 28, 57, tzinfo=UTC)
    assert parse_retry_after("Tue, 17 Aug 2021 13:29:57 GMT", now=now) == 60.0
    assert parse_retry_after("2") == 2.0
