"""The world of the post-mortem document's whole-daemon tests: PagerDuty (TLS), Slack with
a channel the incident was worked in, Google Docs (TLS), an SMTP server (STARTTLS), and
pmhub configured for all of them with the shipped PagerDuty policy reading that channel."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse, web

from connectors.common.fakeserver import start_fake
from connectors.email.fake import FakeSmtp
from connectors.google_docs.fake import FakeGoogleDocs
from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.fake import FakeSlack
from tests.e2e.conftest import (
    INCIDENTS_CHANNEL,
    PD_ALICE,
    PD_BOB,
    PD_CAROL,
    PD_TOKEN,
    SLACK_ALICE,
    SLACK_BOB,
    Served,
)
from tests.e2e.test_slack_flow import (
    ACKED,
    CREATED,
    INCIDENT,
    RESOLVED,
    SLACK_SECRET,
    _signed,
)
from tests.support.daemon import Daemon, settle, write_config
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls

WAR_ROOM = "C0WARROOM1"
OBSERVER = "U0OBSERVE1"
FOLDER = "0AFolderPostmortems"
SMTP_USER, SMTP_PASSWORD = "pmhub", "smtp-password-e2e"
SHIPPED_POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
UPLOAD = "/upload/drive/v3/files"
Clock = Callable[[], datetime]


@dataclass
class DocumentWorld:
    pagerduty: Served[FakePagerDuty]
    slack: Served[FakeSlack]
    docs: FakeGoogleDocs
    smtp: FakeSmtp
    config: Path


@pytest.fixture
async def document_world(
    tmp_path: Path,
    db_url: str,
    pagerduty_fake: Served[FakePagerDuty],
    slack_fake: Served[FakeSlack],
    loopback_tls: LoopbackTls,
) -> AsyncIterator[DocumentWorld]:
    docs = FakeGoogleDocs()
    docs.add_folder(FOLDER, "Post-mortems", drive_id="0ASharedDrive")
    smtp = FakeSmtp(server_tls=loopback_tls.server_context, users={SMTP_USER: SMTP_PASSWORD})
    await smtp.start()
    runner: web.AppRunner | None = None
    try:
        runner, docs_url = await start_fake(
            docs.make_app(), ssl_context=loopback_tls.server_context
        )
        config = _config(
            tmp_path,
            db_url,
            pd=pagerduty_fake,
            slack=slack_fake,
            tls=loopback_tls,
            docs_url=docs_url,
            smtp=smtp,
        )
        yield DocumentWorld(pagerduty_fake, slack_fake, docs, smtp, config)
    finally:
        if runner is not None:
            await runner.cleanup()
        await smtp.stop()


def _config(
    tmp_path: Path,
    db_url: str,
    *,
    pd: Served[FakePagerDuty],
    slack: Served[FakeSlack],
    tls: LoopbackTls,
    docs_url: str,
    smtp: FakeSmtp,
) -> Path:
    """The shipped PagerDuty policy, reading the channel incidents are worked in."""
    policy = tmp_path / "pagerduty-process.yaml"
    text = SHIPPED_POLICY.read_text()
    assert "  # channel: C0123456789\n" in text
    policy.write_text(text.replace("  # channel: C0123456789\n", f"  channel: {WAR_ROOM}\n"))
    config = write_config(tmp_path, db_url)
    sources = (
        f"    api_token: {PD_TOKEN}\n"
        f"    base_url: {pd.base_url}\n"
        f"    ca_bundle: {tls.ca_pem}\n"
        f"    from_email: pmhub@example.com\n"
        f"  slack:\n"
        f"    signing_secret: {SLACK_SECRET}\n"
    )
    connectors = (
        "connectors:\n"
        "  slack:\n"
        f"    bot_token: {slack.fake.token}\n"
        f"    base_url: {slack.base_url}/api/\n"
        f"    incidents_channel: {INCIDENTS_CHANNEL}\n"
        "  google_docs:\n"
        f"    folder_id: {FOLDER}\n"
        "    drive_id: 0ASharedDrive\n"
        f"    root_url: {docs_url}/\n"
        f"    docs_root_url: {docs_url}/\n"
        f"    ca_bundle: {tls.ca_pem}\n"
        "    timeout_seconds: 2\n"
        "  email:\n"
        "    host: 127.0.0.1\n"
        f"    port: {smtp.port}\n"
        "    from_address: pmhub <pmhub@example.com>\n"
        f"    username: {SMTP_USER}\n"
        f"    password: {SMTP_PASSWORD}\n"
        f"    ca_bundle: {tls.ca_pem}\n"
        "    timeout_seconds: 5\n"
        f"policies: [{policy}]\n"
    )
    text = write_config_text(config, sources)
    config.write_text(text + connectors)
    return config


def write_config_text(config: Path, sources: str) -> str:
    text = config.read_text().replace("admin:", f"{sources}admin:")
    return text.replace("lease_seconds: 5", "lease_seconds: 60")


def _at(moment: datetime) -> float:
    return moment.timestamp()


def seed_war_room(world: DocumentWorld) -> dict[str, str]:
    """What happened in the channel during the incident; the ts of each message."""
    slack = world.slack.fake
    slack.add_channel(WAR_ROOM, "major-incidents")
    slack.add_user(OBSERVER, "Olly Observer", "olly@example.com")
    ts: dict[str, str] = {}
    ts["alice_joins"] = slack.join(WAR_ROOM, SLACK_ALICE, at=_at(CREATED + timedelta(minutes=2)))[
        "ts"
    ]
    ts["ic"] = slack.add_message(
        WAR_ROOM,
        "I'm the IC for this one",
        user=SLACK_ALICE,
        at=_at(CREATED + timedelta(minutes=3)),
    )["ts"]
    ts["observer"] = slack.join(WAR_ROOM, OBSERVER, at=_at(CREATED + timedelta(minutes=6)))["ts"]
    ts["chatter"] = slack.add_message(
        WAR_ROOM, "looking at the graphs", user=SLACK_BOB, at=_at(ACKED + timedelta(minutes=10))
    )["ts"]
    ts["cause"] = slack.add_message(
        WAR_ROOM,
        "Root cause: the checkout config push at 08:50",
        user=SLACK_BOB,
        reactions={"pushpin": [SLACK_ALICE]},
        at=_at(ACKED + timedelta(minutes=30)),
    )["ts"]
    ts["rollback"] = slack.add_message(
        WAR_ROOM, "Rolled the config back", user=SLACK_ALICE, at=_at(ACKED + timedelta(hours=2))
    )["ts"]
    slack.pin(WAR_ROOM, ts["rollback"], by=SLACK_ALICE)
    ts["todo"] = slack.add_message(
        WAR_ROOM,
        "TODO: alert on checkout config drift",
        user=SLACK_BOB,
        at=_at(ACKED + timedelta(hours=3)),
    )["ts"]
    ts["recording"] = slack.add_message(
        WAR_ROOM,
        "call recording: <https://acme.zoom.us/rec/share/Xy12|zoom>",
        user=SLACK_ALICE,
        at=_at(RESOLVED - timedelta(minutes=5)),
    )["ts"]
    return ts


async def incident_lifecycle(daemon: Daemon, pd: FakePagerDuty) -> None:
    """triggered (by Carol) → acknowledged (Alice; Bob asked to be the Scribe) → resolved."""
    created, acked, resolved = _z(CREATED), _z(ACKED), _z(RESOLVED)
    pd.add_incident(INCIDENT, status="triggered", created_at=created, priority="P1")
    pd.add_log_entry(INCIDENT, "trigger_log_entry", created_at=created, agent=("user", PD_CAROL))
    await deliver(daemon, "incident.triggered", "triggered", created)
    people: dict[str, Any] = {
        "assignees": [(PD_ALICE, _z(CREATED + timedelta(seconds=5)))],
        "acknowledgers": [(PD_ALICE, acked)],
        "priority": "P1",
        "created_at": created,
    }
    pd.add_incident(INCIDENT, status="acknowledged", updated_at=acked, **people)
    _scribe_requested(pd)
    pd.add_log_entry(INCIDENT, "acknowledge_log_entry", created_at=acked, agent=("user", PD_ALICE))
    await deliver(daemon, "incident.acknowledged", "acknowledged", acked)
    pd.add_incident(
        INCIDENT, status="resolved", updated_at=resolved, resolved_at=resolved, **people
    )
    _scribe_requested(pd)
    pd.add_log_entry(INCIDENT, "resolve_log_entry", created_at=resolved, agent=("user", PD_ALICE))
    await deliver(daemon, "incident.resolved", "resolved", resolved)


def _scribe_requested(pd: FakePagerDuty) -> None:
    """Alice asked Bob, in PagerDuty, to join as the Scribe; he did."""
    pd.add_responder(
        INCIDENT,
        PD_BOB,
        requester=PD_ALICE,
        requested_at=_z(ACKED + timedelta(minutes=1)),
        message="Please join as Scribe",
        state="joined",
        updated_at=_z(ACKED + timedelta(minutes=3)),
    )


async def deliver(daemon: Daemon, event_type: str, status: str, at: str) -> None:
    body, headers = pagerduty_delivery(
        event_type,
        incident_id=INCIDENT,
        extra_data={"status": status, "priority": {"summary": "P1", "id": "PRI"}},
        occurred_at=at,
    )
    response = await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
    assert response.status == 202
    await settle(daemon)


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def documents_made(docs: FakeGoogleDocs) -> list[dict[str, Any]]:
    """The Google Docs in the folder that nobody trashed."""
    return [
        f
        for f in docs.files.values()
        if f["mimeType"] == "application/vnd.google-apps.document" and not f["trashed"]
    ]


async def interact(daemon: Daemon, payload: dict[str, Any], clock: Clock) -> ClientResponse:
    body, headers = _signed({"payload": json.dumps(payload)}, clock())
    return await daemon.client.post("/webhooks/slack/interactions", data=body, headers=headers)
