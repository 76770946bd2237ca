"""Replies to `/postmortem` commands and buttons (sent through the response_url), pure.

The command grammar belongs to the intake adapter (`hub/intake/adapters/slack.py`,
its `HELP_TEXT`); `help_reply` renders whatever usage text it is given so the two
can never disagree.
"""

from __future__ import annotations

from datetime import datetime

from connectors.slack.blocks import (
    ChatMessage,
    chat_message,
    clip,
    context,
    escape,
    fields,
    incident_link,
    incident_name,
    incident_title,
    mention,
    section,
)
from connectors.slack.messages import (
    NO_PEOPLE,
    People,
    external_message_text,
    follow_ups_text,
    meeting_text,
)
from hub.model.incident import Incident, Person
from hub.model.postmortem import FollowUpState, PostMortem

REASON_MAX = 1500


def help_reply(usage: str) -> ChatMessage:
    return chat_message(usage, blocks=(section(usage), context(_NOT_BLAME_SHORT)))


_NOT_BLAME_SHORT = "Post-mortems are blameless: owning one means leading the learning."


def status_reply(
    incident: Incident,
    postmortem: PostMortem | None,
    owner: Person | None,
    *,
    deadline: datetime | None = None,
    people: People = NO_PEOPLE,
) -> ChatMessage:
    """`/postmortem status`: status, owner, meeting, follow-ups, external message."""
    name = incident_name(incident)
    if postmortem is None:
        text = f"{name} has no post-mortem (yet)."
        return chat_message(
            text,
            blocks=(section(f"{incident_link(incident)}: {incident_title(incident)}\n{text}"),),
        )
    live = [f for f in postmortem.follow_ups if f.state is not FollowUpState.DROPPED]
    pairs = [
        ("Status", postmortem.status.label),
        ("Owner", mention(owner, people) if owner else "nobody yet"),
        ("Meeting", meeting_text(postmortem.meeting, deadline)),
        ("External message", external_message_text(postmortem)),
    ]
    blocks = [
        section(f"*Post-mortem for {incident_link(incident)}*: {incident_title(incident)}"),
        fields(pairs),
        section("*Follow-ups:*\n" + follow_ups_text(live, postmortem)),
    ]
    if postmortem.not_needed_reason:
        blocks.append(context(f"Not needed: {escape(postmortem.not_needed_reason)}"))
    if postmortem.document_url:
        blocks.append(context(f"<{postmortem.document_url}|Open the post-mortem>"))
    owner_text = owner.display if owner else "nobody yet"
    text = (
        f"{name} post-mortem: {postmortem.status.label}, owner {owner_text}, "
        f"{len(live)} follow-up{'s' if len(live) != 1 else ''}."
    )
    return chat_message(text, blocks)


def refusal_reply(action: str, reason: str, *, incident: Incident | None = None) -> ChatMessage:
    """A command the lifecycle guards refused: say which rule, and what would unblock it."""
    subject = f" for {incident_link(incident)}" if incident else ""
    reason_text = escape(clip(reason, REASON_MAX))
    blocks = (
        section(f":no_entry: *Can't {escape(action)}{subject}.*\n{reason_text}"),
        context("Fix what is missing, or repeat the command with `--override` and a reason."),
    )
    plain_subject = f" for {incident_name(incident)}" if incident else ""
    return chat_message(f"Can't {action}{plain_subject}: {reason}", blocks=blocks)
