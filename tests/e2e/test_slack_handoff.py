"""Hand off… in Slack, end to end: the whole daemon, the PagerDuty fake and the Slack fake.

The owner presses **Hand off…** on the DM pmhub sent them (the Slack fake builds the
press from that very message, with a trigger id it issued); pmhub opens the hand-off
modal with `views.open`; the owner picks the new owner and submits; Slack gets an
empty 200 (the modal closes); the post-mortem changes hands exactly as with
`/postmortem owner @user`, the new owner gets their DM, and the person who pressed
hears the outcome where they pressed. When the modal cannot open in time, they are
told to use the command instead; a form that cannot be carried out stays open with
the problem shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientResponse

from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from hub.model.command import HANDOFF_FORM, HANDOFF_OWNER_BLOCK
from hub.store.state import load_postmortem
from tests.e2e.conftest import SLACK_ALICE, SLACK_BOB, Served
from tests.e2e.test_slack_flow import (
    INCIDENT_ID,
    NOW,
    _config,
    _incident_lifecycle,
    _owner_dms,
    _signed,
)
from tests.support.daemon import Daemon, running_daemon, settle, shifted_clock
from tests.support.tls import LoopbackTls

Clock = Callable[[], datetime]


@pytest.fixture
def config(
    tmp_path: Path,
    db_url: str,
    pagerduty_fake: Served[FakePagerDuty],
    slack_fake: Served[FakeSlack],
    loopback_tls: LoopbackTls,
) -> Path:
    return _config(tmp_path, db_url, pagerduty_fake, slack_fake, loopback_tls.ca_pem)


async def _interact(daemon: Daemon, payload: dict[str, Any], clock: Clock) -> ClientResponse:
    """Send an interaction payload to pmhub as Slack does: form-encoded and signed."""
    body, headers = _signed({"payload": json.dumps(payload)}, clock())
    return await daemon.client.post("/webhooks/slack/interactions", data=body, headers=headers)


async def _press_hand_off(daemon: Daemon, slack: Served[FakeSlack], clock: Clock) -> dict[str, Any]:
    """Alice presses Hand off… on her owner DM; the press as Slack sent it."""
    fake = slack.fake
    channel = fake.dms[SLACK_ALICE]
    [dm] = [m for m in fake.posts(channel) if ":owner:notify:" in (effect_key_of(m) or "")]
    press = fake.press_button(slack.base_url, SLACK_ALICE, channel, dm["ts"], "pm_handoff")
    response = await _interact(daemon, press, clock)
    assert response.status == 200
    await settle(daemon)
    return press


def _replies(fake: FakeSlack, press: dict[str, Any]) -> list[str]:
    """What pmhub posted to the press's response_url (ephemeral answers)."""
    return [json.dumps(r) for r in fake.replies[press["response_url"].split("/commands/", 1)[1]]]


async def test_hand_off_through_the_modal(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, shifted_clock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)
        press = await _press_hand_off(daemon, slack_fake, clock)

        # The modal opened, for Alice, with the trigger of her press.
        [(view_id, view)] = slack.modals.views.items()
        assert slack.modals.viewers[view_id] == SLACK_ALICE
        assert slack.modals.triggers[press["trigger_id"]].exchanged
        assert view["callback_id"] == HANDOFF_FORM
        shown = json.dumps(view["blocks"])
        assert "PD-1042" in shown
        assert "Alice Chen" in shown  # the current owner
        assert _replies(slack, press) == [], "the modal is the answer to the press"

        submitted = slack.submit_view(
            view_id, SLACK_ALICE, {"new_owner": SLACK_BOB, "reason": "Bob led the fix"}
        )
        response = await _interact(daemon, submitted, clock)
        assert response.status == 200
        assert await response.read() == b"", "an empty 200 closes the modal"
        await settle(daemon)
        pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)

    assert pm is not None
    assert pm.designation is not None
    # Bob is found among the incident's people by his Slack id, so he keeps his email.
    assert pm.designation.person.email == "bob@example.com"
    assert pm.designation.by is not None
    assert pm.designation.by.email == "alice@example.com"
    assert pm.designation.reason == "Bob led the fix"
    assert _owner_dms(slack, SLACK_BOB) == [
        f"pm:{INCIDENT_ID}:owner:notify:email:bob@example.com/dm"
    ]
    [answer] = _replies(slack, press)
    assert "Bob Okafor now owns the post-mortem (was: Alice Chen)" in answer


@pytest.mark.parametrize(
    "spoil",
    [
        # The job started too late: Slack says the trigger expired.
        pytest.param(lambda s: setattr(s.modals, "ttl", -1.0), id="expired-trigger"),
        # Slack had trouble: by a retry the trigger would be expired anyway.
        pytest.param(lambda s: s.fail(503, method="views.open"), id="slack-5xx"),
    ],
)
async def test_when_the_modal_cannot_open_the_command_is_offered(
    config: Path,
    pagerduty_fake: Served[FakePagerDuty],
    slack_fake: Served[FakeSlack],
    spoil: Callable[[FakeSlack], None],
) -> None:
    slack, clock = slack_fake.fake, shifted_clock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)
        spoil(slack)
        press = await _press_hand_off(daemon, slack_fake, clock)
        dead = await daemon.client.get("/api/v1/jobs?state=dead", headers=daemon.admin_headers())
        assert (await dead.json())["jobs"] == []

    assert slack.calls["views.open"] == 1, "tried once, not retried past the trigger's life"
    assert slack.modals.views == {}
    [answer] = _replies(slack, press)
    assert "/postmortem owner @someone PD-1042" in answer
    assert json.loads(answer)["response_type"] == "ephemeral"


async def test_a_form_that_cannot_be_carried_out_stays_open(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, shifted_clock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)
        await _press_hand_off(daemon, slack_fake, clock)
        [view_id] = slack.modals.views
        submitted = slack.submit_view(view_id, SLACK_ALICE, {"new_owner": SLACK_BOB})
        submitted["view"]["private_metadata"] = "{not what pmhub wrote"
        response = await _interact(daemon, submitted, clock)
        assert response.status == 200
        answer = await response.json()
        await settle(daemon)
        pm = await load_postmortem(daemon.runtime.engine, INCIDENT_ID)

    assert answer["response_action"] == "errors"
    assert "out of date" in answer["errors"][HANDOFF_OWNER_BLOCK]
    assert _owner_dms(slack, SLACK_BOB) == []
    assert pm is None or pm.designation is None or pm.designation.person.slack_id != SLACK_BOB
