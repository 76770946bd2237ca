"""The announcement roll-up's words: one line per post-mortem, inside Slack's limits."""

from __future__ import annotations

import json

from connectors.slack.rollup_messages import (
    ROLLUP_MAX_LINES,
    announcement_line,
    rollup_message,
)
from tests.connectors.slack.test_messages import (
    ALICE,
    BOB,
    BOOKED,
    CLOSED,
    DEADLINE,
    DRAFT,
    INCIDENT,
    PEOPLE,
    check_block_kit,
)


def test_a_line_names_the_incident_owner_meeting_and_status() -> None:
    line = announcement_line(INCIDENT, DRAFT, ALICE, deadline=DEADLINE, people=PEOPLE)
    assert line.startswith(":memo: <https://acme.pagerduty.com/incidents/PGR0VU2|PD-1042> (SEV-1)")
    assert "Checkout &lt;API&gt; errors &amp; timeouts" in line
    assert "*Owner:* <@U0ALICE001>" in line
    assert "*Meeting:* not scheduled yet; it must take place by" in line
    assert "*Status:* Draft" in line
    assert "<https://docs.example.com/pm/PD-1042|document>" in line


def test_a_line_follows_its_post_mortem_as_it_progresses() -> None:
    draft = announcement_line(INCIDENT, DRAFT, ALICE, deadline=DEADLINE, people=PEOPLE)
    booked = announcement_line(INCIDENT, BOOKED, ALICE, deadline=DEADLINE, people=PEOPLE)
    closed = announcement_line(INCIDENT, CLOSED, ALICE, deadline=DEADLINE, people=PEOPLE)
    handed = announcement_line(
        INCIDENT, BOOKED, BOB, deadline=DEADLINE, people=PEOPLE, previous_owner=ALICE
    )
    assert "evt123|calendar event" not in draft
    assert "evt123" in booked
    assert "not scheduled" not in booked
    assert "*Status:* Closed" in closed
    assert "*Owner:* <@U0BOB00001> (taken over from Alice Adams" in handed


def test_a_full_roll_up_is_valid_block_kit_with_every_line_in_order() -> None:
    lines = [f"line {n}" for n in range(ROLLUP_MAX_LINES)]
    message = rollup_message(lines)
    check_block_kit(message)
    shown = [block["text"]["text"] for block in message.blocks if block["type"] == "section"]
    assert shown == lines
    assert f"{ROLLUP_MAX_LINES} post-mortems started" in json.dumps(message.blocks)


def test_long_titles_keep_a_line_within_a_section() -> None:
    huge = INCIDENT.model_copy(update={"title": "x" * 10_000})
    line = announcement_line(huge, DRAFT, ALICE, deadline=DEADLINE, people=PEOPLE)
    message = rollup_message([line] * ROLLUP_MAX_LINES)
    check_block_kit(message)
    assert len(json.dumps(message.blocks)) < 40_000
