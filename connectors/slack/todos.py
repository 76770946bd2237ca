"""The TODOs found in an incident's history, offered to the owner in their DM. Pure.

Seed 004: "Go through the history in Slack to identify any TODO items." pmhub finds
them (messages saying TODO, "action item", "follow up", or with the policy's reaction)
and offers each with an **Add as follow-up** button, which opens a small form asking
its priority (`modals.follow_up_modal`). Nothing is filed without a person. A TODO
already added shows as what, so the message (edited in place) stays true.

At most `SHOWN` TODOs get a row (a message holds 50 blocks); the rest are named in the
document's pmhub section.
"""

from __future__ import annotations

from typing import Any

from connectors.slack.blocks import (
    ChatMessage,
    actions,
    button,
    chat_message,
    clip,
    context,
    escape,
    header,
    incident_link,
    incident_name,
    section,
    when,
)
from hub.model.command import TODO_BUTTON
from hub.model.document import CandidateFollowUp
from hub.model.incident import Incident
from hub.model.postmortem import PostMortem

SHOWN = 20  # two blocks each, within a message's 50
TEXT_MAX = 500


def todo_value(incident: Incident, candidate: CandidateFollowUp) -> str:
    """The button's value: which incident, which TODO (read back by the intake adapter)."""
    return f"{incident.id}|{candidate.id}"


def follow_up_candidates(incident: Incident, postmortem: PostMortem) -> ChatMessage:
    name = incident_name(incident)
    found = postmortem.candidates
    open_count = sum(1 for c in found if c.follow_up_id is None)
    blocks: list[dict[str, Any]] = [
        header(f"TODOs found for {name}"),
        section(
            f"pmhub read the history of {incident_link(incident)} and found "
            f"{len(found)} TODO{'s' if len(found) != 1 else ''}. Add the ones worth doing "
            "as follow-ups (you choose the priority); the others stay here and in the "
            "post-mortem document."
        ),
    ]
    for candidate in found[:SHOWN]:
        blocks.append(section(_line(candidate)))
        if candidate.follow_up_id is None:
            blocks.append(
                actions(
                    button("Add as follow-up", TODO_BUTTON, value=todo_value(incident, candidate)),
                    block_id=f"pm_todo_{candidate.id}",
                )
            )
        else:
            blocks.append(
                context(f":white_check_mark: Added as `{escape(candidate.follow_up_id)}`")
            )
    if len(found) > SHOWN:
        blocks.append(context(f"{len(found) - SHOWN} more are listed in the post-mortem document."))
    if postmortem.document_url:
        blocks.append(context(f"<{postmortem.document_url}|Open the post-mortem>"))
    text = f"{name}: {open_count} TODO{'s' if open_count != 1 else ''} from the incident to review."
    return chat_message(text, blocks)


def _line(candidate: CandidateFollowUp) -> str:
    said = escape(clip(candidate.text, TEXT_MAX))
    by = f" ({escape(candidate.author)}, {when(candidate.at)})" if candidate.author else ""
    source = f" <{candidate.link}|message>" if candidate.link else ""
    return f"> {said}\n{by.strip()}{source}".rstrip()
