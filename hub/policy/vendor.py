"""incident.io taken at its word: its post-mortem status and pmhub's move together.

PostHog's process runs in incident.io (seeds 000, 001): people mark the post-mortem
complete there, and the outcome "should happen automatically when you mark the
post-mortem as complete". So:

* **incident.io → pmhub** (`FOLLOW_VENDOR_STATUS`, `pm:<id>:incidentio:follow@<when>`):
  completed there (or in review), pmhub walks its own lifecycle there, one step at a
  time, through its guards (`hub.policy.lifecycle.walk`); closing shares the outcome in
  the incidents channel like any close. Where only time holds it (the meeting has not
  started), the walk is due when the meeting starts. Where a guard holds it (follow-ups
  not filed, no owner…), the owner is told what (`REPORT_CLOSE_BLOCKED`, one message per
  report, edited as the reasons change) and the walk happens as soon as they are gone.
* **pmhub → incident.io** (`WRITE_VENDOR_STATUS`, `pm:<id>:incidentio:status`): when
  pmhub moves the post-mortem on (In Review, Reviewed: `in_review`; Closed:
  `completed`), the incident's post-mortem document says so too (PUT
  /v1/postmortem_documents/{id}). Never behind what incident.io reported: a document
  someone marked completed is not set back to in review.

Statuses only move forward here; moving back stays a person's decision in either tool.
"""

from __future__ import annotations

from hub.model.incident import Source
from hub.model.intent import (
    FollowVendorStatus,
    ReportCloseBlocked,
    WriteVendorStatus,
    utc_stamp,
)
from hub.model.postmortem import PostMortemStatus
from hub.model.vendor_status import VendorPostmortemStatus
from hub.policy.calendar import instant
from hub.policy.context import Context
from hub.policy.external_message import external_message_required
from hub.policy.lifecycle import PMHUB, Walk, walk
from hub.policy.plan import MeetingPlan, Plan

S, V = PostMortemStatus, VendorPostmortemStatus
GOALS = {V.IN_REVIEW: S.IN_REVIEW, V.COMPLETED: S.CLOSED}
WRITTEN = {S.IN_REVIEW: V.IN_REVIEW, S.REVIEWED: V.IN_REVIEW, S.CLOSED: V.COMPLETED}
ORDER = {V.IN_PROGRESS: 0, V.IN_REVIEW: 1, V.COMPLETED: 2}
TIME_ONLY = frozenset({"meeting_held"})
NAMES = {Source.INCIDENTIO.value: "incident.io"}


def vendor_name(source: str) -> str:
    return NAMES.get(source, source)


def plan_vendor_status(ctx: Context, meeting: MeetingPlan | None) -> None:
    if ctx.incident.source is not Source.INCIDENTIO or ctx.postmortem is None:
        return
    _follow(ctx, meeting)
    _write_back(ctx)


def guard_view(ctx: Context, meeting: MeetingPlan | None) -> Plan:
    """What the lifecycle guards read from a plan, while the plan is being made."""
    return Plan(
        incident_id=ctx.incident.id,
        severity=ctx.incident.severity,
        incident_status=ctx.incident.status,
        required=True,
        rule=ctx.rule.name,
        status=ctx.status,
        owner=ctx.owner,
        meeting=meeting,
        external_message_required=external_message_required(ctx),
    )


def vendor_walk(ctx: Context, meeting: MeetingPlan | None) -> Walk | None:
    """Where the incident tool's status would take the post-mortem now (None: nowhere)."""
    pm = ctx.postmortem
    reported = pm.vendor_status if pm else None
    if pm is None or reported is None or pm.status is S.CLOSED:
        return None
    goal = GOALS.get(reported.status)
    if goal is None or pm.status is goal:
        return None
    reason = f"{vendor_name(reported.source)} marks the post-mortem {reported.status.value}"
    return walk(pm, goal, PMHUB, ctx.now, reason=reason, plan=guard_view(ctx, meeting))


def _follow(ctx: Context, meeting: MeetingPlan | None) -> None:
    pm = ctx.postmortem
    assert pm is not None  # noqa: S101 - checked by the caller
    reported = pm.vendor_status
    route = vendor_walk(ctx, meeting)
    if reported is None or route is None or (route.arrived and not route.steps):
        return
    name, stamp = vendor_name(reported.source), utc_stamp(reported.at)
    follow = FollowVendorStatus(
        source=reported.source,
        status=reported.status.value,
        reported_at=reported.at,
        from_status=pm.status.value,
    )
    starts = pm.meeting.start if pm.meeting else None
    time_only = not route.arrived and set(route.blocking) <= TIME_ONLY and starts is not None
    if route.steps or time_only:
        # As far as the guards allow now; where only time holds it, when the meeting
        # starts (the guard then passes). A walk part of the way is a new intent each
        # time (`from_status`), so the rest follows once nothing holds it.
        later = time_only and not route.steps and starts and instant(starts) > instant(ctx.now)
        ctx.add(
            f"{reported.source}:follow@{stamp}",
            "vendor_status",
            f"{name} marks the post-mortem {reported.status.value}: move pmhub's along",
            follow,
            due_at=starts if later else None,
        )
    held = reported.held  # what blocked it when the walk ran (e.g. the document's sections)
    if (route.arrived or time_only) and not held:
        return
    reasons = tuple(dict.fromkeys((*route.reasons, *held)))
    blocking = route.blocking + (("held",) if held else ())
    ctx.add(
        f"{reported.source}:blocked@{stamp}",
        "vendor_status",
        f"{name} marks the post-mortem {reported.status.value}, but pmhub cannot follow yet: "
        + "; ".join(reasons),
        ReportCloseBlocked(
            recipient=ctx.owner_person,
            source=reported.source,
            status=reported.status.value,
            reported_at=reported.at,
            blocking=tuple(dict.fromkeys(blocking)),
        ),
        message="; ".join(reasons),
    )


def _write_back(ctx: Context) -> None:
    pm = ctx.postmortem
    assert pm is not None  # noqa: S101 - checked by the caller
    document = ctx.incident.links.postmortem_document_id
    target = WRITTEN.get(pm.status)
    if document is None or target is None:
        return
    if pm.status is S.CLOSED and pm.not_needed_reason is not None:
        return  # not done, only not needed: incident.io has its own way to opt out
    reported = pm.vendor_status
    if reported is not None and ORDER[reported.status] >= ORDER[target]:
        return  # incident.io says so already (or more): never set it back
    ctx.add(
        f"{Source.INCIDENTIO.value}:status",
        "vendor_status",
        f"pmhub moved the post-mortem to {pm.status.label}: incident.io's document says "
        f"{target.value} too",
        WriteVendorStatus(source=Source.INCIDENTIO.value, document_id=document, status=target),
    )


def report_unblocked(ctx: Context) -> None:
    """Closed after a report that something held it: that message says it is done now."""
    pm = ctx.postmortem
    reported = pm.vendor_status if pm else None
    if reported is None or ctx.incident.source is not Source.INCIDENTIO:
        return
    ctx.add(
        f"{reported.source}:blocked@{utc_stamp(reported.at)}",
        "vendor_status",
        f"{vendor_name(reported.source)}'s status was followed: the post-mortem is closed",
        ReportCloseBlocked(
            recipient=ctx.owner_person,
            source=reported.source,
            status=reported.status.value,
            reported_at=reported.at,
            blocking=(),
        ),
    )
