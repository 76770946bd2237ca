"""The whole daemon over HTTP: signed PagerDuty deliveries, enrichment from the PagerDuty fake.

triggered → acknowledged → resolved ends with one canonical incident that knows its
people by email, its commander, its acknowledger, the primary on-call and when it was
resolved; and, the policy requiring one, a post-mortem with its plan. The enrichment
reads PagerDuty's REST API 3 times over the incident's life.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.common.fakeserver import start_fake
from connectors.pagerduty.fake import FakePagerDuty
from tests.support.daemon import Daemon, running_daemon, settle, write_config
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]

INCIDENT, POLICY = "PGR0VU2", "PUS0KTE"
ALICE, BOB, CAROL = "PTUXL6G", "PVMGSML", "PCAR0L1"
POLICIES = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"


@pytest.fixture
async def pagerduty(loopback_tls: LoopbackTls) -> AsyncIterator[tuple[FakePagerDuty, str]]:
    fake = FakePagerDuty(token="pd-api-token-e2e")
    fake.add_user(ALICE, "Alice Chen", "alice@example.com")
    fake.add_user(BOB, "Bob Okafor", "bob@example.com")
    fake.add_user(CAROL, "Carol Diaz", "carol@example.com")
    fake.add_oncall(POLICY, ALICE, level=1, schedule=("PI7DH84", "Primary"))
    fake.add_oncall(POLICY, BOB, level=2, schedule=("PI7DH85", "Secondary"))
    runner, base_url = await start_fake(fake.make_app(), ssl_context=loopback_tls.server_context)
    try:
        yield fake, base_url
    finally:
        await runner.cleanup()


def _config(tmp_path: Path, db_url: str, base_url: str, tls: LoopbackTls) -> Path:
    config = write_config(tmp_path, db_url)
    extra = (
        f"    api_token: pd-api-token-e2e\n"
        f"    base_url: {base_url}\n"
        f"    ca_bundle: {tls.ca_pem}\n"
        f"    from_email: pmhub@example.com\n"
    )
    text = config.read_text().replace("admin:", f"{extra}admin:")
    config.write_text(text + f"policies: [{POLICIES}]\n")
    return config


async def _deliver(daemon: Daemon, event_type: str, status: str, at: str) -> None:
    body, headers = pagerduty_delivery(
        event_type,
        incident_id=INCIDENT,
        extra_data={"status": status, "priority": {"summary": "P1", "id": "PRIP1"}},
        occurred_at=at,
    )
    response = await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
    assert response.status == 202
    await settle(daemon, max_seconds=20)


async def test_triggered_acknowledged_resolved_gives_a_complete_incident(
    tmp_path: Path, db_url: str, pagerduty: tuple[FakePagerDuty, str], loopback_tls: LoopbackTls
) -> None:
    fake, base_url = pagerduty
    config = _config(tmp_path, db_url, base_url, loopback_tls)
    async with running_daemon(config) as daemon:
        fake.add_incident(
            INCIDENT, status="triggered", created_at="2026-11-19T14:00:00Z", priority="P1"
        )
        fake.add_log_entry(
            INCIDENT,
            "trigger_log_entry",
            created_at="2026-11-19T14:00:00Z",
            agent=("user", CAROL),
            channel={"type": "web_trigger"},
        )
        await _deliver(daemon, "incident.triggered", "triggered", "2026-11-19T14:00:00Z")

        fake.add_incident(
            INCIDENT,
            status="acknowledged",
            created_at="2026-11-19T14:00:00Z",
            updated_at="2026-11-19T14:04:00Z",
            assignees=[(ALICE, "2026-11-19T14:00:05Z")],
            acknowledgers=[(ALICE, "2026-11-19T14:04:00Z")],
        )
        fake.add_log_entry(
            INCIDENT,
            "acknowledge_log_entry",
            created_at="2026-11-19T14:04:00Z",
            agent=("user", ALICE),
            channel={"type": "website"},
        )
        await _deliver(daemon, "incident.acknowledged", "acknowledged", "2026-11-19T14:04:00Z")

        fake.add_incident(
            INCIDENT,
            status="resolved",
            created_at="2026-11-19T14:00:00Z",
            updated_at="2026-11-19T19:05:00Z",
            resolved_at="2026-11-19T19:05:00Z",
            assignees=[(ALICE, "2026-11-19T14:00:05Z")],
            acknowledgers=[(ALICE, "2026-11-19T14:04:00Z")],
        )
        fake.add_log_entry(
            INCIDENT,
            "resolve_log_entry",
            created_at="2026-11-19T19:05:00Z",
            agent=("user", ALICE),
            channel={"type": "website"},
        )
        await _deliver(daemon, "incident.resolved", "resolved", "2026-11-19T19:05:00Z")

        headers = daemon.admin_headers()
        response = await daemon.client.get(
            f"/api/v1/incidents/pagerduty:{INCIDENT}", headers=headers
        )
        assert response.status == 200
        incident: dict[str, Any] = await response.json()
        assert incident["status"] == "resolved"
        assert incident["severity"] == "SEV-1"
        assert incident["resolved_at"].startswith("2026-11-19T19:05:00")
        assert incident["reference"] == "PD-1042"
        assert incident["incident_commander"]["email"] == "alice@example.com"
        [ack] = incident["acknowledgers"]
        assert ack["person"]["email"] == "alice@example.com"
        assert ack["at"].startswith("2026-11-19T14:04:00")
        assert incident["primary_oncall"]["email"] == "alice@example.com"
        assert incident["manual_trigger"]["email"] == "carol@example.com"

        # The policy requires a post-mortem for a resolved SEV-1: it exists, with its plan.
        pm = await daemon.client.get(
            f"/api/v1/postmortems/pm:pagerduty:{INCIDENT}", headers=headers
        )
        assert pm.status == 200
        body = await pm.json()
        assert body["status"] == "draft"
        assert body["plan"]["rule"] == "major"
        assert body["plan"]["owner"]["email"] == "alice@example.com"
        assert body["plan"]["meeting"]["deadline"] == "2026-11-22T14:05:00-05:00"
    # Read when needed (issue 16): the incident and its log once, at the resolution, and
    # the policy's on-call: 3 REST reads over the incident's life (there were 9).
    incident_reads = {
        path: count
        for (method, path), count in fake.calls.items()
        if method == "GET" and not path.startswith("/users/")
    }
    assert incident_reads == {
        f"/incidents/{INCIDENT}": 1,
        f"/incidents/{INCIDENT}/log_entries": 1,
        "/oncalls": 1,
    }
    # People: Carol (who triggered it) looked up once; Alice, on call, came with her
    # email in the incident (she acknowledged it), so was not looked up at all.
    assert fake.calls[("GET", f"/users/{CAROL}")] == 1
    assert fake.calls[("GET", f"/users/{ALICE}")] == 0
