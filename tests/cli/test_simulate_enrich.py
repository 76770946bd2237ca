"""`pmhub simulate --enrich` previews the post-mortem document for the vendors' own example
payloads: the history read from the PagerDuty, incident.io and Slack fakes (read only),
assembled into the timeline, the people and the TODO candidates.

pmhub runs as a process (as a person runs it) while this test's loop serves the fakes.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from connectors.common.fakeserver import start_fake
from connectors.incidentio.fake import FakeIncidentIo
from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.fake import FakeSlack
from tests.support.tls import LoopbackTls, loopback_tls

__all__ = ["loopback_tls"]
pytestmark = pytest.mark.slow

FIXTURES = Path(__file__).parents[1] / "fixtures"
PD_EXAMPLE = FIXTURES / "pagerduty_webhook_examples" / "envelope_incident.priority_updated.json"
IO_EXAMPLE = FIXTURES / "incidentio_webhook_examples" / "public_incident.incident_created_v2.json"
POLICY = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"
NOW = "2020-10-03T10:00:00-04:00"
WAR_ROOM, IO_CHANNEL = "C0WARROOM1", "C02AW36C1M5"
PD_TOKEN, IO_KEY = "pd-token-simulate", "iio-key-simulate"


def _unix(text: str) -> float:
    from datetime import datetime  # noqa: PLC0415 - one use

    return datetime.fromisoformat(text).timestamp()


async def _simulate(config: Path, *events: str, as_json: bool = True) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "hub",
        "simulate",
        "--config",
        str(config),
        "--now",
        NOW,
        "--enrich",
        *(["--json"] if as_json else []),
        *events,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return out.decode()


async def test_enrich_previews_the_document_of_the_vendor_examples(
    tmp_path: Path, loopback_tls: LoopbackTls
) -> None:
    pd = FakePagerDuty(token=PD_TOKEN)
    pd.add_user("PALICE1", "Alice Chen", "alice@example.com")
    pd.add_user("PBOB001", "Bob Okafor", "bob@example.com")
    pd.add_incident(
        "PGR0VU2",
        status="resolved",
        created_at="2020-10-02T18:00:00Z",
        resolved_at="2020-10-02T19:30:00Z",
        acknowledgers=[("PALICE1", "2020-10-02T18:04:00Z")],
    )
    pd.add_log_entry(
        "PGR0VU2", "trigger_log_entry", created_at="2020-10-02T18:00:00Z", agent=("service", "PSVC")
    )
    pd.add_log_entry(
        "PGR0VU2",
        "acknowledge_log_entry",
        created_at="2020-10-02T18:04:00Z",
        agent=("user", "PALICE1"),
    )
    pd.add_responder(
        "PGR0VU2",
        "PBOB001",
        requester="PALICE1",
        requested_at="2020-10-02T18:06:00Z",
        message="Can you be the scribe?",
    )
    slack = FakeSlack()
    slack.add_user("U0ALICE001", "Alice Chen", "alice@example.com")
    slack.add_user("U0BOB00001", "Bob Okafor", "bob@example.com")
    slack.add_channel(WAR_ROOM, "major-incidents")
    pinned = slack.add_message(
        WAR_ROOM,
        "Rolled back the 14:00 deploy",
        user="U0ALICE001",
        at=_unix("2020-10-02T18:30:00+00:00"),
    )
    slack.pin(WAR_ROOM, pinned["ts"], by="U0ALICE001")
    slack.add_message(
        WAR_ROOM,
        "action item: add a canary for deploys",
        user="U0BOB00001",
        at=_unix("2020-10-02T18:40:00+00:00"),
    )
    slack.add_channel(IO_CHANNEL, "inc-123-our-database-is-sad")
    slack.add_message(
        IO_CHANNEL,
        "TODO: page the DBA on-call",
        user="U0BOB00001",
        at=_unix("2021-08-17T13:40:00+00:00"),
    )
    io = FakeIncidentIo(api_key=IO_KEY)
    # As the API has it now (newer than the example delivery): a Major incident.
    incident = io.add_incident(
        severity=("Major", 2), created_at="2021-08-17T13:28:57Z", updated_at="2021-08-17T14:00:00Z"
    )
    incident["call_url"] = "https://zoom.us/foo"
    io.add_activity(
        "01FDAG4SAP5TYPT98WGR2N7W91",
        "status_change",
        "Status changed from Triage to Investigating",
        occurred_at="2021-08-17T13:35:00Z",
        content={"new_status": io.status("Investigating", "live")},
    )
    runners = []
    try:
        pd_runner, pd_url = await start_fake(pd.make_app(), ssl_context=loopback_tls.server_context)
        runners.append(pd_runner)
        slack_runner, slack_url = await start_fake(slack.make_app())
        runners.append(slack_runner)
        io_runner, io_url = await start_fake(io.make_app())
        runners.append(io_runner)
        policy = tmp_path / "policy.yaml"
        text = POLICY.read_text().replace("  # channel: C0123456789\n", f"  channel: {WAR_ROOM}\n")
        policy.write_text(text)
        config = tmp_path / "pmhub.yaml"
        config.write_text(
            "sources:\n"
            "  pagerduty:\n"
            "    webhook_secrets: [pd-simulate-secret]\n"
            f"    api_token: {PD_TOKEN}\n"
            f"    base_url: {pd_url}\n"
            f"    ca_bundle: {loopback_tls.ca_pem}\n"
            "  incidentio:\n"
            "    webhook_secrets: [whsec_c2ltdWxhdGVzaW11bGF0ZQ==]\n"
            f"    api_key: {IO_KEY}\n"
            f"    base_url: {io_url}\n"
            "connectors:\n"
            "  slack:\n"
            f"    bot_token: {slack.token}\n"
            f"    base_url: {slack_url}/api/\n"
            "    incidents_channel: C0INCIDNTS\n"
            f"policies: [{policy}]\n"
        )
        events = (f"pagerduty:{PD_EXAMPLE}", f"incidentio:{IO_EXAMPLE}")
        result: dict[str, Any] = json.loads(await _simulate(config, *events))
        human = await _simulate(config, *events, as_json=False)
    finally:
        for runner in reversed(runners):
            await runner.cleanup()

    plans = {i["id"]: i["postmortem"] for i in result["incidents"]}
    pd_doc = plans["pagerduty:PGR0VU2"]["document"]
    assert pd_doc["tool"] == "google_docs"
    assert pd_doc["read"] == ["pagerduty", "slack"]
    texts = [entry["text"] for entry in pd_doc["timeline"]]
    assert texts[:2] == ["Trigger", "Acknowledge"]
    assert "Rolled back the 14:00 deploy" in texts
    assert "action item: add a canary for deploys" not in texts  # not a key moment
    assert pd_doc["incident_commander"]["email"] == "alice@example.com"
    assert pd_doc["scribe"]["email"] == "bob@example.com"
    assert pd_doc["scribe"]["how"] == "a PagerDuty responder request"
    assert [c["text"] for c in pd_doc["todo_candidates"]] == [
        "action item: add a canary for deploys"
    ]
    io_doc = plans["incidentio:01FDAG4SAP5TYPT98WGR2N7W91"]["document"]
    assert io_doc["read"] == ["incidentio", "slack"]
    assert "Status changed from Triage to Investigating" in [e["text"] for e in io_doc["timeline"]]
    assert [c["text"] for c in io_doc["todo_candidates"]] == ["TODO: page the DBA on-call"]
    assert {"name": "Call", "url": "https://zoom.us/foo"} in io_doc["links"]
    assert "  document (google_docs, template pagerduty):" in human
    assert "    scribe: Bob Okafor (from a PagerDuty responder request)" in human
    assert "      - TODO: page the DBA on-call (U0BOB00001)" in human  # not known by email
    # Nothing was written anywhere: the fakes saw reads only.
    assert not [e for e in pd.exchanges if e.method != "GET"]
    assert slack.calls["chat.postMessage"] == 0
