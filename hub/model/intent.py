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
what the effect depends on, nothing worded; the model in `IntentPayload`; the
policy adds it with `Context.add`; a performer registered for the kind reads it
with `hub.engine.performers.payload_of`. Then add a scenario to the fingerprint
test and check that only new digests appear.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import Discriminator, Field, JsonValue, PlainSerializer, Tag

from hub.model.incident import Frozen, Person
from hub.model.routing import StatusPageTarget, TrackerTarget


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
    REPORT_MEETING_BOOKING = "report_meeting_booking"
    REPORT_NO_MEETING_SLOT = "report_no_meeting_slot"
    REPORT_MEETING_CANCELLED = "report_meeting_cancelled"
    REPORT_UNRESOLVED_ROLE = "report_unresolved_role"
    REQUEST_REVIEW = "request_review"
    REMIND = "remind"
    FILE_FOLLOWUP = "file_followup"
    FLAG_FOLLOWUP = "flag_followup"
    REQUEST_EXTERNAL_MESSAGE = "request_external_message"
    PUBLISH_EXTERNAL_MESSAGE = "publish_external_message"
    PAGERDUTY_NOTE = "pagerduty_note"
    SHARE_OUTCOME = "share_outcome"
    # issue 13: a lifecycle with no traps, incident.io taken at its word
    REPORT_NO_OWNER = "report_no_owner"
    ASK_KEEP_POSTMORTEM = "ask_keep_postmortem"
    CLOSE_NOT_NEEDED = "close_not_needed"
    CANCEL_MEETING = "cancel_meeting"
    ASK_SECOND_REVIEW = "ask_second_review"
    REPORT_UNASSIGNED_FOLLOWUP = "report_unassigned_followup"
    FOLLOW_VENDOR_STATUS = "follow_vendor_status"
    REPORT_CLOSE_BLOCKED = "report_close_blocked"
    WRITE_VENDOR_STATUS = "write_vendor_status"
    # The post-mortem document (issue 14).
    CREATE_DOCUMENT = "create_document"
    UPDATE_DOCUMENT_DRAFT = "update_document_draft"
    OFFER_FOLLOW_UPS = "offer_follow_ups"
    EMAIL_RESULTS = "email_results"
    # Follow-ups with due dates (issue 15).
    SET_FOLLOWUP_DUE = "set_followup_due"
    REMIND_FOLLOWUP = "remind_followup"


def _identities(person: Person) -> dict[str, str]:
    return person.model_dump(exclude_none=True)


def _iso(moment: datetime) -> str:
    return moment.isoformat()


# A person in a payload: every identity we know, nothing empty (the canonical form).
PersonRef = Annotated[Person, PlainSerializer(_identities, when_used="json")]
# A time in a payload: ISO 8601 with the offset it was planned in (pydantic would
# write UTC as "Z", which is not what was hashed before payloads were typed).
Moment = Annotated[datetime, PlainSerializer(_iso, when_used="json")]


class Payload(Frozen):
    """Base of every intent payload: what the effect depends on, and nothing worded."""

    # Keys left out of the canonical form when None, rather than written as null.
    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset()

    def canonical(self) -> dict[str, JsonValue]:
        """The JSON `Intent.fingerprint` hashes (the kind is hashed beside it, not in it)."""
        data: dict[str, JsonValue] = self.model_dump(mode="json", exclude={"kind"})
        for name in self.OMIT_WHEN_NONE | ROUTING_FIELDS:
            if data.get(name) is None:
                data.pop(name, None)
        return data


# Where an effect goes (issue 15, `hub.model.routing`): set only when the incident's team
# or policy names a target, and left out of the canonical form while unset, so that an
# installation routing nothing keeps every fingerprint it had.
ROUTING_FIELDS = frozenset({"channel", "calendar_id", "tracker", "status_page"})
Channel = Annotated[
    str | None, Field(description="the team's Slack channel; None: pmhub.yaml's (routing)")
]
CalendarId = Annotated[
    str | None, Field(description="the team's calendar id; None: pmhub.yaml's (routing)")
]


class MeetingFacts(Frozen):
    """What a message about the booked meeting shows: its time and link."""

    start: Moment
    end: Moment
    html_link: str | None


# -- the post-mortem and its owner -----------------------------------------------------


class CreatePostMortem(Payload):
    kind: Literal[IntentKind.CREATE_POSTMORTEM] = IntentKind.CREATE_POSTMORTEM
    incident_id: str


class NotifyOwner(Payload):
    """The owner's DM: what it shows (deadline, meeting, Accept) is what re-runs it."""

    kind: Literal[IntentKind.NOTIFY_OWNER] = IntentKind.NOTIFY_OWNER
    owner: PersonRef
    reason: str = Field(description="the owner chain entry that chose them")
    designated_by: PersonRef | None
    previous_owner: PersonRef | None
    deadline: Moment | None
    meeting: MeetingFacts | None
    accepted_at: Moment | None
    document_url: str | None = Field(default=None, description="pmhub's document, once made")
    channel: Channel = None

    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"document_url"})


class NotifyFormerOwner(Payload):
    """A former owner's DM, under their NOTIFY_OWNER key, edited to name the new owner."""

    kind: Literal[IntentKind.NOTIFY_OWNER] = IntentKind.NOTIFY_OWNER
    owner: PersonRef = Field(description="the former owner, whose DM this is")
    handed_to: PersonRef
    channel: Channel = None


class AnnounceOwner(Payload):
    kind: Literal[IntentKind.ANNOUNCE_OWNER] = IntentKind.ANNOUNCE_OWNER
    owner: PersonRef
    previous_owner: PersonRef | None
    deadline: Moment | None
    meeting: MeetingFacts | None
    document_url: str | None = Field(default=None, description="pmhub's document, once made")
    channel: Channel = None

    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"document_url"})


class AskOptional(Payload):
    kind: Literal[IntentKind.ASK_OPTIONAL] = IntentKind.ASK_OPTIONAL
    recipient: PersonRef
    reason: str = Field(description="the owner chain entry that chose the recipient")
    channel: Channel = None


# -- the meeting -----------------------------------------------------------------------


class ScheduleMeeting(Payload):
    """The window to book in, not a chosen time: the slot is chosen when the job runs."""

    kind: Literal[IntentKind.SCHEDULE_MEETING] = IntentKind.SCHEDULE_MEETING
    calendar: str
    title: str
    organizer: PersonRef
    duration_minutes: int
    window_start: Moment = Field(description="`meeting.not_before`: the writing and review time")
    deadline: Moment
    timezone: str = Field(description="the policy's IANA time zone")
    earliest_slot: Moment | None = Field(description="the first candidate, in the order tried")
    invitees: tuple[str, ...]
    fallback_start: Moment | None = Field(
        default=None,
        description="how early the meeting may fall back when the deadline leaves no working "
        "time after `window_start` (the anchor); None when that is `window_start`",
    )
    calendar_id: CalendarId = None

    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"fallback_start"})


class InviteToMeeting(Payload):
    kind: Literal[IntentKind.INVITE_TO_MEETING] = IntentKind.INVITE_TO_MEETING
    email: str
    event_ref: str | None = Field(description="None for a meeting recorded by hand")
    calendar: str
    calendar_id: CalendarId = None


class UpdateMeeting(Payload):
    """What pmhub writes on the event besides its time."""

    kind: Literal[IntentKind.UPDATE_MEETING] = IntentKind.UPDATE_MEETING
    event_ref: str
    owner: PersonRef | None
    commander: PersonRef | None
    reopened: bool
    document_url: str | None = Field(default=None, description="pmhub's document, once made")
    calendar_id: CalendarId = None

    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"document_url"})


class CheckMeeting(Payload):
    kind: Literal[IntentKind.CHECK_MEETING] = IntentKind.CHECK_MEETING
    event_ref: str
    calendar: str
    calendar_id: CalendarId = None


class ReportLateMeeting(Payload):
    kind: Literal[IntentKind.REPORT_LATE_MEETING] = IntentKind.REPORT_LATE_MEETING
    recipient: PersonRef
    meeting: MeetingFacts
    deadline: Moment
    channel: Channel = None


class ReportMeetingBooking(Payload):
    """Tell the owner how the booked time falls short: who cannot make it, or that it is
    earlier than the writing and review time. The meeting's time and the deadline are
    read when the message goes, so a person moving the meeting, or a reopened and
    re-resolved incident, does not send it again."""

    kind: Literal[IntentKind.REPORT_MEETING_BOOKING] = IntentKind.REPORT_MEETING_BOOKING
    recipient: PersonRef
    event_ref: str
    conflicts: tuple[str, ...] = Field(description="required invitees busy at that time")
    optional_conflicts: tuple[str, ...]
    unknown: tuple[str, ...] = Field(description="calendars pmhub could not read")
    not_before: Moment | None = Field(description="set when booked earlier than this")
    channel: Channel = None


class ReportNoMeetingSlot(Payload):
    """No working time to book the meeting in before the deadline: a person picks a time."""

    kind: Literal[IntentKind.REPORT_NO_MEETING_SLOT] = IntentKind.REPORT_NO_MEETING_SLOT
    recipient: PersonRef
    owner: PersonRef
    why: Literal["no_working_time", "no_time_left"] = Field(
        description="no working hours at all in the window, or none left by the time pmhub "
        "tried (the minimum notice included)"
    )
    window_start: Moment
    deadline: Moment
    proposed_start: Moment = Field(description="the first working slot after the deadline")
    proposed_end: Moment
    channel: Channel = None


class ReportMeetingCancelled(Payload):
    """A person cancelled or deleted the meeting: the owner hears it once."""

    kind: Literal[IntentKind.REPORT_MEETING_CANCELLED] = IntentKind.REPORT_MEETING_CANCELLED
    recipient: PersonRef
    event_ref: str
    start: Moment
    how: Literal["cancelled", "deleted"]
    rebook: bool = Field(description="pmhub books another (`meeting.rebook_when_cancelled`)")
    channel: Channel = None


class ReportUnresolvedRole(Payload):
    kind: Literal[IntentKind.REPORT_UNRESOLVED_ROLE] = IntentKind.REPORT_UNRESOLVED_ROLE
    role: str
    recipient: PersonRef
    channel: Channel = None


class RequestReview(Payload):
    kind: Literal[IntentKind.REQUEST_REVIEW] = IntentKind.REQUEST_REVIEW
    meeting_start: Moment
    document_url: str | None
    owner: PersonRef | None
    channel: Channel = None


class Remind(Payload):
    kind: Literal[IntentKind.REMIND] = IntentKind.REMIND
    condition: str = Field(description="the reminder's `if` (hub.policy.schema.ReminderCondition)")
    recipients: tuple[PersonRef, ...]
    unresolved_roles: tuple[str, ...] = Field(description="roles nobody holds: not told")
    escalated_to: tuple[PersonRef, ...] | None = Field(
        default=None,
        description="the step of `escalate_to` this occurrence reached (issue 13): they are "
        "among the recipients; None where the escalation stays with `notify`",
    )
    channel: Channel = None

    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"escalated_to"})

    @property
    def escalation(self) -> bool:
        """An `overdue` reminder escalates: the deadline has passed."""
        return self.condition == "overdue"


# -- what the post-mortem produces -----------------------------------------------------


class FileFollowUp(Payload):
    kind: Literal[IntentKind.FILE_FOLLOWUP] = IntentKind.FILE_FOLLOWUP
    id: str
    summary: str
    priority: str
    owner: PersonRef | None
    labels: tuple[str, ...]
    incident_ref: str
    postmortem_url: str | None
    priority_override_reason: str | None = Field(
        default=None, description="why it is filed despite a priority the policy does not file"
    )
    tracker: TrackerTarget | None = Field(default=None, description="routing; None: pmhub.yaml's")
    due_on: date | None = Field(default=None, description="the due date set on the ticket")

    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"priority_override_reason", "due_on"})


class FlagFollowUp(Payload):
    kind: Literal[IntentKind.FLAG_FOLLOWUP] = IntentKind.FLAG_FOLLOWUP
    id: str
    summary: str
    priority: str
    allowed: tuple[str, ...] = Field(description="the priorities the policy files")
    recipient: PersonRef | None
    channel: Channel = None


class SetFollowUpDue(Payload):
    """Bring the ticket's due date in line with pmhub's (filed before it was known, or moved)."""

    kind: Literal[IntentKind.SET_FOLLOWUP_DUE] = IntentKind.SET_FOLLOWUP_DUE
    id: str
    tracker_key: str
    due_on: date | None


FollowUpStage = Literal["before", "due", "overdue"]


class RemindFollowUp(Payload):
    """A follow-up's owner reminded before and on its due date; escalated after it."""

    kind: Literal[IntentKind.REMIND_FOLLOWUP] = IntentKind.REMIND_FOLLOWUP
    id: str
    due_on: date
    stage: FollowUpStage
    recipients: tuple[PersonRef, ...]
    unresolved_roles: tuple[str, ...] = Field(description="roles nobody holds: not told")
    channel: Channel = None

    @property
    def escalation(self) -> bool:
        """After the due date the policy's escalation contact hears of it."""
        return self.stage == "overdue"


class RequestExternalMessage(Payload):
    kind: Literal[IntentKind.REQUEST_EXTERNAL_MESSAGE] = IntentKind.REQUEST_EXTERNAL_MESSAGE
    recipient: PersonRef
    channel: Channel = None


class PublishExternalMessage(Payload):
    kind: Literal[IntentKind.PUBLISH_EXTERNAL_MESSAGE] = IntentKind.PUBLISH_EXTERNAL_MESSAGE
    body: str
    incident_ref: str
    title: str
    status_page: StatusPageTarget | None = Field(
        default=None, description="routing; None: pmhub.yaml's"
    )


# -- telling the incident tools and the team -------------------------------------------


class OwnerAndMeetingNote(Payload):
    """The PagerDuty incident names the post-mortem owner and meeting."""

    kind: Literal[IntentKind.PAGERDUTY_NOTE] = IntentKind.PAGERDUTY_NOTE
    moment: Literal["owner_and_meeting"] = "owner_and_meeting"
    owner: PersonRef
    meeting_start: Moment
    meeting_link: str | None
    document_url: str | None


class _Closing(Payload):
    """What is said when the post-mortem closes: the same facts to PagerDuty and the team."""

    moment: Literal["closed"] = "closed"
    not_needed_reason: str | None
    document_url: str | None
    follow_ups: tuple[str, ...] = Field(description="tracker keys, else summaries")


class ClosedNote(_Closing):
    kind: Literal[IntentKind.PAGERDUTY_NOTE] = IntentKind.PAGERDUTY_NOTE


class ShareOutcome(_Closing):
    kind: Literal[IntentKind.SHARE_OUTCOME] = IntentKind.SHARE_OUTCOME
    channel: Channel = None


# -- issue 13: a lifecycle with no traps -------------------------------------------------


class ReportNoOwner(Payload):
    """Nobody owns the post-mortem: the rule's fallback hears it at once, with a button to
    take it; without a fallback the incidents channel does. Once someone took it, the same
    message (same key) is edited to say who."""

    kind: Literal[IntentKind.REPORT_NO_OWNER] = IntentKind.REPORT_NO_OWNER
    fallback: PersonRef | None = Field(
        description="an email, or a chat group (a Person with only a group's chat id); "
        "None: the incidents channel"
    )
    taken_by: PersonRef | None
    channel: Channel = None


class AskKeepPostMortem(Payload):
    """The post-mortem stopped being required: keep it, or close it as not needed?"""

    kind: Literal[IntentKind.ASK_KEEP_POSTMORTEM] = IntentKind.ASK_KEEP_POSTMORTEM
    recipient: PersonRef | None = Field(description="the owner; None: the incidents channel")
    required_by: str = Field(description="the rule that required it")
    now_rule: str | None = Field(description="the rule that matches now (None: none does)")
    severity: str
    default: Literal["keep", "close"]
    decide_by: Moment
    answer: Literal["keep", "close"] | None = Field(
        description="what was decided, once it was: the question is edited to say so"
    )
    answered_by: PersonRef | None
    channel: Channel = None


class CloseNotNeeded(Payload):
    """Close as not needed (the default of an unanswered question), in pmhub's own store."""

    kind: Literal[IntentKind.CLOSE_NOT_NEEDED] = IntentKind.CLOSE_NOT_NEEDED
    required_by: str
    now_rule: str | None
    severity: str


class CancelMeeting(Payload):
    """The post-mortem closed as not needed: its future meeting is cancelled, saying why."""

    kind: Literal[IntentKind.CANCEL_MEETING] = IntentKind.CANCEL_MEETING
    event_ref: str
    calendar: str
    not_needed_reason: str
    calendar_id: CalendarId = None


class AskSecondReview(Payload):
    """The incident reopened after the review meeting: is a second review needed?"""

    kind: Literal[IntentKind.ASK_SECOND_REVIEW] = IntentKind.ASK_SECOND_REVIEW
    recipient: PersonRef | None
    meeting_start: Moment
    answer: bool | None = Field(description="True: a second review; None: not answered yet")
    answered_by: PersonRef | None
    channel: Channel = None


class ReportUnassignedFollowUp(Payload):
    """A follow-up was filed unassigned (the tracker does not know its owner): tell the
    post-mortem's owner, with the ticket's link, so a person assigns it."""

    kind: Literal[IntentKind.REPORT_UNASSIGNED_FOLLOWUP] = IntentKind.REPORT_UNASSIGNED_FOLLOWUP
    id: str
    summary: str
    tracker_key: str
    tracker_url: str | None
    intended: PersonRef | None = Field(description="whom it was meant for")
    recipient: PersonRef | None = Field(description="the post-mortem owner")
    channel: Channel = None


class FollowVendorStatus(Payload):
    """The incident tool moved its post-mortem (incident.io: completed): walk pmhub's
    lifecycle there, through its guards."""

    kind: Literal[IntentKind.FOLLOW_VENDOR_STATUS] = IntentKind.FOLLOW_VENDOR_STATUS
    source: str
    status: str = Field(description="'in_review' or 'completed'")
    reported_at: Moment
    from_status: str = Field(description="pmhub's status it walks from: a part-way walk is new")


class ReportCloseBlocked(Payload):
    """The incident tool says the post-mortem is done, but a guard holds pmhub back."""

    kind: Literal[IntentKind.REPORT_CLOSE_BLOCKED] = IntentKind.REPORT_CLOSE_BLOCKED
    recipient: PersonRef | None
    source: str
    status: str
    reported_at: Moment
    blocking: tuple[str, ...] = Field(description="the guards that hold it (names)")
    channel: Channel = None


class WriteVendorStatus(Payload):
    """pmhub moved the post-mortem: the incident tool's document says so too."""

    kind: Literal[IntentKind.WRITE_VENDOR_STATUS] = IntentKind.WRITE_VENDOR_STATUS
    source: str
    document_id: str
    status: str = Field(description="the tool's name for it: 'in_review' or 'completed'")


# -- the post-mortem document (issue 14) -----------------------------------------------


class CreateDocument(Payload):
    """Write the document once. Where and from which template; what goes in it (the
    timeline, the people) is read from the incident's history when the job runs."""

    kind: Literal[IntentKind.CREATE_DOCUMENT] = IntentKind.CREATE_DOCUMENT
    tool: str = Field(description="'google_docs' or 'github'")
    template: str
    location: str | None = Field(description="a folder id or owner/repository; None: default")
    title: str
    slug: str = Field(description="a file name where one is needed: '2026-11-24-pd-1042-…'")


class DraftFollowUp(Frozen):
    """One follow-up as pmhub's draft section lists it."""

    id: str
    summary: str
    priority: str
    state: str
    tracker_key: str | None


class UpdateDocumentDraft(Payload):
    """pmhub's own section of the document: re-written when what it shows changes, and
    only while nobody has edited it."""

    kind: Literal[IntentKind.UPDATE_DOCUMENT_DRAFT] = IntentKind.UPDATE_DOCUMENT_DRAFT
    document_id: str
    status: str
    owner: PersonRef | None
    meeting_start: Moment | None
    follow_ups: tuple[DraftFollowUp, ...]
    candidates: tuple[str, ...] = Field(description="ids of TODOs not added as follow-ups")


class CandidateOffer(Frozen):
    id: str
    follow_up_id: str | None = Field(description="the follow-up it was added as")


class OfferFollowUps(Payload):
    """The owner's DM offering the TODOs found in the history, one button each."""

    kind: Literal[IntentKind.OFFER_FOLLOW_UPS] = IntentKind.OFFER_FOLLOW_UPS
    recipient: PersonRef
    candidates: tuple[CandidateOffer, ...]
    document_url: str | None
    channel: Channel = None


class EmailResults(Payload):
    """Seed 004: the results and key learnings, emailed to the stakeholders, once."""

    kind: Literal[IntentKind.EMAIL_RESULTS] = IntentKind.EMAIL_RESULTS
    recipients: tuple[str, ...]
    moment: Literal["reviewed", "closed"]
    document_url: str | None


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
