"""The moments the process cannot go on by itself: a person hears about each, once.

* **Nobody owns it** (`REPORT_NO_OWNER`, `pm:<id>:owner:none`): the owner chain found
  nobody (no designation, commander, acknowledger, on-call…). The rule's `fallback`
  (an email: a DM; a Slack user group: mentioned in the incidents channel) hears it at
  once, at resolution, with a button that makes whoever presses it the owner; without
  a fallback the incidents channel does. Once someone took it, the same message is
  edited to say who (same key, new payload), so the channel is not left wondering.
* **Reopened after the meeting** (`ASK_SECOND_REVIEW`, `pm:<id>:review:again@<start>`):
  the review meeting was held and the incident was open again afterwards (or the
  meeting was held while it was open). The meeting still counts as held; the owner is
  asked whether a second review is needed (a second review books a new meeting once the
  incident is resolved again). The question is edited once answered.
* **Closed as not needed** (`CANCEL_MEETING`, `pm:<id>:meeting:cancel`): a meeting still
  ahead is cancelled, its description saying why, so nobody turns up to discuss a
  post-mortem that is not happening.
"""

from __future__ import annotations

from datetime import datetime

from hub.model.incident import Person
from hub.model.intent import AskSecondReview, CancelMeeting, ReportNoOwner, utc_stamp
from hub.model.postmortem import PostMortemStatus
from hub.policy.calendar import instant
from hub.policy.context import RESOLVED_STATUSES, Context
from hub.policy.owner import choose_owner
from hub.policy.schema import CHAT_GROUP


def fallback_person(value: str | None) -> Person | None:
    """The rule's `fallback`: an email, or a chat group known by its id only."""
    if value is None:
        return None
    return Person(slack_id=value) if CHAT_GROUP.match(value) else Person(email=value)


def plan_no_owner(ctx: Context) -> None:
    pm, owner = ctx.postmortem, ctx.owner
    fallback = fallback_person(ctx.rule.owner_fallback)
    where = fallback.display if fallback else "the incidents channel"
    if owner is None:
        if pm is not None and pm.status is PostMortemStatus.CLOSED:
            return
        ctx.add(
            "owner:none",
            "owner",
            f"nobody owns the post-mortem: tell {where} at once, with a button to take it",
            ReportNoOwner(fallback=fallback, taken_by=None),
        )
        return
    # Taken since (a designation, the chain still finding nobody): the report, if one
    # went out, is edited to say who took it. The chat side only edits.
    if owner.reason == "designated" and choose_owner(ctx.incident, None, ctx.rule.owner_chain):
        return
    if owner.reason == "designated":
        ctx.add(
            "owner:none",
            "owner",
            f"{owner.person.display} took the post-mortem nobody owned",
            ReportNoOwner(fallback=fallback, taken_by=owner.person),
        )


def plan_second_review(ctx: Context) -> None:
    """A reopen after the meeting (or a meeting held while reopened): ask, once; the
    question is edited once answered (also after a second review moved the meeting)."""
    pm = ctx.postmortem
    if pm is None or pm.status is PostMortemStatus.CLOSED:
        return
    answer = pm.reopen_answer
    if answer is not None:
        _second_review(ctx, answer.meeting_start, answer.second_review, answer.by)
    meeting = pm.meeting
    if meeting is None or instant(meeting.start) > instant(ctx.now):
        return  # not held yet: the meeting reviews the incident as it is by then
    if answer is not None and instant(answer.meeting_start) == instant(meeting.start):
        return  # answered above
    incident = ctx.incident
    open_now = incident.status not in RESOLVED_STATUSES
    resolved = incident.resolved_at
    if open_now or (resolved is not None and instant(resolved) > instant(meeting.start)):
        _second_review(ctx, meeting.start, None, None)


def _second_review(
    ctx: Context, start: datetime, answer: bool | None, answered_by: Person | None
) -> None:
    ctx.add(
        f"review:again@{utc_stamp(start)}",
        "review",
        "the incident was open again after the review meeting: ask the owner whether a "
        "second review is needed",
        AskSecondReview(
            recipient=ctx.owner_person,
            meeting_start=start,
            answer=answer,
            answered_by=answered_by,
        ),
    )


def plan_cancel_meeting(ctx: Context) -> None:
    pm = ctx.postmortem
    if pm is None or pm.not_needed_reason is None or pm.status is not PostMortemStatus.CLOSED:
        return
    meeting = pm.meeting
    if meeting is None or meeting.event_ref is None or instant(meeting.start) <= instant(ctx.now):
        return
    ctx.add(
        "meeting:cancel",
        "meeting",
        f"the post-mortem closed as not needed ({pm.not_needed_reason}): cancel its meeting",
        CancelMeeting(
            event_ref=meeting.event_ref,
            calendar=meeting.calendar,
            not_needed_reason=pm.not_needed_reason,
            calendar_id=meeting.calendar_id,  # the calendar it was booked on
        ),
    )
