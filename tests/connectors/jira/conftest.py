"""A seeded Jira fake on loopback, and connectors pointed at it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.common.fakeserver import start_fake
from connectors.jira import JiraConfig, JiraConnector
from connectors.jira.fake import FakeJira
from hub.ports import TicketLink, TicketRequest
from tests.support.contract import OpenApiContract
from tests.support.tls import loopback_tls

__all__ = ["loopback_tls"]  # the fixture, re-exported for this folder

SPEC = Path(__file__).parents[2] / "fixtures" / "specs" / "jira_cloud_platform.trimmed.json"

ALICE, BOB, GONE = (
    "5b10a2844c20165700ede21g",
    "5b10a2844c20165700ede22h",
    "5b10a0effa615349cb016cd8",
)
INCIDENT_URL = "https://acme.pagerduty.com/incidents/PGR0VU2"
DOC_URL = "https://docs.example.com/postmortems/PGR0VU2"


def followup(n: int = 1, **overrides: Any) -> TicketRequest:
    """A follow-up as the engine would ask for it."""
    values: dict[str, Any] = {
        "summary": f"Alert on queue depth ({n})",
        "description": f"Follow-up {n} of the checkout outage.\n\nPost-mortem: {DOC_URL}",
        "marker": f"pm:pagerduty:PGR0VU2:followup:{n}:ticket",
        "labels": ("postmortem", "sev-1", "2025-01"),
        "priority_name": "P1",
        "assignee_email": "alice@example.com",
        "links": (
            TicketLink("Incident PD-2", INCIDENT_URL),
            TicketLink("Post-mortem document", DOC_URL),
        ),
        **overrides,
    }
    return TicketRequest(**values)


def seed(fake: FakeJira) -> FakeJira:
    fake.add_user(ALICE, "Alice Ops", "alice@example.com", username="alice")
    fake.add_user(BOB, "Bob Builder", "bob@example.com", username="bob")
    fake.add_user(GONE, "Gone Person", "gone@example.com", active=False, username="gone")
    return fake


@pytest.fixture
def fake() -> FakeJira:
    return seed(FakeJira())


@pytest.fixture
async def base_url(fake: FakeJira) -> AsyncIterator[str]:
    runner, url = await start_fake(fake.make_app())
    yield url
    await runner.cleanup()


ConnectorFactory = Callable[..., JiraConnector]


def settings_for(fake: FakeJira, url: str, **overrides: object) -> dict[str, object]:
    auth: dict[str, object] = (
        {"email": fake.email, "api_token": SecretStr(fake.api_token)}
        if fake.deployment == "Cloud"
        else {"token": SecretStr(fake.pat)}
    )
    return {"url": url, "project": "OPS", "timeout_seconds": 5, **auth, **overrides}


@pytest.fixture
async def make_connector(fake: FakeJira, base_url: str) -> AsyncIterator[ConnectorFactory]:
    made: list[JiraConnector] = []

    def make(**overrides: object) -> JiraConnector:
        config = JiraConfig.model_validate(settings_for(fake, base_url, **overrides))
        connector = JiraConnector.from_config(config)
        made.append(connector)
        return connector

    yield make
    for connector in made:
        await connector.close()


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> JiraConnector:
    return make_connector()


def documented_error_bodies(document: dict[str, Any]) -> dict[str, Any]:
    """Errata: Jira answers every 4xx/5xx with an ErrorCollection body, but its document
    describes most of them with no content at all (e.g. search/jql's 400 and 401), which
    would make any body a violation. Stated here rather than by weakening the fake."""
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorCollection"}}}
    errata: dict[str, Any] = {}
    for template, item in document["paths"].items():
        escaped = template.replace("~", "~0").replace("/", "~1")
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            for status, response in operation["responses"].items():
                if status[0] in "45" and "content" not in response:
                    errata[f"/paths/{escaped}/{method}/responses/{status}/content"] = body
    return errata


# Jira writes timestamps as ISO 8601 with a colon-less offset ("2020-03-26T22:20:59.000+0000",
# the document's own serverInfo example); RFC 3339 `date-time` refuses that, so as
# written the document rejects its example.
TIMESTAMP_ERRATA = {
    f"/components/schemas/ServerInformation/properties/{name}": {
        "description": "Jira's timestamp: ISO 8601 with a +hhmm offset.",
        "type": "string",
    }
    for name in ("buildDate", "serverTime")
}


@pytest.fixture(scope="session")
def contract() -> OpenApiContract:
    document = json.loads(SPEC.read_text(encoding="utf-8"))
    return OpenApiContract(
        document, errata={**documented_error_bodies(document), **TIMESTAMP_ERRATA}
    )
