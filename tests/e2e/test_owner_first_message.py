"""Issue 16: the owner's first message is one message, naming the roles nobody holds.

Before, a resolved SEV-1 gave the owner their DM and, beside it, a second DM per role
nobody holds ("pmhub found nobody for the role ..."), which raced the first for the DM
channel's one post a second and often went first. Now the owner's DM names them.
"""

from __future__ import annotations

import json
from pathlib import Path

from connectors.pagerduty.fake import FakePagerDuty
from connectors.slack.client import effect_key_of
from connectors.slack.fake import FakeSlack
from tests.e2e.conftest import SLACK_ALICE, Served
from tests.e2e.test_slack_flow import (
    NOW,
    _every_key_once,
    _incident_lifecycle,
    _keys,
    _owner_dms,
    config,
)
from tests.support.daemon import running_daemon, settle, shifted_clock

__all__ = ["config"]  # the fixture, shared with the Slack flow's tests


async def test_the_owner_gets_one_dm_that_names_the_unresolved_roles(
    config: Path, pagerduty_fake: Served[FakePagerDuty], slack_fake: Served[FakeSlack]
) -> None:
    slack = slack_fake.fake
    async with running_daemon(config, clock=shifted_clock(NOW)) as daemon:
        await _incident_lifecycle(daemon, pagerduty_fake.fake)
        await settle(daemon)

    [dm_key] = _owner_dms(slack, SLACK_ALICE)
    assert [k for k in _keys(slack, SLACK_ALICE) if ":meeting:unresolved:" in k] == []
    [dm] = [m for m in slack.posts(slack.dms[SLACK_ALICE]) if effect_key_of(m) == dm_key]
    shown = json.dumps(dm["blocks"])
    assert "Nobody found for these meeting roles" in shown
    assert "`incident_commander_shadow`" in shown
    assert "`responders`" in shown
    assert "Nobody found for incident_commander_shadow" in dm["text"]
    _every_key_once(slack)
