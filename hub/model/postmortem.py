"""The post-mortem of one incident, as pmhub tracks it through its life.

Frozen like the incident: the lifecycle code in `hub.policy.lifecycle` returns a
new value rather than changing one, so the store decides what is written, and
a refused transition can never leave a half-changed record behind.

Statuses are the four of the process (seed 004): Draft, In Review, Reviewed,
Closed. A post-mortem that turned out not to be needed (an optional one, e.g.
a false positive) is Closed with `not_needed_reason` set, so that "closed" keeps
meaning "nothing more to do" everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from hub.model.document import CandidateFollowUp, DocumentRecord, ResultsEmail
from hub.model.incident import Frozen, Person
from hub.model.vendor_status import VendorStatus


class PostMortemStatus(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    REVIEWED = "reviewed"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        """The name people see in Slack and the document: 'In Review'."""
        return self.value.replace("_", " ").title()


class FollowUpState(StrEnum):
    OPEN = "open"
    DONE = "done"
    # Decided against (e.g. a flagged P3 nobody wants to override): it is
    # neither filed nor blocking the close.
    DROPPED = "dropped"


class Override(Frozen):
    """Someone knowingly set a guard or a policy limit aside; the reason is kept."""

    by: Person
    reason: str = Field(min_length=1)
    at: datetime


class FollowUp(Frozen):
    """One action item. `id` is stable for the life of the post-mortem (intent keys use it)."""

    id: str = Field(min_length=1)
    summary: str
    priority: str = Field(description="tracker priority as people write it, e.g. 'P1'")
    owner: Person | None = None
    tracker_key: str | None = Field(default=None, description="e.g. 'OPS-123' once filed")
    state: FollowUpState = FollowUpState.OPEN
    flagged_reason: str | None = Field(
        default=None, description="why the policy would not file it, as last reported"
    )
    priority_override: Override | None = Field(
        default=None, description="file it despite a priority the policy does not allow"
    )
    tracker_url: str | None = Field(default=None, description="the ticket's link once filed")
    unassigned_reason: str | None = Field(
        default=None,
        description="why the ticket was filed without its owner as assignee (the tracker "
        "does not know them); the post-mortem owner is told, with the link",
    )
    # Due dates (issue 15). The policy gives a due date by priority, counted from
    # `created_at`; once pmhub set it on the ticket, or a person moved it there,
    # `due_on` is the due date (`due_set_by` says who), whatever the policy says now.
    created_at: datetime | None = Field(default=None, description="when pmhub heard of it")
    due_on: date | None = Field(default=None, description="the due date, once set")
    due_set_by: str | None = Field(
        default=None, description="who set `due_on` ('pmhub' on filing, 'jira', a person)"
    )
    tracker_due_on: date | None = Field(
        default=None, description="the due date the ticket has, as last known"
    )
    done_at: datetime | None = Field(default=None, description="when it was reported done")

    @property
    def filed(self) -> bool:
        return self.tracker_key is not None

    @property
    def due_fixed(self) -> bool:
        """Whether `due_on` is the due date (even None: a person cleared it)."""
        return self.due_set_by is not None


class BookingNote(Frozen):
    """How pmhub chose the time it booked, as far as the owner must hear about it.

    Seed 004 makes the owner responsible for the meeting: when pmhub had to book a
    time some required invitees cannot make, or earlier than the review needs, the
    owner is told so (once) and decides what to do.
    """

    conflicts: tuple[str, ...] = Field(default=(), description="required invitees busy then")
    optional_conflicts: tuple[str, ...] = Field(
        default=(), description="optional invitees busy then"
    )
    unknown: tuple[str, ...] = Field(
        default=(), description="required invitees whose calendars could not be read"
    )
    not_before: datetime | None = Field(
        default=None,
        description="set when booked before `meeting.not_before` (the writing and review "
        "time) because the deadline left no working time after it",
    )

    @property
    def worth_telling(self) -> bool:
        return bool(self.conflicts or self.unknown or self.not_before)


class Meeting(Frozen):
    """The post-mortem meeting once it is on the calendar."""

    event_ref: str | None = Field(default=None, description="calendar event id")
    start: datetime
    end: datetime
    calendar: str
    invitees: tuple[str, ...] = ()
    html_link: str | None = None
    booking: BookingNote | None = Field(
        default=None, description="how pmhub chose the time; None when a person linked it"
    )
    calendar_id: str | None = Field(
        default=None, description="the team's calendar it was booked on; None: pmhub.yaml's"
    )


class CancelledMeeting(Frozen):
    """A meeting a person cancelled or deleted on the calendar, as pmhub last knew it."""

    event_ref: str
    start: datetime
    end: datetime
    how: Literal["cancelled", "deleted"]
    noticed_at: datetime


class NoMeetingSlot(Frozen):
    """pmhub found no time to book the meeting in: a person must pick one.

    Recorded by the booking job when the working time left before the deadline is
    gone by the time it runs (the minimum notice included); the plan then tells the
    owner and the incident commander, with a proposed time.
    """

    key: str = Field(description="the booking intent this answers (a re-booking has its own)")
    window_start: datetime
    deadline: datetime
    proposed_start: datetime
    proposed_end: datetime
    noticed_at: datetime


class ExternalMessage(Frozen):
    """The customer-facing message reviewed in the meeting, then published on the status page.

    `full_outage` lets the reviewers confirm that the word "outage" is accurate
    even when the incident record does not say so.
    """

    body: str
    full_outage: bool = False
    published_ref: str | None = Field(default=None, description="status page id once published")
    published_at: datetime | None = None

    @property
    def published(self) -> bool:
        return self.published_ref is not None


class OwnerDesignation(Frozen):
    """Someone named the owner explicitly. The newest one is in force; older ones are hand-offs."""

    person: Person
    by: Person | None = Field(default=None, description="who designated; None for an import")
    reason: str = ""
    at: datetime


class OwnerAcceptance(Frozen):
    """The owner confirmed they took the post-mortem on (the Accept button)."""

    person: Person
    at: datetime


class OwnerBriefing(Frozen):
    """What an owner's first DM told them beside the post-mortem being theirs: the
    meeting roles nobody held and whether it asked for the external message, so they
    get no second message about those."""

    person_key: str = Field(description="the owner's `Person.key`")
    unresolved_roles: tuple[str, ...] = ()
    external_message: bool = Field(
        default=False, description="the DM asked for the external message for customers"
    )
    upgraded: bool = Field(
        default=False, description="recorded on upgrade for an owner told the old way"
    )


class RequirementDrop(Frozen):
    """The post-mortem stopped being required after it started (e.g. the severity was
    lowered). The owner is asked to keep it or close it as not needed; the rule's
    default applies if nobody answers in time."""

    at: datetime = Field(description="when pmhub noticed")
    required_by: str = Field(description="the rule that required it")
    answer: Literal["keep", "close"] | None = None
    answered_by: Person | None = Field(
        default=None, description="who answered; None with an answer: the policy's default"
    )
    answered_at: datetime | None = None

    @property
    def kept(self) -> bool:
        return self.answer == "keep"


class ReopenAnswer(Frozen):
    """The owner's answer after the incident reopened once its meeting had been held."""

    meeting_start: datetime = Field(description="the meeting the answer is about")
    second_review: bool
    by: Person
    at: datetime


class Milestones(Frozen):
    """When the process reached its steps, for the numbers (`pmhub report`, /metrics).

    Recorded by the reconciler as it sees them happen (the ledger's time for what pmhub
    did itself), so every replica computes the same report from the store.
    """

    meeting_deadline: datetime | None = None
    meeting_booked_at: datetime | None = None
    review_shared_at: datetime | None = None


class PostMortem(Frozen):
    incident_id: str
    status: PostMortemStatus = PostMortemStatus.DRAFT
    created_at: datetime | None = None
    status_changed_at: datetime | None = None
    document_url: str | None = None
    designations: tuple[OwnerDesignation, ...] = Field(
        default=(), description="explicit owner designations, oldest first (hand-off history)"
    )
    acceptance: OwnerAcceptance | None = Field(
        default=None, description="the owner's Accept; it counts only while they are the owner"
    )
    meeting: Meeting | None = None
    cancelled_meetings: tuple[CancelledMeeting, ...] = Field(
        default=(), description="meetings people cancelled or deleted, oldest first"
    )
    no_meeting_slot: NoMeetingSlot | None = Field(
        default=None, description="the booking found no time left before the deadline"
    )
    follow_ups: tuple[FollowUp, ...] = ()
    no_follow_ups: bool = Field(
        default=False, description="the owner stated that there are no follow-ups to file"
    )
    no_follow_ups_reason: str | None = Field(
        default=None, description="why there are none (`/postmortem followups none <reason>`)"
    )
    external_message: ExternalMessage | None = None
    not_needed_reason: str | None = None
    vendor_status: VendorStatus | None = Field(
        default=None, description="the incident tool's own post-mortem status, last reported"
    )
    # -- issue 13: a lifecycle with no traps ------------------------------------------
    required_by: str | None = Field(
        default=None, description="the rule that last required this post-mortem"
    )
    required_severity: str | None = Field(
        default=None, description="the severity it was last required at (e.g. 'SEV-1')"
    )
    requirement_dropped: RequirementDrop | None = None
    reopen_answer: ReopenAnswer | None = None
    past_meetings: tuple[Meeting, ...] = Field(
        default=(), description="meetings held before a second review was asked for"
    )
    # The post-mortem document pmhub writes (issue 14).
    document: DocumentRecord | None = Field(
        default=None, description="the document pmhub created; its url is `document_url` too"
    )
    candidates: tuple[CandidateFollowUp, ...] = Field(
        default=(), description="TODOs found in the incident's history, offered to the owner"
    )
    results_email: ResultsEmail | None = None
    # When the process reached its steps (issue 15), for the numbers.
    milestones: Milestones = Milestones()
    owner_briefings: tuple[OwnerBriefing, ...] | None = Field(
        default=(),
        description="what each owner's first DM told them (issue 16); None: stored before "
        "that, so its owners were told the roles nobody holds in messages of their own",
    )

    @classmethod
    def from_stored(cls, data: Any) -> PostMortem:
        """A post-mortem as the store holds it. Every field is stored, so one without
        `owner_briefings` was stored before issue 16: marked None, it keeps the messages
        it had (nothing is edited or re-sent on upgrade; hub.policy.owner_briefing)."""
        stored = cls.model_validate(data)
        if isinstance(data, Mapping) and "owner_briefings" not in data:
            return stored.model_copy(update={"owner_briefings": None})
        return stored

    def candidate(self, candidate_id: str) -> CandidateFollowUp | None:
        return next((c for c in self.candidates if c.id == candidate_id), None)

    @property
    def designation(self) -> OwnerDesignation | None:
        """The designation in force: the newest one."""
        # By timestamp: comparing datetimes directly goes by wall clock when zones match.
        newest = max(self.designations, key=lambda d: d.at.timestamp(), default=None)
        return newest

    @property
    def previous_owner(self) -> Person | None:
        """Whom the current designation took the post-mortem from, if anyone."""
        ordered = sorted(self.designations, key=lambda d: d.at.timestamp())
        return ordered[-2].person if ordered[1:] else None


class LifecycleDecision(Frozen):
    """One lifecycle decision, allowed or refused: who asked for what, why, under which rule.

    The audit trail records it (as a `hub.store.audit.AuditEntry` row, among others).
    """

    at: datetime
    incident_id: str
    actor: Person
    action: str = Field(description="'transition' or 'transition_refused'")
    from_status: PostMortemStatus
    to_status: PostMortemStatus
    reason: str = Field(description="the actor's reason, or why it was refused")
    rule: str | None = None
    override: bool = False
    guards: tuple[str, ...] = Field(default=(), description="guards that failed or were waived")
