"""Intent payloads that tell the incident tools and the team, and the lifecycle's own
questions and moves (issue 13)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hub.model.intent_base import (
    CalendarId,
    Channel,
    IntentKind,
    Moment,
    Payload,
    PersonRef,
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
