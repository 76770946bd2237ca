"""The messages that keep Slack true: the late-meeting DM and the edited announcement."""

from __future__ import annotations

import json
from datetime import timedelta

from connectors.slack import messages
from hub.model.postmortem import PostMortem
from tests.connectors.slack.test_messages import (
    ALICE,
    BOB,
    CAROL,
    DEADLINE,
    INCIDENT,
    MEETING,
    PEOPLE,
    check_block_kit,
)

LATE = MEETING.model_copy(
    update={"start": DEADLINE + timedelta(days=1), "end": DEADLINE + timedelta(days=1, minutes=30)}
)


def test_the_late_meeting_dm_says_when_the_deadline_was_and_that_pmhub_leaves_it() -> None:
    message = messages.meeting_past_deadline(
        INCIDENT, ALICE, LATE, deadline=DEADLINE, people=PEOPLE
    )
    check_block_kit(message)
    assert message.text == (
        "The PD-1042 post-mortem meeting was moved to Sat 14 Mar 2026 14:30 UTC: it now ends "
        "after its deadline, Fri 13 Mar 2026 14:30 UTC."
    )
    body = json.dumps(message.blocks)
    assert "<@U0ALICE001>" in body
    assert f"<!date^{int(DEADLINE.timestamp())}^" in body
    assert "evt123|calendar event" in body
    assert "pmhub will not move it back" in body


def test_a_late_meeting_dm_names_someone_without_slack() -> None:
    message = messages.meeting_past_deadline(
        INCIDENT, CAROL, LATE, deadline=DEADLINE, people=PEOPLE
    )
    assert "Carol Chen (carol@example.com)" in json.dumps(message.blocks)


def test_the_announcement_after_a_hand_off_names_both_owners() -> None:
    postmortem = PostMortem(incident_id=INCIDENT.id, meeting=MEETING)
    message = messages.channel_announcement(
        INCIDENT, postmortem, BOB, deadline=DEADLINE, people=PEOPLE, previous_owner=ALICE
    )
    check_block_kit(message)
    body = json.dumps(message.blocks)
    assert "*Owner:* <@U0BOB00001> (taken over from Alice Adams (alice@example.com))" in body
    assert "evt123|calendar event" in body
    # Without a previous owner it is the announcement it always was.
    plain = messages.channel_announcement(INCIDENT, postmortem, BOB, deadline=DEADLINE)
    assert "taken over" not in json.dumps(plain.blocks)


def test_the_former_owners_dm_names_the_new_owner_and_offers_no_buttons() -> None:
    message = messages.owner_handed_off(INCIDENT, ALICE, CAROL, people=PEOPLE)
    check_block_kit(message)
    body = json.dumps(message.blocks)
    assert message.text == "Carol Chen owns the post-mortem for PD-1042 now."
    assert "<@U0ALICE001>, Carol Chen (carol@example.com) owns the post-mortem" in body
    assert '"type": "actions"' not in body
