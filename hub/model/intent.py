"""An intent: one thing the policy engine wants to be true, named by a stable key.

The reconciler diffs the intents of a plan against the effects ledger by `key`
and enqueues only what is missing or changed (`fingerprint` differs). Keys are
therefore derived only from the incident id and facts that identify the effect
(`pm:<id>:meeting`, `pm:<id>:followup:<n>:ticket`, `pm:<id>:remind:<clause>@<utc>`),
never from the evaluation time, so evaluating the same state twice yields the
same keys.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from enum import StrEnum

from pydantic import Field, JsonValue

from hub.model.incident import Frozen


class IntentKind(StrEnum):
    CREATE_POSTMORTEM = "create_postmortem"
    NOTIFY_OWNER = "notify_owner"
    ANNOUNCE_OWNER = "announce_owner"
    ASK_OPTIONAL = "ask_optional"
    SCHEDULE_MEETING = "schedule_meeting"
    INVITE_TO_MEETING = "invite_to_meeting"
    UPDATE_MEETING = "update_meeting"
    CHECK_MEETING = "check_meeting"
    REPORT_LATE_MEETING = "report_late_meeting"
    REPORT_UNRESOLVED_ROLE = "report_unresolved_role"
    REQUEST_REVIEW = "request_review"
    REMIND = "remind"
    FILE_FOLLOWUP = "file_followup"
    FLAG_FOLLOWUP = "flag_followup"
    REQUEST_EXTERNAL_MESSAGE = "request_external_message"
    PUBLISH_EXTERNAL_MESSAGE = "publish_external_message"
    PAGERDUTY_NOTE = "pagerduty_note"
    SHARE_OUTCOME = "share_outcome"


class Intent(Frozen):
    key: str = Field(description="stable identity, e.g. 'pm:pagerduty:P1:meeting'")
    kind: IntentKind
    due_at: datetime | None = Field(
        default=None, description="when to carry it out; None means as soon as possible"
    )
    rule: str = Field(description="name of the policy rule that asked for it")
    clause: str = Field(description="the part of the rule, e.g. 'meeting' or 'reminders.overdue'")
    reason: str = Field(description="one sentence a person can read")
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    message: str = Field(
        default="", description="text for people; rewording it is not a change worth re-sending"
    )

    def fingerprint(self) -> str:
        """A digest of what the effect depends on: equal fingerprints mean nothing changed.

        The key is the identity, and `reason`/`message` are wording: a fixed typo
        or an edited incident title must not send a second notification.
        """
        due = self.due_at.astimezone(UTC).isoformat() if self.due_at else None
        body = {
            "kind": self.kind.value,
            "due_at": due,
            "rule": self.rule,
            "clause": self.clause,
            "payload": self.payload,
        }
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def utc_stamp(moment: datetime) -> str:
    """The UTC time written into a key: independent of the policy's time zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
