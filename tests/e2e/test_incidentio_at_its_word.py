"""Issue 13, incident.io taken at its word: the whole daemon, the incident.io and Slack fakes.

PostHog's process runs in incident.io (seeds 000, 001). Signed incident.io webhooks go
in; what pmhub does is read back from the fakes:

* marking the post-mortem complete there closes it here, through the guards, and the
  outcome is posted to the incidents channel once; when a guard holds it, the owner
  hears what, once, and it closes as soon as nothing does;
* closing it here (the admin API) shares the outcome once and writes `in_review`, then
  `completed`, to incident.io's post-mortem document;
* a declined incident needs no post-mortem, but the owner is asked "But wait!";
* nobody to own it: the incidents channel hears at once, with a button; whoever presses
  it owns the post-mortem, and the message then says so;
* responders come from role assignments and memberships (with the member's email from
  incident.io's user API), so invitations have people.
"""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.common.fakeserver import start_fake
from connectors.incidentio.fake import FakeIncidentIo
from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from hub.intake.signing import signed_headers
from tests.e2e.conftest import INCIDENTS_CHANNEL, SLACK_ALICE, SLACK_BOB, Served
from tests.e2e.test_keeping_true import MovableClock
from tests.e2e.test_slack_flow import SLACK_SECRET, _signed
from tests.support.daemon import Daemon, running_daemon, settle, write_config

POLICIES = Path(__file__).parents[2] / "config" / "policies"
SVIX = "whsec_" + base64.b64encode(b"pmhub-incidentio-e2e-secret-0001").decode()
API_KEY = "iio-e2e-key"
NOW = datetime(2030, 11, 14, 15, 0, tzinfo=UTC)  # a Thursday
INCIDENT = "01INC45SEARCHDELAYED000001"
PM = f"pm:incidentio:{INCIDENT}"
DOCUMENT = "01PMDOC45000000000000000001"
LISA, DAVE = "01LISA0000000000000000000", "01DAVE0000000000000000000"


@pytest.fixture
async def incidentio() -> AsyncIterator[Served[FakeIncidentIo]]:
    fake = FakeIncidentIo(api_key=API_KEY)
    fake.add_user(LISA, "Alice Chen", "alice@example.com", slack_user_id=SLACK_ALICE)
    fake.add_user(DAVE, "Dave Member", "dave@example.com")
    runner, url = await start_fake(fake.make_app())
    try:
        yield Served(fake, url)
    finally:
        await runner.cleanup()


def _config(
    tmp_path: Path, db_url: str, io: Served[FakeIncidentIo], slack: Served[FakeSlack], policy: str
) -> Path:
    config = write_config(tmp_path, db_url)
    sources = (
        "  incidentio:\n"
        f'    webhook_secrets: ["{SVIX}"]\n'
        f"    api_key: {API_KEY}\n"
        f"    base_url: {io.base_url}\n"
        "  slack:\n"
        f"    signing_secret: {SLACK_SECRET}\n"
    )
    text = config.read_text().replace("admin:", f"{sources}admin:")
    text += (
        "connectors:\n"
        "  slack:\n"
        f"    bot_token: {slack.fake.token}\n"
        f"    base_url: {slack.base_url}/api/\n"
        f"    incidents_channel: {INCIDENTS_CHANNEL}\n"
        f"policies: [{POLICIES / policy}]\n"
    )
    config.write_text(text.replace("lease_seconds: 5", "lease_seconds: 60"))
    return config


def _resolved(
    io: FakeIncidentIo,
    *,
    severity: str,
    roles: dict[str, str],
    category: str = "learning",
    resolved: datetime = NOW - timedelta(hours=1),
) -> None:
    incident = io.add_incident(
        INCIDENT,
        reference="INC-45",
        name="Search results delayed",
        status=("Resolved" if category == "learning" else category.title(), category),
        severity=(severity, 2),
        roles=roles,
        created_at=(resolved - timedelta(hours=2)).isoformat(),
        updated_at=resolved.isoformat(),
    )
    stamp = {"id": "ts1", "name": "Resolved at", "rank": 1}
    incident["incident_timestamp_values"] = [
        {"incident_timestamp": stamp, "value": {"value": resolved.isoformat()}}
    ]


async def _deliver(daemon: Daemon, event_type: str, payload: dict[str, Any]) -> None:
    body = json.dumps({"event_type": event_type, event_type: payload}).encode()
    headers = signed_headers("incidentio", SVIX, body, daemon.runtime.clock())
    response = await daemon.client.post("/webhooks/incidentio", data=body, headers=headers)
    assert response.status == 202, await response.text()
    await settle(daemon)


async def _updated(daemon: Daemon, io: FakeIncidentIo) -> None:
    await _deliver(daemon, "public_incident.incident_updated_v2", io.incidents[INCIDENT])


async def _completed(daemon: Daemon, io: FakeIncidentIo) -> None:
    document = io.documents[DOCUMENT]
    document["status"] = "completed"
    payload = {
        "new_status": "complete",
        "previous_status": "review",
        "postmortem_document": document,
    }
    await _deliver(daemon, "public_incident.postmortem_document_status_updated_v1", payload)


def posts(slack: FakeSlack, where: str, key: str) -> list[dict[str, Any]]:
    channel = slack.dms.get(where, where)
    return [m for m in slack.posts(channel) if (effect_key_of(m) or "").startswith(key)]


def shown(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks", [])) + str(message.get("text", ""))


async def _get(daemon: Daemon, path: str) -> dict[str, Any]:
    response = await daemon.client.get(path, headers=daemon.admin_headers())
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def _dead(daemon: Daemon) -> list[Any]:
    jobs: list[Any] = (await _get(daemon, "/api/v1/jobs?state=dead"))["jobs"]
    return jobs


async def _admin(daemon: Daemon, method: str, path: str, body: dict[str, Any]) -> int:
    call = daemon.client.put if method == "PUT" else daemon.client.post
    response = await call(
        f"/api/v1/postmortems/{PM}{path}", json=body, headers=daemon.admin_headers()
    )
    await settle(daemon)
    return response.status


async def test_incidentio_complete_closes_the_post_mortem_and_shares_the_outcome_once(
    tmp_path: Path,
    db_url: str,
    incidentio: Served[FakeIncidentIo],
    slack_fake: Served[FakeSlack],
) -> None:
    io, slack = incidentio.fake, slack_fake.fake
    _resolved(io, severity="Minor", roles={"Incident Lead": LISA})
    io.add_postmortem_document(INCIDENT, DOCUMENT)
    config = _config(tmp_path, db_url, incidentio, slack_fake, "posthog-process.yaml")
    async with running_daemon(config, clock=MovableClock(NOW)) as daemon:
        await _updated(daemon, io)
        # Marked complete in incident.io before anyone said there are no follow-ups:
        # a guard holds it, and the owner hears what, once.
        await _completed(daemon, io)
        held = await _get(daemon, f"/api/v1/postmortems/{PM}")
        [blocked] = posts(slack, SLACK_ALICE, f"{PM}:incidentio:blocked@")
        told = shown(blocked)  # the fake edits the message in place later
        # Seed 001: action items are up to the individuals.
        none = {"reason": "learnings are up to each of us (seed 001)"}
        assert await _admin(daemon, "PUT", "/follow-ups/none", none) == 200
        closed = await _get(daemon, f"/api/v1/postmortems/{PM}")
        audit = (await _get(daemon, f"/api/v1/postmortems/{PM}/audit"))["entries"]
        dead = await _dead(daemon)

    assert held["status"] == "reviewed"  # as far as the guards allowed
    assert "no follow-ups recorded" in told
    assert closed["status"] == "closed"
    moves = [(e["detail"]["from"], e["detail"]["to"]) for e in audit if e["action"] == "transition"]
    assert moves == [("draft", "in_review"), ("in_review", "reviewed"), ("reviewed", "closed")]
    assert all(e["actor"] == "name:pmhub" for e in audit if e["action"] == "transition")
    # The outcome in #incidents, once (seed 000: "when you mark the post-mortem as complete").
    [outcome] = posts(slack, INCIDENTS_CHANNEL, f"{PM}:outcome:share")
    assert "Post-mortem closed" in shown(outcome)
    assert "learnings are up to each of us" in shown(outcome)
    # The owner's note is edited to say it is done; incident.io is not written back to
    # (it said completed itself).
    [blocked] = posts(slack, SLACK_ALICE, f"{PM}:incidentio:blocked@")
    assert "has followed: it is closed" in shown(blocked)
    assert not [e for e in io.exchanges if e.method == "PUT"]
    assert dead == []


async def test_closing_in_pmhub_writes_incidentio_status_and_shares_the_outcome_once(
    tmp_path: Path,
    db_url: str,
    incidentio: Served[FakeIncidentIo],
    slack_fake: Served[FakeSlack],
) -> None:
    io, slack = incidentio.fake, slack_fake.fake
    _resolved(io, severity="Minor", roles={"Incident Lead": LISA})
    io.add_postmortem_document(INCIDENT, DOCUMENT)
    config = _config(tmp_path, db_url, incidentio, slack_fake, "posthog-process.yaml")
    async with running_daemon(config, clock=MovableClock(NOW)) as daemon:
        await _updated(daemon, io)
        assert await _admin(daemon, "PUT", "/follow-ups/none", {"reason": "nothing to do"}) == 200
        assert await _admin(daemon, "POST", "/transitions", {"to": "in_review"}) == 200
        assert io.documents[DOCUMENT]["status"] == "in_review"
        assert await _admin(daemon, "POST", "/transitions", {"to": "closed"}) == 200
        # The same close asked again (a retried request) changes nothing.
        assert await _admin(daemon, "POST", "/transitions", {"to": "closed"}) == 409
        dead = await _dead(daemon)

    puts = [e.body for e in io.exchanges if e.method == "PUT"]
    assert puts == [{"status": "in_review"}, {"status": "completed"}]
    assert io.documents[DOCUMENT]["status"] == "completed"
    [outcome] = posts(slack, INCIDENTS_CHANNEL, f"{PM}:outcome:share")
    assert "INC-45" in shown(outcome)
    assert dead == []


async def test_declined_incident_needs_no_post_mortem_but_the_owner_is_asked_but_wait(
    tmp_path: Path,
    db_url: str,
    incidentio: Served[FakeIncidentIo],
    slack_fake: Served[FakeSlack],
) -> None:
    io, slack = incidentio.fake, slack_fake.fake
    _resolved(io, severity="Critical", roles={"Incident Lead": LISA}, category="declined")
    config = _config(tmp_path, db_url, incidentio, slack_fake, "posthog-process.yaml")
    async with running_daemon(config, clock=MovableClock(NOW)) as daemon:
        await _updated(daemon, io)
        await _updated(daemon, io)  # the same delivery again: asked once
        response = await daemon.client.get(
            f"/api/v1/postmortems/{PM}", headers=daemon.admin_headers()
        )
        dead = await _dead(daemon)

    assert response.status == 404, "no post-mortem is created for a declined incident"
    [question] = posts(slack, SLACK_ALICE, f"pm:incidentio:{INCIDENT}:optional:ask:")
    assert "false positive" in shown(question)
    assert posts(slack, INCIDENTS_CHANNEL, "pm:") == []
    assert dead == []


async def test_nobody_owns_it_the_channel_hears_at_once_with_a_button_to_take_it(
    tmp_path: Path,
    db_url: str,
    incidentio: Served[FakeIncidentIo],
    slack_fake: Served[FakeSlack],
) -> None:
    """No lead, no acknowledger, no on-call, raised by an alert: nobody to own it."""
    io, slack = incidentio.fake, slack_fake.fake
    _resolved(io, severity="Major", roles={})
    config = _config(tmp_path, db_url, incidentio, slack_fake, "pagerduty-process.yaml")
    clock = MovableClock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await _updated(daemon, io)
        [report] = posts(slack, INCIDENTS_CHANNEL, f"{PM}:owner:none")
        assert "Nobody owns the post-mortem" in shown(report)
        press = slack.press_button(
            slack_fake.base_url, SLACK_BOB, INCIDENTS_CHANNEL, report["ts"], "pm_take"
        )
        body, headers = _signed({"payload": json.dumps(press)}, clock())
        response = await daemon.client.post(
            "/webhooks/slack/interactions", data=body, headers=headers
        )
        assert response.status == 200
        await settle(daemon)
        pm = await _get(daemon, f"/api/v1/postmortems/{PM}")
        dead = await _dead(daemon)

    [designation] = pm["designations"]
    assert designation["person"]["slack_id"] == SLACK_BOB
    # The one report, edited to say who took it; Bob got his owner DM.
    [report] = posts(slack, INCIDENTS_CHANNEL, f"{PM}:owner:none")
    assert "edited" in report
    assert f"<@{SLACK_BOB}> took the post-mortem" in shown(report)
    assert "pm_take" not in shown(report)
    assert posts(slack, SLACK_BOB, f"{PM}:owner:notify:")
    assert dead == []


async def test_responders_come_from_role_assignments_and_memberships(
    tmp_path: Path,
    db_url: str,
    incidentio: Served[FakeIncidentIo],
    slack_fake: Served[FakeSlack],
) -> None:
    io = incidentio.fake
    _resolved(io, severity="Major", roles={"Incident Lead": LISA})
    config = _config(tmp_path, db_url, incidentio, slack_fake, "posthog-process.yaml")
    async with running_daemon(config, clock=MovableClock(NOW)) as daemon:
        await _updated(daemon, io)
        granted = {"incident_id": INCIDENT, "user_id": DAVE, "actor_user_id": LISA}
        await _deliver(daemon, "private_incident.membership_granted_v1", granted)
        incident = await _get(daemon, f"/api/v1/incidents/incidentio:{INCIDENT}")
        pm = await _get(daemon, f"/api/v1/postmortems/{PM}")

    responders = {r["person"]["email"] for r in incident["responders"]}
    assert responders == {"alice@example.com", "dave@example.com"}
    assert ("GET", f"/v2/users/{DAVE}") in io.calls
    invitees = pm["plan"]["meeting"]["invitees"]
    assert "dave@example.com" in invitees
    assert "responders" not in pm["plan"]["meeting"]["unresolved_roles"]
