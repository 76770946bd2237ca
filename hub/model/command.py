"""A request a person made of pmhub in Slack: `/postmortem …` or a button press.

The Slack adapter turns both into this one type so the engine handles a typed
command and a button the same way. A command that could not be parsed is still
a `Command` (verb `invalid`, with `message` saying what was wrong) so parsing
never raises on user input.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Self

from pydantic import ValidationError

from hub.model.incident import Frozen, Person

# The hand-off form (Slack: a modal) is built by the chat connector and read back by
# the intake adapter when it is submitted; these ids are the contract between the two.
HANDOFF_FORM = "pm_handoff"  # the form's callback id
HANDOFF_OWNER_BLOCK, HANDOFF_OWNER_ACTION = "pm_handoff_owner", "new_owner"
HANDOFF_REASON_BLOCK, HANDOFF_REASON_ACTION = "pm_handoff_reason", "reason"
HANDOFF_REASON_MAX = 500
# The "Add as follow-up" form (issue 14): a TODO found in the incident's history, offered
# to the owner with a button; the form asks its priority (and lets the words be fixed).
TODO_BUTTON = "pm_add_todo"  # the button's action id; its value is "<incident id>|<todo id>"
TODO_FORM = "pm_todo"  # the form's callback id
TODO_SUMMARY_BLOCK, TODO_SUMMARY_ACTION = "pm_todo_summary", "summary"
TODO_PRIORITY_BLOCK, TODO_PRIORITY_ACTION = "pm_todo_priority", "priority"
TODO_SUMMARY_MAX = 300


class CommandVerb(StrEnum):
    HELP = "help"
    STATUS = "status"
    OWNER = "owner"
    FOLLOWUP = "followup"
    NO_FOLLOW_UPS = "followups_none"  # `followups none <reason>`
    MESSAGE = "message"
    MEETING = "meeting"  # link a meeting a person booked: `text` is its link or id
    REVIEW = "review"
    REVIEWED = "reviewed"
    CLOSE = "close"
    # Buttons on pmhub's own messages (action_id pm_accept / pm_handoff / pm_open).
    ACCEPT = "accept"
    HANDOFF = "handoff"  # opens the hand-off form; submitting it is an `owner` command
    OPEN = "open"
    # issue 13: the questions pmhub asks when the process cannot go on by itself
    TAKE = "take"  # nobody owned it: the presser does
    KEEP = "keep"  # it stopped being required: keep it
    NOT_NEEDED = "not_needed"  # … or close it as not needed
    SECOND_REVIEW = "second_review"  # reopened after the meeting: review again
    REVIEW_STANDS = "review_stands"  # … or the review stands
    ADD_TODO = "add_todo"  # opens the "Add as follow-up" form; submitting it is a `followup`
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
    candidate_id: str | None = None  # a TODO found in the history (`add_todo`, `followup`)


class HandoffContext(Frozen):
    """What the hand-off form carries from the button press to its submission.

    Slack keeps it in the modal's `private_metadata` (at most 3000 characters) and
    sends it back with the submission, which has no response_url of its own: the
    button's is kept here so the answer reaches the person where they pressed it.
    """

    incident_id: str
    response_url: str | None = None
    channel_id: str | None = None

    def encode(self) -> str:
        return self.model_dump_json(exclude_none=True)

    @classmethod
    def decode(cls, raw: str | None) -> Self | None:
        """The context written by `encode`; None for anything else (never raises)."""
        if not raw:
            return None
        try:
            return cls.model_validate_json(raw)
        except ValidationError:
            return None


class FollowUpFormContext(HandoffContext):
    """What the "Add as follow-up" form carries: the hand-off form's, and which TODO."""

    candidate_id: str
