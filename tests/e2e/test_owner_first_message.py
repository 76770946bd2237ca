"""Issue 16: the owner's first message is one message, naming the roles nobody holds
and asking for the external message.

Before, a resolved SEV-1 gave the owner their DM and, beside it, a second DM per role
nobody holds ("pmhub found nobody for the role ...") and a third asking for the
external message, which raced the first for the DM channel's one post a second and
often went first. Now the owner's DM names the roles and asks for the message; the
owner's reply is taken as before.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from tests.e2e.conftest import SLACK_ALICE, Served
from tests.e2e.test_slack_flow import (
    NOW,
    Slash,
    _every_key_once,
    _incident_lifecycle,
    _keys,
    _owner_dms,
    config,
)
from tests.support.daemon import running_daemon, settle, shifted_clock

__all__ = ["config"]  # the fixture, shared with the Slack flow's tests


def _alice_dm(slack: FakeSlack, key: str) -> dict[str, Any]:
    """Alice's DM posted under `key`, as it reads now (edits included)."""
    [dm] = [m for m in slack.posts(slack.dms[SLACK_ALICE]) if effect_key_of(m) == key]
    return dm


async def test_the_owner_gets_one_dm_that_names_the_unresolved_roles(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    slack = slack_fake.fake
    async with running_daemon(config, clock=shifted_clock(NOW)) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)

    [dm_key] = _owner_dms(slack, SLACK_ALICE)
    assert [k for k in _keys(slack, SLACK_ALICE) if ":meeting:unresolved:" in k] == []
    dm = _alice_dm(slack, dm_key)
    shown = json.dumps(dm["blocks"])
    assert "Nobody found for these meeting roles" in shown
    assert "`incident_commander_shadow`" in shown
    assert "`responders`" in shown
    assert "Nobody found for incident_commander_shadow" in dm["text"]
    _every_key_once(slack)


async def test_the_owner_dm_asks_for_the_external_message_and_the_reply_is_taken(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    slack, clock = slack_fake.fake, shifted_clock(NOW)
    async with running_daemon(config, clock=clock) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)
        [dm_key] = _owner_dms(slack, SLACK_ALICE)
        dm = _alice_dm(slack, dm_key)
        assert "An external message for customers is needed" in dm["text"]
        assert "/postmortem message your text" in json.dumps(dm["blocks"])
        assert [k for k in _keys(slack, SLACK_ALICE) if "external-message" in k] == []

        _, [saved] = await Slash(daemon, slack_fake, clock)(
            "message Some checkouts failed for 5 hours PD-1042"
        )
        assert "external message saved" in saved
        await settle(daemon)
        # Written: the DM is edited to stop asking, and no request ever went out.
        edited = _alice_dm(slack, dm_key)
        assert "external message" not in edited["text"]
        assert [k for k in _keys(slack, SLACK_ALICE) if "external-message" in k] == []
    _every_key_once(slack)
