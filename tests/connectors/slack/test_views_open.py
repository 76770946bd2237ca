"""`views.open` through the connector against the Slack fake, and back.

The fake issues trigger ids the way Slack does (one per interaction, for the person
who interacted, honoured for 3 seconds, once), so these tests show what pmhub does
with each of Slack's answers: the modal opens, a used trigger counts as open, an
expired one is reported (the engine then answers with the command), a bad one is a
permanent error. Every exchange is checked against Slack's published documents, and
a submission of the opened form reads back, through the intake adapter, as the same
`owner` command as `/postmortem owner @user INCIDENT`.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from connectors.slack import SlackConfig, SlackConnector
from connectors.slack.blocks import ChatMessage
from connectors.slack.fake import FakeSlack
from connectors.slack.modals import handoff_modal
from connectors.slack.notifier import SlackNotifier
from hub.errors import ConnectorError, Permanent, Transient
from hub.intake.adapters.slack import parse_interaction, view_submission_ack
from hub.model.command import HANDOFF_FORM, Command, CommandVerb, HandoffContext
from hub.model.incident import Incident, Person, Severity, Source
from tests.connectors.slack.conftest import ALICE, BOB, INCIDENTS, ConnectorFactory
from tests.connectors.slack.contract import SlackContract

INCIDENT = Incident(
    id="pagerduty:PGR0VU2",
    source=Source.PAGERDUTY,
    source_id="PGR0VU2",
    reference="PD-1042",
    title="Checkout errors",
    severity=Severity.SEV1,
)
OWNER = Person(name="Alice Adams", email="alice@example.com", slack_id=ALICE)
PRESSED = HandoffContext(
    incident_id=INCIDENT.id, response_url="https://hooks.example/1", channel_id="D1"
)
VIEW = handoff_modal(INCIDENT, OWNER, PRESSED)


async def test_the_modal_opens_for_the_person_who_pressed(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    trigger = fake.modals.issue_trigger(ALICE)
    assert await connector.open_view(trigger, VIEW) is True
    [(view_id, opened)] = fake.modals.views.items()
    assert fake.modals.viewers[view_id] == ALICE
    assert opened["callback_id"] == HANDOFF_FORM
    assert _without_ids(opened["blocks"]) == _without_ids(VIEW["blocks"])
    # Slack gives every block an id; the form's own input ids are kept as sent.
    assert all(block["block_id"] for block in opened["blocks"])
    assert _input_ids(opened["blocks"]) == _input_ids(VIEW["blocks"])
    assert HandoffContext.decode(opened["private_metadata"]) == PRESSED


def _without_ids(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in block.items() if k != "block_id"} for block in blocks]


def _input_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [block["block_id"] for block in blocks if block["type"] == "input"]


async def test_a_trigger_used_by_an_earlier_attempt_counts_as_open(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    trigger = fake.modals.issue_trigger(ALICE)
    assert await connector.open_view(trigger, VIEW) is True
    # A retry after a lost answer: Slack says exchanged_trigger_id; nothing opens twice.
    assert await connector.open_view(trigger, VIEW) is True
    assert len(fake.modals.views) == 1
    assert fake.exchanges[-1].response["error"] == "exchanged_trigger_id"


async def test_an_expired_trigger_is_reported_not_raised(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    now = [1000.0]
    fake.clock = lambda: now[0]
    trigger = fake.modals.issue_trigger(ALICE)
    now[0] += 3.5  # Slack honours a trigger for 3 seconds
    assert await connector.open_view(trigger, VIEW) is False
    assert fake.modals.views == {}
    assert fake.exchanges[-1].response["error"] == "expired_trigger_id"


async def test_a_trigger_just_in_time_still_opens(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    now = [1000.0]
    fake.clock = lambda: now[0]
    trigger = fake.modals.issue_trigger(ALICE)
    now[0] += 2.9
    assert await connector.open_view(trigger, VIEW) is True


@pytest.mark.parametrize(
    ("trigger", "error"),
    [
        ("12345.98765.abcd2358fdea", "invalid_arguments"),  # well formed, never issued
        ("not-a-trigger", "invalid_trigger_id"),
    ],
)
async def test_a_trigger_slack_never_issued_is_permanent(
    connector: SlackConnector, fake: FakeSlack, trigger: str, error: str
) -> None:
    with pytest.raises(Permanent, match=error):
        await connector.open_view(trigger, VIEW)
    assert fake.modals.views == {}


async def test_a_view_slack_refuses_is_permanent_and_keeps_the_trigger(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    trigger = fake.modals.issue_trigger(ALICE)
    too_long = {**VIEW, "title": {"type": "plain_text", "text": "Hand off this post-mortem now"}}
    with pytest.raises(Permanent, match="invalid_arguments"):
        await connector.open_view(trigger, too_long)
    assert fake.exchanges[-1].response["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"
    ]
    assert await connector.open_view(trigger, VIEW) is True  # not used up by the refusal


async def test_slack_trouble_is_transient(connector: SlackConnector, fake: FakeSlack) -> None:
    fake.fail(503, method="views.open")
    with pytest.raises(Transient):
        await connector.open_view(fake.modals.issue_trigger(ALICE), VIEW)


async def test_every_views_open_exchange_matches_the_documents(
    make_connector: ConnectorFactory, fake: FakeSlack, contract: SlackContract
) -> None:
    connector = make_connector()
    wrong = make_connector(bot_token=SecretStr("xoxb-nope"))
    used = fake.modals.issue_trigger(ALICE)
    await connector.open_view(used, VIEW)
    await connector.open_view(used, VIEW)
    fake.modals.ttl = -1.0  # every trigger issued from here on is already expired
    await connector.open_view(fake.modals.issue_trigger(ALICE), VIEW)
    for call in (
        connector.open_view("12345.98765.abcd2358fdea", VIEW),
        connector.open_view("not-a-trigger", VIEW),
        connector.open_view(used, {**VIEW, "type": "home"}),
        wrong.open_view(used, VIEW),
    ):
        with pytest.raises(ConnectorError):
            await call

    errors = set()
    for exchange in fake.exchanges:
        contract.validate_request(
            exchange.http_method,
            exchange.api_method,
            query=exchange.query,
            headers=exchange.headers,
            body=exchange.body,
            content_type=exchange.content_type,
        )
        assert exchange.status is not None
        contract.validate_response(
            exchange.api_method, exchange.status, exchange.response, exchange.response_headers
        )
        if not exchange.response["ok"]:
            errors.add(exchange.response["error"])
    assert {e.api_method for e in fake.exchanges} == {"views.open"}
    assert errors == {
        "exchanged_trigger_id",
        "expired_trigger_id",
        "invalid_arguments",
        "invalid_trigger_id",
        "invalid_auth",
    }


async def test_slacks_own_example_answers_pass_the_checker(contract: SlackContract) -> None:
    [*examples] = contract.example_answers("views.open")
    assert examples
    for example in examples:
        contract.validate_response("views.open", 200, example)


async def test_the_notifier_opens_the_hand_off_form(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    config = SlackConfig(bot_token=SecretStr(fake.token), incidents_channel=INCIDENTS)
    notifier = SlackNotifier(connector, config)
    trigger = fake.modals.issue_trigger(ALICE)
    assert await notifier.open_handoff(trigger, INCIDENT, OWNER, PRESSED) is True
    [opened] = fake.modals.views.values()
    assert opened["callback_id"] == HANDOFF_FORM
    assert _without_ids(opened["blocks"]) == _without_ids(VIEW["blocks"])
    assert fake.calls["users.lookupByEmail"] == 0, "nothing may delay views.open"


async def test_the_submitted_form_reads_back_as_an_owner_command(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    await connector.open_view(fake.modals.issue_trigger(ALICE), VIEW)
    [view_id] = fake.modals.views
    payload = fake.submit_view(view_id, ALICE, {"new_owner": BOB, "reason": " Bob led the fix "})

    assert view_submission_ack(payload) is None  # Slack's empty 200: the modal closes
    [command] = parse_interaction(payload)
    assert isinstance(command, Command)
    assert command.verb is CommandVerb.OWNER
    assert command.mentions == (Person(slack_id=BOB),)
    assert command.actor.slack_id == ALICE
    assert (command.incident_ref, command.response_url, command.channel_id) == (
        INCIDENT.id,
        PRESSED.response_url,
        PRESSED.channel_id,
    )
    assert command.text == "Bob led the fix"
    assert command.trigger_id == payload["trigger_id"]


async def test_the_reason_may_be_left_out_but_not_the_new_owner(
    connector: SlackConnector, fake: FakeSlack
) -> None:
    await connector.open_view(fake.modals.issue_trigger(ALICE), VIEW)
    [view_id] = fake.modals.views
    [command] = parse_interaction(fake.submit_view(view_id, ALICE, {"new_owner": BOB}))
    assert isinstance(command, Command)
    assert command.text == ""
    with pytest.raises(ValueError, match="required"):
        fake.submit_view(view_id, ALICE, {"reason": "no owner picked"})
    with pytest.raises(ValueError, match="not opened for"):
        fake.submit_view(view_id, BOB, {"new_owner": BOB})


async def test_a_pressed_button_carries_a_fresh_trigger_for_the_presser(
    connector: SlackConnector, fake: FakeSlack, base_url: str
) -> None:
    message = ChatMessage(
        text="You own it",
        blocks=(
            {
                "type": "actions",
                "block_id": "pm_owner",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Hand off…"},
                        "action_id": "pm_handoff",
                        "value": INCIDENT.id,
                    }
                ],
            },
        ),
    )
    ref = await connector.post(ALICE, message, effect_key="pm:x:owner")
    first = fake.press_button(base_url, ALICE, ref.channel, ref.ts, "pm_handoff")
    second = fake.press_button(base_url, ALICE, ref.channel, ref.ts, "pm_handoff")
    assert first["trigger_id"] != second["trigger_id"]
    assert first["actions"][0]["value"] == INCIDENT.id
    assert first["response_url"].startswith(base_url)
    assert await connector.open_view(first["trigger_id"], VIEW) is True
    with pytest.raises(LookupError):
        fake.press_button(base_url, ALICE, ref.channel, ref.ts, "pm_accept")
