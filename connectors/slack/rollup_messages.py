"""The roll-up: many post-mortem announcements in one channel message, a line each.

In a storm the incidents channel cannot carry one post per post-mortem (Slack takes
about one post a second per channel), so the engine gathers the announcements into
a roll-up (`hub.engine.performers.rollup`) and this module renders it: a header, one
line per post-mortem (who owns it, the meeting, its status), each line kept true as
its post-mortem progresses, by editing the roll-up in place.

Sized for Slack's limits: at most 50 blocks a message and 3,000 characters a
section, so a roll-up holds `ROLLUP_MAX_LINES` lines, one section each.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from connectors.slack.blocks import (
    ChatMessage,
    chat_message,
    clip,
    context,
    escape,
    header,
    incident_link,
    incident_title,
    mention,
    person_name,
    section,
)
from connectors.slack.messages import meeting_text
from hub.model.incident import Incident, Person
from hub.model.postmortem import PostMortem

# 40 line sections + a header + a context block: well inside Slack's 50 blocks.
ROLLUP_MAX_LINES = 40
LINE_MAX_CHARS = 600  # a line is one post-mortem's summary, never a wall of text


def announcement_line(
    incident: Incident,
    postmortem: PostMortem | None,
    owner: Person,
    *,
    deadline: datetime | None,
    people: Mapping[str, str | None],
    previous_owner: Person | None = None,
) -> str:
    """One post-mortem's line: the same facts as its own announcement, in one line."""
    meeting = postmortem.meeting if postmortem else None
    status = postmortem.status.label if postmortem else "No post-mortem yet"
    handed = f" (taken over from {escape(person_name(previous_owner))})" if previous_owner else ""
    document = postmortem.document_url if postmortem else None
    doc = f" · <{document}|document>" if document else ""
    line = (
        f":memo: {incident_link(incident)} ({incident.severity.value}) "
        f"{incident_title(incident, limit=120)} · *Owner:* {mention(owner, people)}{handed}"
        f" · *Meeting:* {meeting_text(meeting, deadline)} · *Status:* {escape(status)}{doc}"
    )
    return clip(line, LINE_MAX_CHARS)


def rollup_message(lines: Sequence[str]) -> ChatMessage:
    """The roll-up as posted or edited: every line it holds, in the order they came."""
    count = len(lines)
    noun = "post-mortem" if count == 1 else "post-mortems"
    blocks = [
        header(f"{count} {noun} started"),
        *(section(line) for line in lines[:ROLLUP_MAX_LINES]),
        context(
            "Many incidents ended at once, so their announcements share this message; "
            "each line is kept up to date as its post-mortem progresses."
        ),
    ]
    return chat_message(f"{count} {noun} started: owners and meetings inside.", blocks)
