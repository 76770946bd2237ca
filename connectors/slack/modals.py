"""pmhub's Slack modals (views opened with `views.open`), as pure functions.

The hand-off form: the **Hand off…** button on the owner's DM opens it; the person
picks the new owner (a `users_select`, so Slack itself offers only real people) and
may say why. Submitting it is the same hand-off as `/postmortem owner @user INCIDENT`.

The block and action ids, the callback id and the `private_metadata` format are
shared with the intake adapter that reads the submission (`hub.model.command`), so
the two cannot drift apart. Limits (docs.slack.dev, "Modal views"): title, submit
and close at most 24 characters, at most 100 blocks, `private_metadata` at most
3000 characters, `callback_id` at most 255; an input block's label at most 2000,
a select's placeholder at most 150, a plain-text input's `max_length` at most 3000.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from connectors.slack.blocks import (
    Block,
    context,
    incident_link,
    incident_title,
    mention,
    plain,
    section,
)
from hub.model.command import (
    HANDOFF_FORM,
    HANDOFF_OWNER_ACTION,
    HANDOFF_OWNER_BLOCK,
    HANDOFF_REASON_ACTION,
    HANDOFF_REASON_BLOCK,
    HANDOFF_REASON_MAX,
    TODO_FORM,
    TODO_PRIORITY_ACTION,
    TODO_PRIORITY_BLOCK,
    TODO_SUMMARY_ACTION,
    TODO_SUMMARY_BLOCK,
    TODO_SUMMARY_MAX,
    FollowUpFormContext,
    HandoffContext,
)
from hub.model.document import CandidateFollowUp
from hub.model.incident import Incident, Person

VIEW_TEXT_MAX = 24  # title, submit, close
LABEL_MAX = 2000
PLACEHOLDER_MAX = 150
PRIVATE_METADATA_MAX = 3000
NOT_BLAME = "Owning a post-mortem is not blame: it means leading what the team learns."


def handoff_modal(incident: Incident, owner: Person | None, handoff: HandoffContext) -> Block:
    """The hand-off form for one incident's post-mortem, naming who owns it now."""
    current = f"Owned now by {mention(owner, {})}." if owner else "Nobody owns it yet."
    return {
        "type": "modal",
        "callback_id": HANDOFF_FORM,
        "private_metadata": _metadata(handoff),
        "title": plain("Hand off post-mortem", VIEW_TEXT_MAX),
        "submit": plain("Hand off", VIEW_TEXT_MAX),
        "close": plain("Cancel", VIEW_TEXT_MAX),
        "blocks": [
            section(f"*Post-mortem for {incident_link(incident)}*: {incident_title(incident)}"),
            section(current),
            _input(
                HANDOFF_OWNER_BLOCK,
                "New owner",
                {
                    "type": "users_select",
                    "action_id": HANDOFF_OWNER_ACTION,
                    "placeholder": plain("Who takes it over?", PLACEHOLDER_MAX),
                },
                hint="They get a DM saying what owning it involves, and the channel is told.",
            ),
            _input(
                HANDOFF_REASON_BLOCK,
                "Reason",  # Slack adds "(optional)" itself
                {
                    "type": "plain_text_input",
                    "action_id": HANDOFF_REASON_ACTION,
                    "multiline": True,
                    "max_length": HANDOFF_REASON_MAX,
                    "placeholder": plain("e.g. Bob led the fix", PLACEHOLDER_MAX),
                },
                optional=True,
            ),
            context(NOT_BLAME),
        ],
    }


def follow_up_modal(
    incident: Incident,
    candidate: CandidateFollowUp,
    form: FollowUpFormContext,
    priorities: Sequence[str],
) -> Block:
    """ "Add as follow-up" for a TODO found in the incident's history: its words (editable)
    and a priority. Submitting it is `/postmortem followup P… summary INCIDENT`."""
    options = [{"text": plain(p, 75), "value": p} for p in priorities[:100]]
    found = f" (<{candidate.link}|message>)" if candidate.link else ""
    return {
        "type": "modal",
        "callback_id": TODO_FORM,
        "private_metadata": _metadata(form),
        "title": plain("Add follow-up", VIEW_TEXT_MAX),
        "submit": plain("Add", VIEW_TEXT_MAX),
        "close": plain("Cancel", VIEW_TEXT_MAX),
        "blocks": [
            section(f"*Post-mortem for {incident_link(incident)}*: {incident_title(incident)}"),
            context(f"Found in the incident's history{found}."),
            _input(
                TODO_SUMMARY_BLOCK,
                "What should be done",
                {
                    "type": "plain_text_input",
                    "action_id": TODO_SUMMARY_ACTION,
                    "initial_value": candidate.text[:TODO_SUMMARY_MAX],
                    "max_length": TODO_SUMMARY_MAX,
                },
            ),
            _input(
                TODO_PRIORITY_BLOCK,
                "Priority",
                {
                    "type": "static_select",
                    "action_id": TODO_PRIORITY_ACTION,
                    "placeholder": plain("Choose a priority", PLACEHOLDER_MAX),
                    "options": options,
                },
                hint="The policy files some priorities and flags the others to you.",
            ),
        ],
    }


def _input(
    block_id: str,
    label: str,
    element: dict[str, Any],
    *,
    optional: bool = False,
    hint: str | None = None,
) -> Block:
    block: Block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, LABEL_MAX),
        "element": element,
        "optional": optional,
    }
    if hint is not None:
        block["hint"] = plain(hint, LABEL_MAX)
    return block


def _metadata(handoff: HandoffContext | FollowUpFormContext) -> str:
    """The context as `private_metadata`; without the response_url if that would not fit
    (the hand-off still works, only its confirmation is lost)."""
    encoded = handoff.encode()
    if len(encoded) > PRIVATE_METADATA_MAX:
        encoded = handoff.model_copy(update={"response_url": None}).encode()
    return encoded
