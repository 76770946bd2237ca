"""The ground every intent payload stands on: the intent kinds, the payload base with its
canonical (fingerprinted) JSON, and the typed people, times and targets payloads carry.
`hub.model.intent` says why the canonical form is a stored contract.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, JsonValue, PlainSerializer

from hub.model.incident import Frozen, Person


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
