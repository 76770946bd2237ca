"""An intent: one thing the policy engine wants to be true, named by a stable key.

The reconciler diffs the intents of a plan against the effects ledger by `key`
and enqueues only what is missing or changed (`fingerprint` differs). Keys are
therefore derived only from the incident id and facts that identify the effect
(`pm:<id>:meeting`, `pm:<id>:followup:<n>:ticket`, `pm:<id>:remind:<clause>@<utc>`),
never from the evaluation time, so evaluating the same state twice yields the
same keys.

What an intent carries is a typed payload, one model per intent kind (a union
discriminated by `kind`): `hub.policy` builds it, the performers (`hub.engine`) and
the connectors read it, and mypy checks both sides. Two kinds have two shapes:
NOTIFY_OWNER (the owner's own DM, or the DM of a former owner after a hand-off) and
PAGERDUTY_NOTE (when the owner and meeting are known, and at close).

The fingerprint is a stored contract. The effects ledger keeps it, and an effect
whose fingerprint changed is done again, so the canonical JSON a payload hashes to
(`Payload.canonical`) must not change for an unchanged intent: a person as their
known identities only (no nulls), a time as `datetime.isoformat()` in the offset it
was planned in, and an optional key left out rather than null where the payload
never had it (`OMIT_WHEN_NONE`). tests/unit/test_intent_fingerprints.py pins the
digests. Targets (`ROUTING_FIELDS`: the team's channel, calendar, Jira project,
status page) are such keys on every payload that has them: an installation that
routes nothing hashes exactly what it hashed before routing existed.

Adding an intent kind: a member of `IntentKind`; a payload model here whose
`kind` is that member (a `Literal` with it as the default) and whose fields are
what the effect depends on, nothing worded, in the `hub.model.payloads_*` module of its
kind of work; the model in `IntentPayload`; the
policy adds it with `Context.add`; a performer registered for the kind reads it
with `hub.engine.performers.payload_of`. Then add a scenario to the fingerprint
test and check that only new digests appear.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, get_args

from pydantic import Discriminator, Field, Tag

from hub.model.incident import Frozen
from hub.model.intent_base import (
    ROUTING_FIELDS,
    CalendarId,
    Channel,
    IntentKind,
    MeetingFacts,
    Moment,
    Payload,
    PersonRef,
)
from hub.model.payloads_closing import (
    AskKeepPostMortem,
    AskSecondReview,
    CancelMeeting,
    ClosedNote,
    CloseNotNeeded,
    FollowVendorStatus,
    OwnerAndMeetingNote,
    ReportCloseBlocked,
    ReportNoOwner,
    ReportUnassignedFollowUp,
    ShareOutcome,
    WriteVendorStatus,
)
from hub.model.payloads_document import (
    CandidateOffer,
    CreateDocument,
    DraftFollowUp,
    EmailResults,
    OfferFollowUps,
    UpdateDocumentDraft,
)
from hub.model.payloads_outputs import (
    FileFollowUp,
    FlagFollowUp,
    FollowUpStage,
    PublishExternalMessage,
    RemindFollowUp,
    RequestExternalMessage,
    SetFollowUpDue,
)
from hub.model.payloads_process import (
    AnnounceOwner,
    AskOptional,
    CheckMeeting,
    CreatePostMortem,
    InviteToMeeting,
    NotifyFormerOwner,
    NotifyOwner,
    Remind,
    ReportLateMeeting,
    ReportMeetingBooking,
    ReportMeetingCancelled,
    ReportNoMeetingSlot,
    ReportUnresolvedRole,
    RequestReview,
    ScheduleMeeting,
    UpdateMeeting,
)

__all__ = [
    "ROUTING_FIELDS",
    "AnnounceOwner",
    "AskKeepPostMortem",
    "AskOptional",
    "AskSecondReview",
    "CalendarId",
    "CancelMeeting",
    "CandidateOffer",
    "Channel",
    "CheckMeeting",
    "CloseNotNeeded",
    "ClosedNote",
    "CreateDocument",
    "CreatePostMortem",
    "DraftFollowUp",
    "EmailResults",
    "FileFollowUp",
    "FlagFollowUp",
    "FollowUpStage",
    "FollowVendorStatus",
    "Intent",
    "IntentKind",
    "IntentPayload",
    "InviteToMeeting",
    "MeetingFacts",
    "Moment",
    "NotifyFormerOwner",
    "NotifyOwner",
    "OfferFollowUps",
    "OwnerAndMeetingNote",
    "OwnerDm",
    "PagerDutyNote",
    "Payload",
    "PersonRef",
    "PublishExternalMessage",
    "Remind",
    "RemindFollowUp",
    "ReportCloseBlocked",
    "ReportLateMeeting",
    "ReportMeetingBooking",
    "ReportMeetingCancelled",
    "ReportNoMeetingSlot",
    "ReportNoOwner",
    "ReportUnassignedFollowUp",
    "ReportUnresolvedRole",
    "RequestExternalMessage",
    "RequestReview",
    "ScheduleMeeting",
    "SetFollowUpDue",
    "ShareOutcome",
    "UpdateDocumentDraft",
    "UpdateMeeting",
    "WriteVendorStatus",
    "payload_types",
    "utc_stamp",
]


def _owner_dm_shape(value: Any) -> str:
    """Which NOTIFY_OWNER shape: a former owner's DM is the one naming whom it went to."""
    if isinstance(value, dict):
        return "former" if "handed_to" in value else "owner"
    return "former" if isinstance(value, NotifyFormerOwner) else "owner"


OwnerDm = Annotated[
    Annotated[NotifyOwner, Tag("owner")] | Annotated[NotifyFormerOwner, Tag("former")],
    Discriminator(_owner_dm_shape),
]
PagerDutyNote = Annotated[OwnerAndMeetingNote | ClosedNote, Field(discriminator="moment")]

IntentPayload = Annotated[
    CreatePostMortem
    | OwnerDm
    | AnnounceOwner
    | AskOptional
    | ScheduleMeeting
    | InviteToMeeting
    | UpdateMeeting
    | CheckMeeting
    | ReportLateMeeting
    | ReportMeetingBooking
    | ReportNoMeetingSlot
    | ReportMeetingCancelled
    | ReportUnresolvedRole
    | RequestReview
    | Remind
    | FileFollowUp
    | FlagFollowUp
    | SetFollowUpDue
    | RemindFollowUp
    | RequestExternalMessage
    | PublishExternalMessage
    | PagerDutyNote
    | ShareOutcome
    | ReportNoOwner
    | AskKeepPostMortem
    | CloseNotNeeded
    | CancelMeeting
    | AskSecondReview
    | ReportUnassignedFollowUp
    | FollowVendorStatus
    | ReportCloseBlocked
    | WriteVendorStatus
    | CreateDocument
    | UpdateDocumentDraft
    | OfferFollowUps
    | EmailResults,
    Field(discriminator="kind"),
]


def payload_types() -> dict[IntentKind, tuple[type[Payload], ...]]:
    """Every payload model of the union, by the intent kind it carries (in union order)."""
    found: dict[IntentKind, tuple[type[Payload], ...]] = {}

    def visit(hint: Any) -> None:
        if isinstance(hint, type) and issubclass(hint, Payload):
            kind = hint.model_fields["kind"].default
            found[kind] = (*found.get(kind, ()), hint)
        for inner in get_args(hint):
            visit(inner)

    visit(IntentPayload)
    return found


class Intent(Frozen):
    key: str = Field(description="stable identity, e.g. 'pm:pagerduty:P1:meeting'")
    due_at: datetime | None = Field(
        default=None, description="when to carry it out; None means as soon as possible"
    )
    rule: str = Field(description="name of the policy rule that asked for it")
    clause: str = Field(description="the part of the rule, e.g. 'meeting' or 'reminders.overdue'")
    reason: str = Field(description="one sentence a person can read")
    payload: IntentPayload
    message: str = Field(
        default="", description="text for people; rewording it is not a change worth re-sending"
    )

    @property
    def kind(self) -> IntentKind:
        return self.payload.kind

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
            "payload": self.payload.canonical(),
        }
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(text.encode()).hexdigest()


def utc_stamp(moment: datetime) -> str:
    """The UTC time written into a key: independent of the policy's time zone."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
