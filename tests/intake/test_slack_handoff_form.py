"""The submitted hand-off form (`view_submission`): how Slack is answered, what it becomes.

Slack waits for the answer to a submission and acts on it: an empty 200 closes the
modal; `{"response_action": "errors", "errors": {block_id: message}}` keeps it open
with each message under its field (docs.slack.dev, "Handling view submissions"); a
body of any other shape is shown as an error. The payloads below are shaped like
Slack's documented `view_submission` example (state.values[block_id][action_id]).
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from hub.intake.adapters.base import Ignored
from hub.intake.adapters.slack import parse_delivery, parse_interaction, view_submission_ack
from hub.intake.verifiers import IntakeRejection, SlackVerifier
from hub.model.command import (
    HANDOFF_FORM,
    HANDOFF_OWNER_ACTION,
    HANDOFF_OWNER_BLOCK,
    HANDOFF_REASON_ACTION,
    HANDOFF_REASON_BLOCK,
    HANDOFF_REASON_MAX,
    Command,
    CommandVerb,
    HandoffContext,
)
from hub.model.incident import Person
from tests.intake.helpers import NOW, slack_headers

SECRET = "slack-signing-secret-0123456789"
PRESSED = HandoffContext(
    incident_id="pagerduty:PGR0VU2",
    response_url="https://hooks.slack.com/actions/T1/1/abc",
    channel_id="D0ANN00001",
)


def submission(
    new_owner: str | None = "U0BOB00001",
    reason: str | None = "Bob led the fix",
    *,
    metadata: str | None = None,
    callback_id: str = HANDOFF_FORM,
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": {"id": "T1", "domain": "acme"},
        "user": {"id": "U1", "username": "ann", "name": "ann", "team_id": "T1"},
        "api_app_id": "A1",
        "token": "unused",
        "trigger_id": "12466734323.1395872398.abcdef",
        "view": {
            "id": "VNHU13V36",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": PRESSED.encode() if metadata is None else metadata,
            "state": {
                "values": {
                    HANDOFF_OWNER_BLOCK: {
                        HANDOFF_OWNER_ACTION: {"type": "users_select", "selected_user": new_owner}
                    },
                    HANDOFF_REASON_BLOCK: {
                        HANDOFF_REASON_ACTION: {"type": "plain_text_input", "value": reason}
                    },
                }
            },
            "hash": "156663117.cd33ad1f",
        },
        "response_urls": [],
    }


def test_a_submitted_form_is_the_owner_command() -> None:
    [command] = parse_interaction(submission())
    assert isinstance(command, Command)
    assert command == Command(
        verb=CommandVerb.OWNER,
        actor=Person(slack_id="U1", name="ann"),
        channel_id=PRESSED.channel_id,
        response_url=PRESSED.response_url,
        trigger_id="12466734323.1395872398.abcdef",
        incident_ref=PRESSED.incident_id,
        mentions=(Person(slack_id="U0BOB00001"),),
        text="Bob led the fix",
    )
    assert view_submission_ack(submission()) is None


def test_a_form_without_a_reason_hands_off_all_the_same() -> None:
    [command] = parse_interaction(submission(reason=None))
    assert isinstance(command, Command)
    assert command.text == ""


@pytest.mark.parametrize(
    ("payload", "block", "says"),
    [
        (submission(new_owner=None), HANDOFF_OWNER_BLOCK, "Choose the person"),
        (submission(new_owner="#general"), HANDOFF_OWNER_BLOCK, "Choose the person"),
        (submission(metadata="{garbled"), HANDOFF_OWNER_BLOCK, "out of date"),
        (submission(metadata='{"channel_id": "C1"}'), HANDOFF_OWNER_BLOCK, "out of date"),
        (submission(reason="x" * (HANDOFF_REASON_MAX + 1)), HANDOFF_REASON_BLOCK, "At most"),
    ],
)
def test_a_form_that_cannot_be_carried_out_stays_open_with_the_problem(
    payload: dict[str, Any], block: str, says: str
) -> None:
    ack = view_submission_ack(payload)
    assert ack is not None
    assert ack["response_action"] == "errors"
    assert set(ack["errors"]) == {block}
    assert says in ack["errors"][block]
    # Nothing is done with it: the person fixes the form and submits again.
    assert all(isinstance(result, Ignored) for result in parse_interaction(payload))


def test_someone_elses_form_is_closed_and_ignored() -> None:
    payload = submission(callback_id="another_apps_form")
    assert view_submission_ack(payload) is None
    assert all(isinstance(result, Ignored) for result in parse_interaction(payload))


def _verify(payload: dict[str, Any]) -> tuple[bytes, Any]:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    verifier = SlackVerifier("slack/interactions", SECRET)
    return body, verifier.verify(slack_headers(SECRET, body), body, NOW)


def test_the_front_door_answers_a_good_form_with_an_empty_200() -> None:
    body, delivery = _verify(submission())
    assert (delivery.ack_status, delivery.ack_empty, delivery.ack_body) == (200, True, None)
    assert delivery.event_type == "view_submission"
    # And the stored delivery becomes the command when the ingest job reads it.
    [command] = parse_delivery("slack/interactions", body)
    assert isinstance(command, Command)
    assert command.verb is CommandVerb.OWNER


def test_the_front_door_answers_a_bad_form_with_its_errors() -> None:
    _, delivery = _verify(submission(new_owner=None))
    assert (delivery.ack_status, delivery.ack_empty) == (200, False)
    assert delivery.ack_body == {
        "response_action": "errors",
        "errors": {HANDOFF_OWNER_BLOCK: "Choose the person who takes the post-mortem over."},
    }


def test_a_form_is_still_only_accepted_signed() -> None:
    body = urlencode({"payload": json.dumps(submission())}).encode()
    verifier = SlackVerifier("slack/interactions", SECRET)
    with pytest.raises(IntakeRejection) as rejected:
        verifier.verify(slack_headers("some-other-secret", body), body, NOW)
    assert (rejected.value.status, rejected.value.code) == (401, "bad_signature")


def test_the_carried_context_reads_back_only_as_written() -> None:
    assert HandoffContext.decode(PRESSED.encode()) == PRESSED
    for raw in (None, "", "[]", "{garbled", '{"incident_id": "x", "extra": 1}'):
        assert HandoffContext.decode(raw) is None
