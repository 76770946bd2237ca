"""The TODOs offered to the owner, the "Add as follow-up" form, and its submission read back.

Pure builders and the intake adapter meet here through the ids in `hub.model.command`:
what the button carries and what the form sends back must be what the other reads.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from connectors.slack.fake.views import view_problems
from connectors.slack.messages import outcome_summary
from connectors.slack.modals import follow_up_modal
from connectors.slack.todos import SHOWN, follow_up_candidates
from hub.intake.adapters.slack import parse_interaction, view_submission_ack
from hub.model.command import (
    TODO_BUTTON,
    TODO_FORM,
    TODO_PRIORITY_ACTION,
    TODO_PRIORITY_BLOCK,
    TODO_SUMMARY_ACTION,
    TODO_SUMMARY_BLOCK,
    Command,
    CommandVerb,
    FollowUpFormContext,
)
from hub.model.document import CandidateFollowUp, DocumentRecord
from hub.model.incident import Incident, Severity, Source
from hub.model.postmortem import PostMortem, PostMortemStatus

AT = datetime(2026, 11, 19, 15, 30, tzinfo=UTC)
INCIDENT = Incident(
    id="pagerduty:PGR0VU2",
    source=Source.PAGERDUTY,
    source_id="PGR0VU2",
    reference="PD-1042",
    title="Checkout API 5xx",
    severity=Severity.SEV1,
)
TODO = CandidateFollowUp(
    id="todo-1a2b3c4d5e",
    text="TODO: alert on <config> drift",
    author="Bob Okafor",
    at=AT,
    link="https://acme.slack.com/archives/C0WAR/p1",
)
ADDED = TODO.model_copy(update={"id": "todo-2", "text": "follow up", "follow_up_id": "fu-9"})
PM = PostMortem(
    incident_id=INCIDENT.id,
    candidates=(TODO, ADDED),
    document_url="https://docs.google.com/document/d/1/edit",
)
FORM = FollowUpFormContext(
    incident_id=INCIDENT.id,
    candidate_id=TODO.id,
    response_url="https://hooks.slack.com/actions/T0/1/x",
    channel_id="D0ALICE01",
)


def test_each_open_todo_gets_a_button_and_an_added_one_says_as_what() -> None:
    message = follow_up_candidates(INCIDENT, PM)
    shown = json.dumps(message.blocks)
    buttons = [
        element
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        (TODO_BUTTON, f"{INCIDENT.id}|{TODO.id}")
    ]
    assert "TODO: alert on &lt;config&gt; drift" in shown  # escaped
    assert "Added as `fu-9`" in shown
    assert PM.document_url is not None
    assert PM.document_url in shown
    assert message.text == "PD-1042: 1 TODO from the incident to review."


def test_a_long_list_stays_within_a_message_s_blocks() -> None:
    many = tuple(TODO.model_copy(update={"id": f"todo-{n}"}) for n in range(SHOWN + 7))
    message = follow_up_candidates(INCIDENT, PM.model_copy(update={"candidates": many}))
    assert len(message.blocks) <= 50
    assert "7 more are listed in the post-mortem document" in json.dumps(message.blocks)


def test_the_form_is_a_valid_modal_with_the_todo_s_words_and_the_priorities() -> None:
    view = follow_up_modal(INCIDENT, TODO, FORM, ("P0", "P1"))
    assert view_problems(view) == []
    assert view["callback_id"] == TODO_FORM
    assert FollowUpFormContext.decode(view["private_metadata"]) == FORM
    summary, priority = [b for b in view["blocks"] if b["type"] == "input"]
    assert summary["element"]["initial_value"] == TODO.text
    assert [o["value"] for o in priority["element"]["options"]] == ["P0", "P1"]


def _pressed(value: str) -> dict[str, object]:
    return {
        "type": "block_actions",
        "user": {"id": "U0ALICE", "username": "alice"},
        "channel": {"id": "D0ALICE01"},
        "trigger_id": "1.2.abc",
        "response_url": "https://hooks.slack.com/actions/T0/2/y",
        "actions": [{"action_id": TODO_BUTTON, "value": value, "type": "button"}],
    }


def test_the_button_press_names_the_incident_and_the_todo() -> None:
    [command] = parse_interaction(_pressed(f"{INCIDENT.id}|{TODO.id}"))
    assert isinstance(command, Command)
    assert command.verb is CommandVerb.ADD_TODO
    assert (command.postmortem_id, command.candidate_id) == (INCIDENT.id, TODO.id)


def _submitted(summary: str | None, priority: str | None, metadata: str) -> dict[str, object]:
    chosen = {"text": {"type": "plain_text", "text": priority}, "value": priority}
    return {
        "type": "view_submission",
        "user": {"id": "U0ALICE", "username": "alice"},
        "trigger_id": "1.3.def",
        "view": {
            "callback_id": TODO_FORM,
            "private_metadata": metadata,
            "state": {
                "values": {
                    TODO_SUMMARY_BLOCK: {TODO_SUMMARY_ACTION: {"value": summary}},
                    TODO_PRIORITY_BLOCK: {
                        TODO_PRIORITY_ACTION: {"selected_option": chosen if priority else None}
                    },
                }
            },
        },
    }


def test_a_submitted_form_is_the_followup_command_for_that_todo() -> None:
    payload = _submitted("Alert on config drift", "P1", FORM.encode())
    assert view_submission_ack(payload) is None
    [command] = parse_interaction(payload)
    assert isinstance(command, Command)
    assert command.verb is CommandVerb.FOLLOWUP
    assert (command.priority, command.text) == ("P1", "Alert on config drift")
    assert (command.incident_ref, command.candidate_id) == (INCIDENT.id, TODO.id)
    assert command.response_url == FORM.response_url


def test_a_form_missing_its_priority_or_words_stays_open_naming_them() -> None:
    answer = view_submission_ack(_submitted("  ", None, FORM.encode()))
    assert answer is not None
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {TODO_SUMMARY_BLOCK, TODO_PRIORITY_BLOCK}
    stale = view_submission_ack(_submitted("x", "P1", "{not pmhub's"))
    assert stale is not None
    assert "out of date" in stale["errors"][TODO_SUMMARY_BLOCK]


def test_the_outcome_post_carries_the_document_s_summary() -> None:
    document = DocumentRecord(
        tool="google_docs",
        id="1",
        url="https://docs/1",
        created_at=AT,
        summary="Checkout failed for 5 hours after a config push.",
    )
    closed = PostMortem(
        incident_id=INCIDENT.id,
        status=PostMortemStatus.CLOSED,
        document=document,
        document_url=document.url,
    )
    message = outcome_summary(INCIDENT, closed, None)
    assert "*Summary:*\\nCheckout failed for 5 hours after a config push." in json.dumps(
        message.blocks
    )
    assert message.text.endswith("Checkout failed for 5 hours after a config push.")
    without = outcome_summary(INCIDENT, closed.model_copy(update={"document": None}), None)
    assert "Summary" not in json.dumps(without.blocks)
