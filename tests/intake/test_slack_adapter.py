"""The `/postmortem` grammar, button presses, and Slack form decoding."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from hub.intake.adapters import Ignored, parse_delivery
from hub.intake.adapters.slack import HELP_TEXT, parse_command_text, parse_interaction
from hub.model.command import Command, CommandVerb
from hub.model.incident import Person

ANN = Person(slack_id="U1", name="ann")
BOB = Person(slack_id="U2BOB", name="bob")


def parse(text: str) -> Command:
    return parse_command_text(text, actor=ANN, channel_id="C1", response_url="https://hooks/x")


# text, expected fields (verb plus whatever else must hold)
GRAMMAR: list[tuple[str, dict[str, Any]]] = [
    ("", {"verb": CommandVerb.HELP}),
    ("help", {"verb": CommandVerb.HELP}),
    ("HELP me please", {"verb": CommandVerb.HELP}),
    ("status", {"verb": CommandVerb.STATUS, "incident_ref": None}),
    ("status PD-123", {"verb": CommandVerb.STATUS, "incident_ref": "PD-123"}),
    ("status inc-45", {"verb": CommandVerb.STATUS, "incident_ref": "INC-45"}),
    ("status PagerDuty:P123", {"verb": CommandVerb.STATUS, "incident_ref": "pagerduty:P123"}),
    ("owner <@U2BOB|bob>", {"verb": CommandVerb.OWNER, "mentions": (BOB,)}),
    (
        "owner <@U2BOB> INC-7",
        {
            "verb": CommandVerb.OWNER,
            "mentions": (Person(slack_id="U2BOB"),),
            "incident_ref": "INC-7",
        },
    ),
    (
        "followup P1 <@U2BOB|bob> add a  retry budget PD-9",
        {
            "verb": CommandVerb.FOLLOWUP,
            "priority": "P1",
            "mentions": (BOB,),
            "text": "add a retry budget",
            "incident_ref": "PD-9",
        },
    ),
    (
        "followup p0 page on disk full",
        {
            "verb": CommandVerb.FOLLOWUP,
            "priority": "P0",
            "mentions": (),
            "text": "page on disk full",
        },
    ),
    (
        "followups none the session's learnings are up to each of us INC-45",
        {
            "verb": CommandVerb.NO_FOLLOW_UPS,
            "text": "the session's learnings are up to each of us",
            "incident_ref": "INC-45",
        },
    ),
    (
        "message We had degraded checkout for 20 minutes. INC-45",
        {
            "verb": CommandVerb.MESSAGE,
            "text": "We had degraded checkout for 20 minutes.",
            "incident_ref": "INC-45",
        },
    ),
    (
        "meeting <https://www.google.com/calendar/event?eid=abc|PM meeting> PD-1042",
        {
            "verb": CommandVerb.MEETING,
            "text": "https://www.google.com/calendar/event?eid=abc",
            "incident_ref": "PD-1042",
        },
    ),
    ("meeting handbooked01", {"verb": CommandVerb.MEETING, "text": "handbooked01"}),
    ("review", {"verb": CommandVerb.REVIEW}),
    ("reviewed", {"verb": CommandVerb.REVIEWED, "override": False}),
    (
        "reviewed --override meeting held offline PD-1",
        {
            "verb": CommandVerb.REVIEWED,
            "override": True,
            "override_reason": "meeting held offline",
            "incident_ref": "PD-1",
        },
    ),
    ("close", {"verb": CommandVerb.CLOSE, "text": ""}),
    (
        "close duplicate of INC-3",
        {"verb": CommandVerb.CLOSE, "text": "duplicate of", "incident_ref": "INC-3"},
    ),
    (
        "close --override no external message needed",
        {
            "verb": CommandVerb.CLOSE,
            "override": True,
            "override_reason": "no external message needed",
        },
    ),
]
INVALID: list[tuple[str, str]] = [
    ("frobnicate", "`frobnicate`"),
    ("owner @bob", "not a Slack mention"),
    ("owner", "exactly one person"),
    ("owner <@U2BOB> <@U3>", "exactly one person"),
    ("followup P1 @bob fix it", "not a Slack mention"),
    ("followup fix it", "P0-P2"),
    ("followup P2", "summary"),
    ("followup P1 <@U2BOB>", "summary"),
    ("followups", "say why there are none"),
    ("followups some", "say why there are none"),
    ("followups none INC-4", "needs a reason"),
    ("message", "customers"),
    ("meeting", "shared post-mortem calendar"),
    ("meeting tomorrow at ten", "shared post-mortem calendar"),
    ("status everything", "takes nothing but an incident"),
    ("review now please", "takes nothing but an incident"),
    ("reviewed it was fine", "nothing else"),
    ("reviewed --override", "needs a reason"),
    ("close --override INC-4", "needs a reason"),
]


@pytest.mark.parametrize(("text", "expected"), GRAMMAR)
def test_grammar(text: str, expected: dict[str, Any]) -> None:
    command = parse(text)
    for name, value in expected.items():
        assert getattr(command, name) == value, name
    assert (command.actor, command.channel_id, command.raw_text) == (ANN, "C1", text)


@pytest.mark.parametrize(("text", "problem"), INVALID)
def test_mistakes_become_invalid_with_help(text: str, problem: str) -> None:
    command = parse(text)
    assert command.verb is CommandVerb.INVALID
    assert command.message is not None
    assert problem in command.message
    assert command.message.endswith(HELP_TEXT)
    for verb in ("help", "status", "owner", "followup", "message", "review", "reviewed", "close"):
        assert f"`{verb}" in command.message


def test_help_lists_every_typed_verb() -> None:
    command = parse("help")
    assert command.message == HELP_TEXT


def test_command_form_delivery() -> None:
    form = {
        "command": "/postmortem",
        "text": "owner <@U2BOB|bob>",
        "user_id": "U1",
        "user_name": "ann",
        "channel_id": "C9",
        "response_url": "https://hooks.slack.com/commands/1/2/3",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
    }
    (command,) = parse_delivery("slack/commands", urlencode(form).encode())
    assert isinstance(command, Command)
    assert command.verb is CommandVerb.OWNER
    assert command.actor == ANN
    assert (command.channel_id, command.trigger_id) == ("C9", form["trigger_id"])
    assert command.response_url == form["response_url"]


def block_actions(*actions: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U1", "username": "ann", "name": "ann", "team_id": "T1"},
        "channel": {"id": "C5", "name": "inc-1"},
        "container": {"type": "message", "channel_id": "C5"},
        "trigger_id": "12466734323.1395872398",
        "response_url": "https://hooks.slack.com/actions/T1/1/abc",
        "actions": list(actions),
    }


@pytest.mark.parametrize(
    ("action_id", "verb"),
    [
        ("pm_accept", CommandVerb.ACCEPT),
        ("pm_handoff", CommandVerb.HANDOFF),
        ("pm_open", CommandVerb.OPEN),
    ],
)
def test_buttons(action_id: str, verb: CommandVerb) -> None:
    payload = block_actions({"action_id": action_id, "value": "pm-42", "type": "button"})
    body = urlencode({"payload": json.dumps(payload)}).encode()
    (command,) = parse_delivery("slack/interactions", body)
    assert isinstance(command, Command)
    assert (command.verb, command.postmortem_id, command.actor) == (verb, "pm-42", ANN)
    assert (command.channel_id, command.trigger_id) == ("C5", "12466734323.1395872398")


@pytest.mark.parametrize(
    "payload",
    [
        block_actions({"action_id": "someone_elses_button", "value": "x"}),
        block_actions({"action_id": ["odd"]}),
        {"type": "view_submission"},
        {"type": None},
    ],
)
def test_other_interactions_are_ignored(payload: dict[str, Any]) -> None:
    assert all(isinstance(result, Ignored) for result in parse_interaction(payload))


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("slack/commands", b"\xff"),
        ("slack/commands", b"text=hi"),
        ("slack/interactions", b"payload=%5B%5D"),
        ("slack/interactions", b"x=1"),
    ],
)
def test_odd_deliveries_are_ignored(source: str, body: bytes) -> None:
    assert all(isinstance(result, Ignored) for result in parse_delivery(source, body))
