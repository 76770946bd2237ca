"""A request a person made of pmhub in Slack: `/postmortem …` or a button press.

The Slack adapter turns both into this one type so the engine handles a typed
command and a button the same way. A command that could not be parsed is still
a `Command` (verb `invalid`, with `message` saying what was wrong) so parsing
never raises on user input.
"""

from __future__ import annotations

from enum import StrEnum

from hub.model.incident import Frozen, Person


class CommandVerb(StrEnum):
    HELP = "help"
    STATUS = "status"
    OWNER = "owner"
    FOLLOWUP = "followup"
    MESSAGE = "message"
    REVIEW = "review"
    REVIEWED = "reviewed"
    CLOSE = "close"
    # Buttons on pmhub's own messages (action_id pm_accept / pm_handoff / pm_open).
    ACCEPT = "accept"
    HANDOFF = "handoff"
    OPEN = "open"
    INVALID = "invalid"


class Command(Frozen):
    verb: CommandVerb
    actor: Person
    channel_id: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None
    incident_ref: str | None = None  # "pagerduty:P123", "PD-123" or "INC-45"
    postmortem_id: str | None = None  # from a button's value
    mentions: tuple[Person, ...] = ()
    priority: str | None = None  # "P0".."P9" (followup)
    text: str = ""  # free text: summary, message, close reason
    override: bool = False
    override_reason: str | None = None
    message: str | None = None  # for `invalid`: what was wrong, plus usage
    raw_text: str = ""
