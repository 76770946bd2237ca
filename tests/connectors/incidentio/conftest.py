"""A seeded incident.io fake on loopback, and a connector on a shared aiohttp session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.common.fakeserver import start_fake
from connectors.incidentio import IncidentIoConfig, IncidentIoConnector
from connectors.incidentio.fake import FakeIncidentIo
from tests.support.contract import OpenApiContract

SPEC = Path(__file__).parents[2] / "fixtures" / "specs" / "incidentio_openapi.trimmed.json"

INCIDENT = "01FDAG4SAP5TYPT98WGR2N7W91"
LISA, DAVE = "01FCNDV6P870EA6S7TK1DSYDG0", "01FCNDV6P870EA6S7TK1DSYDG1"


def seed(fake: FakeIncidentIo) -> None:
    """The incident of incident.io's own `IncidentV2` example, with two people."""
    fake.add_user(LISA, "Lisa Karlin Curtis", "lisa@incident.io", slack_user_id="U02AYNF2XJM")
    fake.add_user(DAVE, "Dave Reporter", "dave@incident.io", role="viewer")
    fake.add_incident(
        INCIDENT,
        creator=DAVE,
        roles={"Incident Lead": LISA, "Reporter": DAVE},
        custom_fields={"Affected Team": "Product"},
        postmortem_document_url="https://docs.google.com/my_doc_id",
        updated_at="2021-08-17T14:28:57.801578Z",
    )


@pytest.fixture
def fake() -> FakeIncidentIo:
    fake = FakeIncidentIo()
    seed(fake)
    return fake


@pytest.fixture
async def base_url(fake: FakeIncidentIo) -> AsyncIterator[str]:
    runner, url = await start_fake(fake.make_app())
    yield url
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # The daemon's one shared session, owned (and closed) by its creator, not the connector.
    async with aiohttp.ClientSession() as session:
        yield session


ConnectorFactory = Callable[..., IncidentIoConnector]


@pytest.fixture
def make_connector(base_url: str, session: aiohttp.ClientSession) -> ConnectorFactory:
    def make(**overrides: object) -> IncidentIoConnector:
        settings: dict[str, object] = {
            "api_key": SecretStr(FakeIncidentIo.api_key),
            "base_url": base_url,
            "timeout_seconds": 5,
            **overrides,
        }
        return IncidentIoConnector.from_config(IncidentIoConfig.model_validate(settings), session)

    return make


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> IncidentIoConnector:
    return make_connector()


@pytest.fixture(scope="session")
def contract() -> OpenApiContract:
    return OpenApiContract.load(SPEC)
