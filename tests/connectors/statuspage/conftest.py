"""A Statuspage fake on loopback, and connectors on one shared session and one pacer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from connectors.common.fakeserver import start_fake
from connectors.common.pacer import KeyedPacer
from connectors.statuspage import StatuspageConfig, StatuspageConnector
from connectors.statuspage.fake import (
    INCIDENT_NULLS,
    POSTMORTEM_NULLS,
    UPDATE_NULLS,
    FakeStatuspage,
)
from tests.support.contract import OpenApiContract

SPEC = Path(__file__).parents[2] / "fixtures" / "specs" / "statuspage_openapi3.trimmed.json"

# Fast but real pacing: the fake refuses a key's second request within FAKE_INTERVAL
# of the previous one; the connector starts each request PACING after the previous
# answer.
FAKE_INTERVAL, PACING = 0.02, 0.1
MARKER = "pm:pagerduty:PGR0VU2:external"
NAME = "Elevated API error rates"
MESSAGE = "Between 14:02 and 14:40 UTC some API requests failed. The cause is fixed."

ERROR_RESPONSE = {
    "description": "error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEntity"}}},
}


def _errata(document: dict[str, Any]) -> dict[str, Any]:
    """Statuspage's document, as published, rejects what Statuspage sends. Stated here:"""
    schemas = "/components/schemas"
    errata: dict[str, Any] = {
        # Not a JSON Schema type (validators reject the schema itself); "object" is meant.
        f"{schemas}/Incident/properties/metadata/type": "object",
        # Documented as a boolean, described (and sent) as "the timestamp when published".
        f"{schemas}/Incident/properties/postmortem_published_at": {
            "type": "string",
            "format": "date-time",
            "nullable": True,
        },
    }
    # The API sends null for what is unset (and OpenAPI 3.0 wants null in an enum, too)
    errata[f"{schemas}/Incident/properties/impact_override/enum"] = [
        *document["components"]["schemas"]["Incident"]["properties"]["impact_override"]["enum"],
        None,
    ]
    # The API sends null for what is unset (resolved_at before resolution, and so on);
    # the document never says nullable.
    for schema, fields in (
        ("Incident", (*INCIDENT_NULLS, "impact_override")),
        ("IncidentUpdate", UPDATE_NULLS),
        ("Postmortem", POSTMORTEM_NULLS),
    ):
        for name in fields:
            if name != "postmortem_published_at":
                errata[f"{schemas}/{schema}/properties/{name}/nullable"] = True
    # The description says every call may answer 420 or 429, and any API can answer
    # 5xx, yet no operation lists them; some operations list no errors at all (PATCH
    # lists only 200) although Statuspage answers them 401, 404 and 422 like the rest.
    for template, item in document["paths"].items():
        escaped = template.replace("~", "~0").replace("/", "~1")
        for method, operation in item.items():
            if method == "parameters":
                continue
            for status in ("401", "404", "420", "422", "429", "5XX"):
                if status == "422" and method == "get":
                    continue  # validation errors answer writes only
                if status not in operation["responses"]:
                    errata[f"/paths/{escaped}/{method}/responses/{status}"] = ERROR_RESPONSE
    return errata


@pytest.fixture(scope="session")
def contract() -> OpenApiContract:
    document = json.loads(SPEC.read_text(encoding="utf-8"))
    return OpenApiContract(document, errata=_errata(document))


@pytest.fixture
def fake() -> FakeStatuspage:
    fake = FakeStatuspage(min_interval=FAKE_INTERVAL)
    fake.add_component("API", id_="8kbf7d35c070")
    fake.add_component("Dashboard", id_="vtnh60py4yd7")
    return fake


@pytest.fixture
async def base_url(fake: FakeStatuspage) -> AsyncIterator[str]:
    runner, url = await start_fake(fake.make_app())
    yield f"{url}/v1/"
    await runner.cleanup()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # The daemon's one shared session, owned (and closed) by its creator, not the connector.
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def pacer() -> KeyedPacer:
    # One per key across connectors, as the daemon wires it: the limit is per key.
    return KeyedPacer(PACING)


ConnectorFactory = Callable[..., StatuspageConnector]


@pytest.fixture
def make_connector(
    base_url: str, session: aiohttp.ClientSession, pacer: KeyedPacer
) -> ConnectorFactory:
    def make(
        *, shared_pacer: KeyedPacer | None = pacer, **overrides: object
    ) -> StatuspageConnector:
        settings: dict[str, object] = {
            "api_key": SecretStr(FakeStatuspage.api_key),
            "page_id": FakeStatuspage.page_id,
            "base_url": base_url,
            "timeout_seconds": 5,
            "min_interval_seconds": PACING,
            **overrides,
        }
        config = StatuspageConfig.model_validate(settings)
        return StatuspageConnector.from_config(config, session, pacer=shared_pacer)

    return make


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> StatuspageConnector:
    return make_connector()
