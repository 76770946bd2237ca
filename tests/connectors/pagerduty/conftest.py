"""A seeded PagerDuty fake served over verified TLS, and a connector pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Literal

import pytest
from pydantic import SecretStr

from connectors.common.fakeserver import start_fake
from connectors.pagerduty import PagerDutyConfig, PagerDutyConnector
from connectors.pagerduty.fake import FakePagerDuty
from tests.support.contract import OpenApiContract
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]  # the fixture, re-exported for this folder

SPEC = Path(__file__).parents[2] / "fixtures" / "specs" / "pagerduty_rest_openapiv3.trimmed.json"

INCIDENT = "PGR0VU2"
POLICY = "PUS0KTE"
ALICE, BOB, CAROL = "PTUXL6G", "PVMGSML", "PCAR0L1"

# PagerDuty's document, as published, rejects PagerDuty's own examples:
ERRATA = {
    # The variant says `acknowledgement_log_entry` while the LogEntry base it extends
    # (allOf) allows only `acknowledge_log_entry`, the name the API sends: as written
    # no acknowledge entry could ever validate.
    "/components/schemas/AcknowledgeLogEntry/allOf/1/properties/type/enum": [
        "acknowledge_log_entry"
    ],
}
# ...and uses oneOf where its variants overlap (a `{"type": "api"}` channel matches
# several channel kinds; its documented log-entry example fails oneOf). anyOf is
# what the document means.
ONE_OF_AS_ANY_OF = True


def seed(fake: FakePagerDuty) -> None:
    """An incident shaped like PagerDuty's webhook example `data_incident.json`."""
    fake.add_user(ALICE, "Alice Ops", "alice@example.com")
    fake.add_user(BOB, "Maeve Bob", "bob@example.com")
    fake.add_user(CAROL, "Carol Lead", "carol@example.com")
    fake.add_incident(
        INCIDENT,
        status="acknowledged",
        assignees=[(ALICE, "2020-04-09T15:16:28Z")],
        acknowledgers=[(ALICE, "2020-04-09T15:18:00Z")],
    )
    log: list[tuple[str, str, tuple[Literal["user", "service"], str], dict[str, str]]] = [
        ("trigger_log_entry", "2020-04-09T15:16:27Z", ("user", CAROL), {"type": "web_trigger"}),
        ("assign_log_entry", "2020-04-09T15:16:28Z", ("service", "PF9KMXH"), {"type": "auto"}),
        ("notify_log_entry", "2020-04-09T15:16:29Z", ("service", "PF9KMXH"), {"type": "auto"}),
        ("acknowledge_log_entry", "2020-04-09T15:18:00Z", ("user", ALICE), {"type": "website"}),
        ("annotate_log_entry", "2020-04-09T15:20:00Z", ("user", BOB), {"type": "note"}),
    ]
    for type_, at, agent, channel in log:
        fake.add_log_entry(
            INCIDENT,
            type_,
            created_at=at,
            agent=agent,
            channel=channel,
            assignees=[ALICE] if type_ == "assign_log_entry" else (),
        )
    fake.add_oncall(POLICY, BOB, level=2, schedule=("PI7DH85", "Secondary"))
    fake.add_oncall(POLICY, ALICE, level=1, schedule=("PI7DH84", "Primary"))
    fake.add_oncall("POTHER1", CAROL, level=1)


@pytest.fixture
def fake() -> FakePagerDuty:
    fake = FakePagerDuty()
    seed(fake)
    return fake


@pytest.fixture
async def base_url(fake: FakePagerDuty, loopback_tls: LoopbackTls) -> AsyncIterator[str]:
    runner, url = await start_fake(fake.make_app(), ssl_context=loopback_tls.server_context)
    yield url
    await runner.cleanup()


ConnectorFactory = Callable[..., PagerDutyConnector]


@pytest.fixture
async def make_connector(
    base_url: str, loopback_tls: LoopbackTls
) -> AsyncIterator[ConnectorFactory]:
    made: list[PagerDutyConnector] = []

    def make(**overrides: object) -> PagerDutyConnector:
        settings: dict[str, object] = {
            "api_token": SecretStr(FakePagerDuty.token),
            "base_url": base_url,
            "from_email": "carol@example.com",
            "timeout_seconds": 5,
            "ca_bundle": loopback_tls.ca_pem,
            **overrides,
        }
        connector = PagerDutyConnector.from_config(PagerDutyConfig.model_validate(settings))
        made.append(connector)
        return connector

    yield make
    for connector in made:
        await connector.close()


@pytest.fixture
def connector(make_connector: ConnectorFactory) -> PagerDutyConnector:
    return make_connector()


@pytest.fixture(scope="session")
def contract() -> OpenApiContract:
    return OpenApiContract.load(SPEC, errata=ERRATA, one_of_as_any_of=ONE_OF_AS_ANY_OF)
