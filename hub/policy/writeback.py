"""Telling the incident tools and the team what happened to the post-mortem.

Two moments matter to people who look at the incident later: when it has an owner
and a meeting (they know whom to ask and when it is discussed), and when the
post-mortem closes (seed 000: "share outcomes"). PagerDuty incidents get a note at
both; the incidents channel hears the outcome at close.
"""

from __future__ import annotations

from hub.model.incident import Source
from hub.model.intent import ClosedNote, OwnerAndMeetingNote, ShareOutcome
from hub.model.postmortem import PostMortemStatus
from hub.policy.context import Context


def plan_writeback(ctx: Context) -> None:
    pm = ctx.postmortem
    if pm is None:
        return
    if pm.status is PostMortemStatus.CLOSED:
        # "Not needed" (an optional one declined) has no outcome worth a broadcast.
        if pm.not_needed_reason is None:
            _closed(ctx)
        return
    owner, meeting = ctx.owner, pm.meeting
    if owner is None or meeting is None or ctx.incident.source is not Source.PAGERDUTY:
        return
    ctx.add(
        "pagerduty-note:owner-meeting",
        "writeback",
        "the PagerDuty incident names the post-mortem owner and meeting",
        OwnerAndMeetingNote(
            owner=owner.person,
            meeting_start=meeting.start,
            meeting_link=meeting.html_link,
            document_url=pm.document_url,
        ),
    )


def _closed(ctx: Context) -> None:
    pm = ctx.postmortem
    assert pm is not None  # noqa: S101 - checked by the caller
    not_needed_reason, document_url = pm.not_needed_reason, pm.document_url
    follow_ups = tuple(str(f.tracker_key or f.summary) for f in pm.follow_ups)
    ctx.add(
        "outcome:share",
        "writeback",
        "the post-mortem closed: share the outcome in the incidents channel (seed 000)",
        ShareOutcome(
            not_needed_reason=not_needed_reason, document_url=document_url, follow_ups=follow_ups
        ),
    )
    if ctx.incident.source is Source.PAGERDUTY:
        ctx.add(
            "pagerduty-note:closed",
            "writeback",
            "the PagerDuty incident records that the post-mortem closed",
            ClosedNote(
                not_needed_reason=not_needed_reason,
                document_url=document_url,
                follow_ups=follow_ups,
            ),
        )
