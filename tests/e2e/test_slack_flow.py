"""The whole daemon with the PagerDuty fake (TLS) and the Slack fake, over HTTP.

A SEV-1 resolved in PagerDuty ends in Slack as exactly one DM to the owner and one
announcement in the incidents channel, whatever Slack's faults; a minor incident
says nothing. `/postmortem` commands arrive signed on the real endpoint, and their
answers come back through the response_url the Slack fake serves.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as dt_time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from hub.model.postmortem import Meeting
from hub.store.audit import list_entries
from hub.store.state import load_postmortem, save_postmortem
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
from tests.support.daemon import (
    Daemon,
    running_daemon,
    settle,
    shifted_clock,
    shorten_vendor_timeout,
    write_config,
)
from tests.support.signing import pagerduty_delivery
from tests.support.tls import LoopbackTls

INCIDENT = "PGR0VU2"
INCIDENT_ID = f"pagerduty:{INCIDENT}"
SLACK_SECRET = "slack-signing-secret-e2e-0123456789"
POLICIES = Path(__file__).parents[2] / "config" / "policies" / "pagerduty-process.yaml"


def _friday_after(moment: datetime) -> datetime:
    day = moment.date() + timedelta(days=1)
    while day.weekday() != 4:  # Friday
        day += timedelta(days=1)
    return datetime.combine(day, dt_time(15, 0), UTC)


# "Now" is pinned to a Friday *ahead* of real time: a few store writes take their time
# from the system clock, and those must be due for the daemon's (shifted) clock too.
# The incident was resolved the day before (Thursday 14:05 in New York), so neither the
# meeting deadline nor any reminder is due yet.
NOW = _friday_after(datetime.now(UTC) + timedelta(days=1))
RESOLVED = NOW - timedelta(hours=19, minutes=55)
CREATED = RESOLVED - timedelta(hours=5, minutes=5)
ACKED = CREATED + timedelta(minutes=4)


def _z(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _config(
    tmp_path: Path, db_url: str, pd: Served[FakePagerDuty], slack: Served[FakeSlack], tls: Path
) -> Path:
    config = write_config(tmp_path, db_url)
    sources = (
        f"    api_token: {PD_TOKEN}\n"
        f"    base_url: {pd.base_url}\n"
        f"    ca_bundle: {tls}\n"
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
        f"policies: [{POLICIES}]\n"
    )
    text = config.read_text().replace("admin:", f"{sources}admin:")
    # Slack paces posts to one channel (a second apart), so an effect may take seconds:
    # a long lease keeps the worker's renewal (which reads the system clock, not the
    # shifted one) out of these tests.
    text = text.replace("lease_seconds: 5", "lease_seconds: 60")
    config.write_text(text + connectors)
    return config


async def _deliver(daemon: Daemon, event_type: str, status: str, at: str, priority: str) -> None:
    body, headers = pagerduty_delivery(
        event_type,
        incident_id=INCIDENT,
        extra_data={"status": status, "priority": {"summary": priority, "id": "PRI"}},
        occurred_at=at,
    )
    response = await daemon.client.post("/webhooks/pagerduty", data=body, headers=headers)
    assert response.status == 202
    await settle(daemon)


async def _incident_lifecycle(daemon: Daemon, pd: FakePagerDuty, priority: str = "P1") -> None:
    """triggered (by Carol, who has no Slack) → acknowledged (Alice) → resolved."""
    created = _z(CREATED)
    pd.add_incident(INCIDENT, status="triggered", created_at=created, priority=priority)
    pd.add_log_entry(INCIDENT, "trigger_log_entry", created_at=created, agent=("user", PD_CAROL))
    await _deliver(daemon, "incident.triggered", "triggered", created, priority)
    # Bob was paged too: pmhub knows him by email, so a Slack mention of him matches.
    assignees = [(PD_ALICE, _z(CREATED + timedelta(seconds=5))), (PD_BOB, _z(ACKED))]
    acknowledgers = [(PD_ALICE, _z(ACKED))]
    pd.add_incident(
        INCIDENT,
        status="acknowledged",
        created_at=created,
        updated_at=_z(ACKED),
        priority=priority,
        assignees=assignees,
        acknowledgers=acknowledgers,
    )
    pd.add_log_entry(
        INCIDENT,
        "acknowledge_log_entry",
        created_at=_z(ACKED),
        agent=("user", PD_ALICE),
    )
    await _deliver(daemon, "incident.acknowledged", "acknowledged", _z(ACKED), priority)
    resolved = _z(RESOLVED)
    pd.add_incident(
        INCIDENT,
        status="resolved",
        created_at=created,
        updated_at=resolved,
        resolved_at=resolved,
        priority=priority,
        assignees=assignees,
        acknowledgers=acknowledgers,
    )
    pd.add_log_entry(INCIDENT, "resolve_log_entry", created_at=resolved, agent=("user", PD_ALICE))
    await _deliver(daemon, "incident.resolved", "resolved", resolved, priority)


def _keys(slack: FakeSlack, channel: str | None) -> list[str]:
    """The effect keys of pmhub's posts in a channel (a user's DM when given a user id)."""
    if channel is None:
        return []
    target = slack.dms.get(channel, channel) if channel.startswith("U") else channel
    return [key for m in slack.posts(target) if (key := effect_key_of(m))]


def _owner_dms(slack: FakeSlack, user: str) -> list[str]:
    return [k for k in _keys(slack, user) if ":owner:notify:" in k and k.endswith("/dm")]


def _announcements(slack: FakeSlack) -> list[str]:
    return [k for k in _keys(slack, INCIDENTS_CHANNEL) if k.endswith(":owner:announce")]


def _announced(slack: FakeSlack) -> list[dict[str, object]]:
    keys = set(_announcements(slack))
    return [m for m in slack.posts(INCIDENTS_CHANNEL) if effect_key_of(m) in keys]


def _every_key_once(slack: FakeSlack) -> None:
    """No effect was posted twice where it was posted (a new owner may get it anew)."""
    for channel in slack.messages:
        counts = Counter(_keys(slack, channel))
        assert [k for k, n in counts.items() if n > 1] == [], channel


@pytest.fixture
def config(
    tmp_path: Path,
    db_url: str,
    pagerduty_fake: Served[FakePagerDuty],
    slack_fake: Served[FakeSlack],
    loopback_tls: LoopbackTls,
) -> Path:
    return _config(tmp_path, db_url, pagerduty_fake, slack_fake, loopback_tls.ca_pem)


async def test_sev1_gives_one_owner_dm_and_one_announcement(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    slack = slack_fake.fake
    async with running_daemon(config, clock=shifted_clock(NOW)) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)

    # Alice is the IC (first acknowledger): her DM, and the channel hears who owns it.
    [dm] = _owner_dms(slack, SLACK_ALICE)
    assert dm == f"pm:{INCIDENT_ID}:owner:notify:email:alice@example.com/dm"
    [announcement] = _announcements(slack)
    [posted] = [m for m in slack.posts(INCIDENTS_CHANNEL) if effect_key_of(m) == announcement]
    assert f"<@{SLACK_ALICE}>" in json.dumps(posted["blocks"])
    assert _owner_dms(slack, SLACK_BOB) == []
    # SEV-1: the owner is also asked for the external message customers will read, in
    # that DM (issue 16), not in a second message.
    assert not any(k.endswith(":external-message:request") for k in _keys(slack, SLACK_ALICE))
    [shown] = [m for m in slack.posts(slack.dms[SLACK_ALICE]) if effect_key_of(m) == dm]
    assert "An external message for customers is needed" in json.dumps(shown["blocks"])
    _every_key_once(slack)


async def test_minor_incident_says_nothing_in_slack(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    async with running_daemon(config, clock=shifted_clock(NOW)) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake, priority="P4")
    assert slack_fake.fake.calls["chat.postMessage"] == 0
    assert slack_fake.fake.messages[INCIDENTS_CHANNEL] == []


@pytest.mark.parametrize(
    "inject",
    [
        pytest.param(lambda s: s.fail(503, method="chat.postMessage"), id="5xx"),
        pytest.param(lambda s: s.hang(method="chat.postMessage"), id="timeout"),
        pytest.param(lambda s: s.rate_limit(1, method="chat.postMessage"), id="429"),
        pytest.param(lambda s: s.drop_after_commit(method="chat.postMessage"), id="dropped"),
        pytest.param(
            lambda s: s.drop_after_commit(method="chat.postMessage", times=3), id="dropped-x3"
        ),
    ],
)
async def test_every_slack_fault_still_ends_in_exactly_one_dm(
    config: Path,
    pagerduty_fake: Served[FakePagerDuty],
    slack_fake: Served[FakeSlack],
    inject: Callable[[FakeSlack], None],
) -> None:
    slack = slack_fake.fake
    inject(slack)
    shorten_vendor_timeout(config, "slack")  # the hang costs one short timeout
    async with running_daemon(config, clock=shifted_clock(NOW)) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)
        effects = await daemon.client.get(
            "/api/v1/jobs?kind=effect&state=dead", headers=daemon.admin_headers()
        )
        assert (await effects.json())["jobs"] == []

    assert any(e.fault is not None for e in slack.exchanges), "the fault was hit"
    assert len(_owner_dms(slack, SLACK_ALICE)) == 1
    assert len(_announcements(slack)) == 1
    _every_key_once(slack)


# -- /postmortem over the signed endpoint ---------------------------------------------


def _signed(form: dict[str, str], now: datetime) -> tuple[bytes, dict[str, str]]:
    body = urlencode(form).encode()
    stamp = str(int(now.timestamp()))
    digest = hmac.new(SLACK_SECRET.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest.hexdigest()}",
    }
    return body, headers


class Slash:
    """Types `/postmortem …` as a Slack user, and reads what pmhub answered."""

    def __init__(self, daemon: Daemon, slack: Served[FakeSlack], clock: Callable[[], datetime]):
        self.daemon, self.slack, self.clock = daemon, slack, clock

    async def __call__(self, text: str, user: str = SLACK_ALICE) -> tuple[str, list[str]]:
        """(the immediate HTTP answer, the texts posted to the response_url)."""
        url = self.slack.fake.response_url(self.slack.base_url)
        form = {
            "token": "ignored",
            "team_id": "T0PMHUB001",
            "channel_id": "C0SOMEWHERE",
            "user_id": user,
            "user_name": "alice" if user == SLACK_ALICE else "bob",
            "command": "/postmortem",
            "text": text,
            "response_url": url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
        body, headers = _signed(form, self.clock())
        response = await self.daemon.client.post(
            "/webhooks/slack/commands", data=body, headers=headers
        )
        assert response.status == 200
        immediate = await response.json()
        assert immediate["response_type"] == "ephemeral"
        await settle(self.daemon)
        hook = url.split("/commands/", 1)[1]
        replies = [json.dumps(r) for r in self.slack.fake.replies[hook]]
        return immediate["text"], replies

    async def press(self, action_id: str, user: str) -> list[str]:
        url = self.slack.fake.response_url(self.slack.base_url)
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": "bob"},
            "channel": {"id": self.slack.fake.dms.get(user, "D0")},
            "response_url": url,
            "trigger_id": "1.2.3",
            "actions": [{"action_id": action_id, "value": INCIDENT_ID, "type": "button"}],
        }
        body, headers = _signed({"payload": json.dumps(payload)}, self.clock())
        response = await self.daemon.client.post(
            "/webhooks/slack/interactions", data=body, headers=headers
        )
        assert response.status == 200
        await settle(self.daemon)
        return [json.dumps(r) for r in self.slack.fake.replies[url.split("/commands/", 1)[1]]]


async def test_postmortem_commands_over_the_signed_endpoint(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, shifted_clock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        engine = daemon.runtime.engine
        slash = Slash(daemon, slack_fake, clock)

        _, [status] = await slash("status PD-1042")
        assert "Draft" in status
        assert f"<@{SLACK_ALICE}>" in status

        # A refused transition is answered with the guard's reason.
        _, [refused] = await slash(f"review {INCIDENT_ID}")
        assert "the meeting is not scheduled" in refused

        # Unknown verbs and bad mentions are answered at once, with the usage.
        immediate, replies = await slash("frobnicate PD-1042")
        assert "I don't know `frobnicate`" in immediate
        assert "/postmortem` commands" in immediate
        assert replies == []
        immediate, replies = await slash("owner @bob PD-1042")
        assert "is not a Slack mention" in immediate
        assert replies == []

        # Hand-off to Bob: found by his Slack id among the incident's people (with email).
        _, [handed] = await slash(f"owner <@{SLACK_BOB}|bob> PD-1042")
        assert "Bob Okafor now owns" in handed
        assert _owner_dms(slack, SLACK_BOB) == [
            f"pm:{INCIDENT_ID}:owner:notify:email:bob@example.com/dm"
        ]
        # One announcement, edited to name the new owner (not a second one).
        [announced] = _announced(slack)
        assert f"<@{SLACK_BOB}>" in json.dumps(announced["blocks"])
        assert "edited" in announced
        _, [again] = await slash(f"owner <@{SLACK_BOB}|bob> PD-1042")
        assert "already owns" in again

        # Bob's Accept button: he is the owner, so nobody is re-told; his DM says so.
        [thanks] = await slash.press("pm_accept", SLACK_BOB)
        assert "the post-mortem is yours" in thanks
        dm_key = f"pm:{INCIDENT_ID}:owner:notify:email:bob@example.com/dm"
        [bob_dm] = [m for m in slack.posts(slack.dms[SLACK_BOB]) if effect_key_of(m) == dm_key]
        assert "Accepted" in json.dumps(bob_dm["blocks"])

        _, [p1] = await slash(f"followup P1 <@{SLACK_BOB}|bob> Alert on checkout 5xx PD-1042")
        assert "(P1) added" in p1
        _, [p2] = await slash("followup P2 Tidy the dashboards PD-1042")
        assert "(P2) added" in p2
        await settle(daemon)
        flags = [k for k in _keys(slack, SLACK_BOB) if k.endswith(":flag")]
        assert len(flags) == 1, "the P2 is flagged to the owner, not filed"

        _, [lint] = await slash("message We had an outage at checkout PD-1042")
        assert "outage" in lint
        assert "Can't save the external message" in lint
        _, [saved] = await slash("message Some checkouts failed for 5 hours PD-1042")
        assert "external message saved" in saved

        _, [too_soon] = await slash("reviewed PD-1042")
        assert "cannot move from Draft to Reviewed" in too_soon

        # The meeting gets booked (the calendar connector's part, written here directly).
        pm = await load_postmortem(engine, INCIDENT_ID)
        assert pm is not None
        assert pm.follow_ups
        assert pm.external_message
        start = clock() + timedelta(days=1)
        meeting = Meeting(start=start, end=start + timedelta(minutes=30), calendar="PM")
        await save_postmortem(engine, pm.model_copy(update={"meeting": meeting}))

        _, [in_review] = await slash("review PD-1042", user=SLACK_BOB)
        assert "In Review" in in_review
        _, [not_held] = await slash("reviewed PD-1042", user=SLACK_BOB)
        assert "the meeting has not started yet" in not_held
        _, [overridden] = await slash("reviewed --override reviewed async PD-1042", SLACK_BOB)
        assert "reviewed async" in overridden
        _, [not_closed] = await slash("close PD-1042", user=SLACK_BOB)
        assert "the external message is not published yet" in not_closed

        entries = await list_entries(engine, INCIDENT_ID, limit=1000)
    transitions = [e for e in entries if e.action in ("transition", "transition_refused")]
    assert [(e.action, e.detail["to"]) for e in transitions] == [
        ("transition_refused", "in_review"),
        ("transition_refused", "reviewed"),
        ("transition", "in_review"),
        ("transition_refused", "reviewed"),
        ("transition", "reviewed"),
        ("transition_refused", "closed"),
    ]
    assert {e.rule for e in transitions} == {"major"}
    assert transitions[0].detail["guards"] == ["meeting_scheduled"]
    assert transitions[4].detail["override"] is True
    assert transitions[4].actor == "email:bob@example.com"
    assert any(e.action == "external_message_set_refused" for e in entries)
    _every_key_once(slack)
    # Every command was answered once (Slack allows five per response_url).
    assert all(len(replies) <= 1 for replies in slack.replies.values())
