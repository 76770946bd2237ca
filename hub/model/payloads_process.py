"""Intent payloads of the process itself: the post-mortem, its owner, the meeting, the review
and the reminders."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from hub.model.intent_base import (
    CalendarId,
    Channel,
    IntentKind,
    MeetingFacts,
    Moment,
    Payload,
    PersonRef,
)

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
    unresolved_roles: tuple[str, ...] | None = Field(
        default=None,
        description="meeting roles nobody holds, told in this DM rather than in a second "
        "message (hub.policy.owner_briefing); None when there are none",
    )
    asks_external_message: bool | None = Field(
        default=None,
        description="the DM asks the owner for the external message for customers, rather "
        "than a second message (hub.policy.owner_briefing); None when it does not",
    )
    channel: Channel = None

    # Left out while None: a DM that names no role and asks for no external message keeps
    # the fingerprint it had before.
    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset(
        {"document_url", "unresolved_roles", "asks_external_message"}
    )


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
    # Past draft only: a storm's roll-up line shows the status (issue 16), so a change
    # re-runs the announcement; None for a draft keeps earlier fingerprints as they were.
    status: str | None = Field(default=None, description="the post-mortem's status past draft")

    OMIT_WHEN_NONE: ClassVar[frozenset[str]] = frozenset({"document_url", "status"})


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
