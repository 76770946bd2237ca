"""Block Kit primitives for pmhub's messages: small, pure, and within Slack's limits.

Limits (docs.slack.dev, Block Kit reference): a section's text and each field at
most 3000 characters (fields: 2000, at most 10), a header 150, a button's text 75
and value 2000, a context at most 10 elements, a message at most 50 blocks. Text
people wrote (titles, summaries) is escaped and clipped here so that a long incident
title can never make Slack refuse a reminder with `invalid_blocks`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.model.incident import Incident, Person

Block = dict[str, Any]
"""One Block Kit block, as the vendor's JSON."""

SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
MAX_FIELDS = 10
HEADER_TEXT_MAX = 150
BUTTON_TEXT_MAX = 75
BUTTON_VALUE_MAX = 2000
CONTEXT_ELEMENTS_MAX = 10
MAX_BLOCKS = 50
URL_MAX = 3000
# The fallback is for notifications and screen readers: a few lines, not the document.
FALLBACK_TEXT_MAX = 4000
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """What to say: rich `blocks`, and `text` for notifications and screen readers.

    `text` is never empty: it is what a phone's notification and a screen reader
    show, and what a client that cannot render the blocks falls back to.
    """

    text: str
    blocks: tuple[Block, ...] = ()

    def __post_init__(self) -> None:
        if not self.text.strip():
            raise ValueError("a chat message needs a plain-text fallback")


def escape(text: str) -> str:
    """Slack's three control characters, so `<`, `>` and `&` in a title stay literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def plain(text: str, limit: int) -> Block:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


def mrkdwn(text: str, limit: int = SECTION_TEXT_MAX) -> Block:
    return {"type": "mrkdwn", "text": clip(text, limit)}


def header(text: str) -> Block:
    return {"type": "header", "text": plain(text, HEADER_TEXT_MAX)}


def section(text: str) -> Block:
    return {"type": "section", "text": mrkdwn(text)}


def fields(pairs: Sequence[tuple[str, str]]) -> Block:
    """A two-column section of `*label*\\nvalue` cells."""
    cells = [mrkdwn(f"*{label}*\n{value}", FIELD_TEXT_MAX) for label, value in pairs]
    return {"type": "section", "fields": cells[:MAX_FIELDS]}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:CONTEXT_ELEMENTS_MAX]]}


def divider() -> Block:
    return {"type": "divider"}


def button(
    text: str,
    action_id: str,
    *,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
) -> Block:
    element: Block = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT_MAX),
        "action_id": action_id,
    }
    if value is not None:
        element["value"] = clip(value, BUTTON_VALUE_MAX)
    if url is not None and len(url) <= URL_MAX:
        element["url"] = url
    if style is not None:
        element["style"] = style
    return element


def actions(*elements: Block, block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def chat_message(text: str, blocks: Sequence[Block]) -> ChatMessage:
    """The one way builders make a message: fallback escaped and clipped, at most 50 blocks.

    Slack parses `text` as mrkdwn too, so a title's `<`, `>` and `&` are escaped there
    as in the blocks; the fallbacks carry no markup of their own.
    """
    fallback = escape(clip(text, FALLBACK_TEXT_MAX))
    return ChatMessage(text=fallback, blocks=tuple(blocks[:MAX_BLOCKS]))


# -- words ------------------------------------------------------------------------------


def utc_text(moment: datetime) -> str:
    """A time everyone reads the same way, for the plain-text fallback."""
    return moment.astimezone(UTC).strftime("%a %d %b %Y %H:%M UTC")


def when(moment: datetime) -> str:
    """A time each reader sees in their own time zone (Slack's date token), UTC as fallback."""
    seconds = int(moment.timestamp())
    return f"<!date^{seconds}^{{date_short_pretty}} at {{time}}|{utc_text(moment)}>"


def person_name(person: Person) -> str:
    """A person without a Slack account is still named: by name and email."""
    if person.name and person.email:
        return f"{person.name} ({person.email})"
    return person.display


def slack_id_of(person: Person, people: Mapping[str, str | None]) -> str | None:
    return person.slack_id or people.get(person.key)


def is_group_id(slack_id: str) -> bool:
    """A Slack user group (`S…`), as a policy may name one (an owner fallback, an
    escalation step): mentioned as a group, told in a channel, never DMed."""
    return slack_id.startswith("S")


def mention(person: Person, people: Mapping[str, str | None]) -> str:
    """`<@U…>` when Slack knows the person (it renders their name and notifies them);
    `<!subteam^S…>` for a user group, which notifies its members."""
    slack_id = slack_id_of(person, people)
    if slack_id and is_group_id(slack_id):
        return f"<!subteam^{slack_id}>"
    return f"<@{slack_id}>" if slack_id else escape(person_name(person))


def incident_name(incident: Incident) -> str:
    return incident.reference or incident.source_id


def incident_link(incident: Incident) -> str:
    """The incident's reference, linked to the vendor's page when there is one."""
    name = escape(incident_name(incident))
    url = incident.links.vendor_url
    return f"<{url}|{name}>" if url else name


def incident_title(incident: Incident, limit: int = 200) -> str:
    return escape(clip(incident.title or "(untitled)", limit))


def bullet_list(items: Sequence[str], *, limit: int = SECTION_TEXT_MAX) -> str:
    """`• item` lines, dropping the tail (with a count) rather than cutting a line in half."""
    lines: list[str] = []
    used = 0
    for index, item in enumerate(items):
        line = f"• {item}"
        left_after = len(items) - index - 1
        reserve = len(f"…and {left_after} more") + 1 if left_after else 0
        if used + len(line) + 1 + reserve > limit:
            lines.append(f"…and {len(items) - index} more")
            break
        lines.append(line)
        used += len(line) + 1
    return "\n".join(lines)
