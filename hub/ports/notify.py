"""Notifier: the post-mortem process's conversations, said in canonical terms.

The engine cannot build a chat platform's messages (it may not import a
connector), and a performer should not have to know that "tell the owner" is a
DM plus a channel post in Slack but a single email elsewhere. So the port is
semantic: one method per thing the process says, taking models, returning the
vendor's reference for what was posted. The chat connector picks the words,
the channels and how people are reached.

Exactly once: every method that posts takes the effect key it posts under and
`unknown_outcome`; when that is True an earlier attempt may have been delivered,
and the implementation looks for it (by the key) before posting again. A method
that posts several messages derives one key per message from `effect_key`, so a
retry after a partial success repeats only what is missing.

People: a person who cannot be reached directly (no chat account for their email)
is named by name and email where the message is posted instead, never dropped.
Methods raise only `hub.errors` types.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from hub.model.command import FollowUpFormContext, HandoffContext
from hub.model.digest import TeamDigest
from hub.model.document import CandidateFollowUp
from hub.model.incident import Incident, Person
from hub.model.intent import (
    AskKeepPostMortem,
    AskSecondReview,
    Remind,
    RemindFollowUp,
    ReportCloseBlocked,
    ReportMeetingBooking,
    ReportMeetingCancelled,
    ReportNoMeetingSlot,
    ReportUnassignedFollowUp,
)
from hub.model.postmortem import FollowUp, Meeting, PostMortem


class AnswerKind(StrEnum):
    HELP = "help"  # `text` is the usage
    STATUS = "status"  # the post-mortem as it stands
    DONE = "done"  # `text` says what was done
    REFUSED = "refused"  # `action` was refused; `text` is the rule's reason


@dataclass(frozen=True, slots=True)
class Answer:
    """The answer to one command, for the person who gave it."""

    kind: AnswerKind
    text: str = ""
    action: str = ""
    incident: Incident | None = None
    postmortem: PostMortem | None = None
    owner: Person | None = None
    deadline: datetime | None = None


class Notifier(Protocol):
    def routed(self, *, channel: str | None = None, review_channel: str | None = None) -> Notifier:
        """This notifier, speaking where a team wants it (issue 15): `channel` in place of
        the incidents channel, `review_channel` of the review channel (None: unchanged)."""
        ...

    async def chat_user(self, person: Person) -> str | None:
        """The person's chat user id, if the platform knows them (by id, else by email).

        Lets the engine tell whether the person behind a command or a mention is one
        it knows by email (the owner, the IC) without knowing the platform.
        """
        ...

    async def notify_owner(
        self,
        incident: Incident,
        postmortem: PostMortem | None,
        owner: Person,
        *,
        deadline: datetime | None,
        effect_key: str,
        unknown_outcome: bool,
        accepted_at: datetime | None = None,
        earlier: str | None = None,
        handed_to: Person | None = None,
        unresolved_roles: Sequence[str] = (),
        external_message: bool = False,
    ) -> str:
        """Tell the owner, directly, that the post-mortem is theirs and what that means.

        The message shows the meeting once booked (`postmortem.meeting`) and when the
        owner accepted, names `unresolved_roles` (meeting roles nobody holds, for the
        owner to invite by hand) and, with `external_message`, asks for the external
        message for customers and says how to give it, so they need no second message.
        `earlier` is the reference this method returned for an earlier version of the
        same effect: that message is edited in place, not posted again.
        With `handed_to`, `owner` handed it off: their message says who owns it now.
        """
        ...

    async def announce_owner(
        self,
        incident: Incident,
        postmortem: PostMortem | None,
        owner: Person,
        *,
        deadline: datetime | None,
        effect_key: str,
        unknown_outcome: bool,
        previous_owner: Person | None = None,
        earlier: str | None = None,
    ) -> str:
        """Tell the incidents channel who owns the post-mortem and when the meeting is.

        With `earlier` (a hand-off, the meeting booked or moved) that announcement is
        edited to say so, rather than a second one posted.
        """
        ...

    async def report_late_meeting(
        self,
        incident: Incident,
        owner: Person,
        meeting: Meeting,
        *,
        deadline: datetime,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        """Tell the owner that the meeting, as someone moved it, now ends after the deadline."""
        ...

    async def report_meeting_booking(
        self,
        incident: Incident,
        report: ReportMeetingBooking,
        meeting: Meeting,
        *,
        deadline: datetime | None,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        """Tell the owner how the booked `meeting` falls short: who cannot make it (named),
        whose calendar could not be read, or that it is earlier than the review time."""
        ...

    async def report_no_meeting_slot(
        self,
        incident: Incident,
        report: ReportNoMeetingSlot,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        """Tell `report.recipient` (the owner, or the incident commander) that there is no
        working time to book the meeting in before the deadline, with a proposed time.
        `earlier` (a hand-off changed who owns it) is edited in place, not posted again."""
        ...

    async def report_meeting_cancelled(
        self,
        incident: Incident,
        report: ReportMeetingCancelled,
        *,
        deadline: datetime | None,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        """Tell the owner a person cancelled or deleted the meeting, and what happens now."""
        ...

    async def ask_optional(
        self, incident: Incident, recipient: Person, *, effect_key: str, unknown_outcome: bool
    ) -> str:
        """Ask whether an optional post-mortem (a false positive) is worth writing."""
        ...

    async def remind(
        self,
        incident: Incident,
        reminder: Remind,
        text: str,
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        """`text`, as a reminder (an escalation when it is one) to each of its recipients."""
        ...

    async def remind_follow_up(
        self,
        incident: Incident,
        follow_up: FollowUp,
        reminder: RemindFollowUp,
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        """Tell each recipient that a follow-up is due soon, due today, or (an escalation)
        overdue, with its ticket; nobody reachable: the channel hears it, naming them."""
        ...

    async def post_digest(
        self, digest: TeamDigest, *, effect_key: str, unknown_outcome: bool
    ) -> str:
        """A team's weekly digest, in the incidents channel (a team's, when `routed`)."""
        ...

    async def request_review(
        self,
        incident: Incident,
        postmortem: PostMortem,
        owner: Person | None,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        """Share the post-mortem for review before the meeting (edit `earlier` if given)."""
        ...

    async def report_unresolved_roles(
        self,
        incident: Incident,
        recipient: Person,
        roles: Sequence[str],
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        """Tell the owner which meeting roles nobody could be found for."""
        ...

    async def flag_follow_up(
        self,
        incident: Incident,
        follow_up: FollowUp,
        recipient: Person | None,
        *,
        reason: str,
        allowed: Sequence[str],
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        """Tell the owner a follow-up was not filed, and why."""
        ...

    async def request_external_message(
        self, incident: Incident, recipient: Person, *, effect_key: str, unknown_outcome: bool
    ) -> str:
        """Ask the owner for the customer-facing message, reviewed in the meeting."""
        ...

    async def share_outcome(
        self,
        incident: Incident,
        postmortem: PostMortem,
        owner: Person | None,
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        """Share a closed post-mortem's outcome with everyone (seed 000: share outcomes)."""
        ...

    # -- issue 13: the moments the process cannot go on by itself ----------------------
    # Each goes to a named person, or the incidents channel when there is nobody (or a
    # user group) to reach directly; the questions are edited once they are answered.

    async def report_no_owner(
        self,
        incident: Incident,
        fallback: Person | None,
        *,
        taken_by: Person | None,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        """Nobody owns the post-mortem: tell the fallback (or the channel), with a button
        that makes the presser the owner; with `taken_by`, edit that message to say so."""
        ...

    async def ask_keep_postmortem(
        self,
        incident: Incident,
        question: AskKeepPostMortem,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        """It stopped being required: keep it, or close it as not needed?"""
        ...

    async def ask_second_review(
        self,
        incident: Incident,
        question: AskSecondReview,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        """The incident reopened after the review meeting: is a second review needed?"""
        ...

    async def report_unassigned_follow_up(
        self,
        incident: Incident,
        report: ReportUnassignedFollowUp,
        reason: str,
        *,
        effect_key: str,
        unknown_outcome: bool,
    ) -> str:
        """A follow-up was filed unassigned: tell the owner, with the ticket's link."""
        ...

    async def report_close_blocked(
        self,
        incident: Incident,
        report: ReportCloseBlocked,
        reasons: Sequence[str],
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        """The incident tool says it is done; what holds pmhub back (none: it followed)."""
        ...

    async def reply(self, response_url: str, answer: Answer) -> None:
        """Answer a command, only to the person who gave it, through its response URL."""
        ...

    async def open_handoff(
        self, trigger_id: str, incident: Incident, owner: Person | None, context: HandoffContext
    ) -> bool:
        """Open the hand-off form for the person who pressed Hand off… (Slack: a modal).

        `trigger_id` is the press's; Slack honours it for 3 seconds and once. True when
        the form is open (now, or by an earlier attempt with the same trigger); False
        when the trigger expired, so the caller can point them at the command instead.
        """
        ...

    # -- the post-mortem document (issue 14) ------------------------------------------

    async def offer_follow_ups(
        self,
        incident: Incident,
        postmortem: PostMortem,
        recipient: Person,
        *,
        effect_key: str,
        unknown_outcome: bool,
        earlier: str | None = None,
    ) -> str:
        """Offer the owner the TODOs found in the incident's history
        (`postmortem.candidates`), each with a way to add it as a follow-up; one already
        added says as what. `earlier` (the offer posted before) is edited in place."""
        ...

    async def open_follow_up_form(
        self,
        trigger_id: str,
        incident: Incident,
        candidate: CandidateFollowUp,
        context: FollowUpFormContext,
        priorities: Sequence[str],
    ) -> bool:
        """Open the "Add as follow-up" form for one TODO (its words editable, a priority
        among `priorities` to choose). True when open; False when the trigger expired."""
        ...
