"""The post-mortem meeting: deadline, window, invitees, and the intents to get it on the calendar.

The meeting is scheduled as soon as an owner is known (seed 004: "schedule this
before filling in the post-mortem, just so it's on the calendar"), for a time after
the writing and review time (`meeting.not_before`, hub.policy.meeting_window). The
intent carries the window (`window_start`..`deadline`, and how far it may fall back)
rather than a chosen time: the calendar connector's caller intersects the candidate
slots with free/busy, and a payload that does not depend on `now` keeps the intent's
fingerprint stable.

When there is nothing to book in (no working time before the deadline), when a
person cancelled the meeting, or when the booked time falls short, the owner hears
it (hub.policy.meeting_reports): never a dead job, never a silent state.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from hub.model.intent import (
    InviteToMeeting,
    ReportUnresolvedRole,
    RequestReview,
    ScheduleMeeting,
)
from hub.policy.calendar import instant
from hub.policy.conditions import matches
from hub.policy.context import Context
from hub.policy.deadlines import Slot, shift, shift_back
from hub.policy.directory import Invitees, resolve_invitees
from hub.policy.durations import Elapsed
from hub.policy.meeting_reports import (
    booking_suffix,
    report_booking,
    report_cancelled,
    report_no_slot,
)
from hub.policy.meeting_window import meeting_candidates, not_before, proposed_slot
from hub.policy.owner_briefing import told_in_owner_dm
from hub.policy.plan import MeetingPlan
from hub.policy.schema import MeetingSpec
from hub.policy.templates import person_value
from hub.policy.upkeep import plan_upkeep


def meeting_anchor(ctx: Context, spec: MeetingSpec) -> datetime | None:
    """The instant the deadline counts from: resolution, or the owner's designation.

    An owner found by the chain (nobody designated) is known from resolution on,
    so `owner_designated` falls back to the resolution time for them.
    """
    if spec.anchor == "resolved":
        return ctx.resolved_at
    if ctx.owner is None:
        return None
    return ctx.owner.designated_at or ctx.resolved_at


def plan_meeting(ctx: Context) -> tuple[MeetingPlan, Invitees] | None:
    """The meeting the rule asks for, computed but without intents (see `emit_meeting`)."""
    spec = ctx.rule.meeting
    if spec is None:
        return None
    anchor = meeting_anchor(ctx, spec)
    allowed = spec.deadline.get(ctx.incident.severity.value) or spec.deadline.get("default")
    required_at = ctx.postmortem.required_severity if ctx.postmortem else None
    if allowed is None and required_at is not None:
        # Kept after its severity was lowered: the deadline of the severity it had.
        allowed = next((d for k, d in spec.deadline.items() if k == required_at), None)
    if allowed is None:
        ctx.problems.append(
            f"rule {ctx.rule.name!r} sets no meeting deadline for {ctx.incident.severity}"
        )
    deadline = shift(ctx.calendar, anchor, allowed) if anchor and allowed else None
    review_start = not_before(ctx.calendar, anchor, spec, ctx.rule.review) if anchor else None
    directory, owner = ctx.policy.spec.directory, ctx.owner_person
    roles = invite_roles(ctx, spec)
    invitees = resolve_invitees(roles, ctx.incident, directory, owner, spec.observers)
    optional_roles = set(spec.invite_optional)
    required = resolve_invitees(
        [role for role in roles if role not in optional_roles], ctx.incident, directory, owner
    )
    needed = {email.casefold() for email in required.emails}
    plan = MeetingPlan(
        anchor=anchor,
        window_start=anchor,
        not_before=review_start,
        deadline=deadline,
        calendar=spec.calendar,
        duration=meeting_length(spec),
        invitees=invitees.emails,
        # Observers and `invite_optional` roles, unless a required role names them too.
        optional_invitees=tuple(e for e in invitees.emails if e.casefold() not in needed),
        unresolved_roles=invitees.unresolved_roles,
        scheduled=ctx.postmortem.meeting if ctx.postmortem else None,
    )
    return plan, invitees


def emit_meeting(ctx: Context, planned: tuple[MeetingPlan, Invitees] | None) -> None:
    if planned is not None:
        _intents(ctx, *planned)
        _review_request(ctx, planned[0])


def invite_roles(ctx: Context, spec: MeetingSpec) -> list[str]:
    """`invite`, then `invite_when`'s roles that match, then `invite_optional`: a role also
    under `invite_when` is invited only when that matches."""
    gated = {role: matches(cond, ctx.incident) for role, cond in spec.invite_when.items()}
    roles = [role for role in spec.invite if gated.get(role, True)]
    roles += [role for role, ok in gated.items() if ok and role not in roles]
    return roles + [r for r in spec.invite_optional if gated.get(r, True) and r not in roles]


def meeting_length(spec: MeetingSpec) -> timedelta:
    # The loader refuses a non-elapsed duration; 30 minutes is the schema default.
    return spec.duration.delta if isinstance(spec.duration, Elapsed) else timedelta(minutes=30)


def _intents(ctx: Context, plan: MeetingPlan, invitees: Invitees) -> None:
    ctx.problems += list(invitees.problems)
    for role in plan.unresolved_roles:
        _unresolved(ctx, role)
    if plan.scheduled is not None:
        _check_scheduled(ctx, plan)
        return
    owner, deadline, earliest, preferred = (
        ctx.owner,
        plan.deadline,
        plan.window_start,
        plan.not_before,
    )
    if owner is None or deadline is None or earliest is None or preferred is None:
        ctx.notes.append("the meeting is scheduled once an owner and a deadline are known")
        return
    pm, spec = ctx.postmortem, ctx.rule.meeting
    rebook = spec is not None and spec.rebook_when_cancelled
    if pm is not None and pm.cancelled_meetings:
        report_cancelled(ctx, pm.cancelled_meetings[-1], rebook=rebook)
        if not rebook:
            ctx.notes.append(
                "the meeting was cancelled on the calendar: waiting for a person to book one "
                "and link it (`/postmortem meeting <event link>`)"
            )
            return
    booking = booking_suffix(pm)
    found = meeting_candidates(earliest, preferred, deadline, plan.duration, ctx.calendar)
    if found.first is None:
        proposal = proposed_slot(deadline, plan.duration, ctx.calendar)
        report_no_slot(ctx, plan, booking, proposal, why="no_working_time", window_start=earliest)
        return
    if found.early:
        ctx.notes.append(
            f"the deadline {deadline.isoformat()} leaves no working time after "
            f"{preferred.isoformat()} (the writing and review time): the meeting is booked "
            "earlier, as late as the deadline allows"
        )
    ctx.add(
        booking,
        "meeting",
        f"schedule the post-mortem meeting to end by {deadline.isoformat()}",
        ScheduleMeeting(
            calendar=plan.calendar,
            title=ctx.message("meeting_title"),
            organizer=owner.person,
            duration_minutes=int(plan.duration.total_seconds() // 60),
            window_start=preferred,
            deadline=deadline,
            timezone=ctx.calendar.tz.key,
            earliest_slot=found.first.start,
            invitees=plan.invitees,
            fallback_start=None if earliest == preferred else earliest,
        ),
    )
    unbooked = pm.no_meeting_slot if pm else None
    if unbooked is not None and unbooked.key == f"pm:{ctx.incident.id}:{booking}":
        # The booking job ran out of working time (the notice included): a person picks.
        report_no_slot(
            ctx,
            plan,
            booking,
            Slot(unbooked.proposed_start, unbooked.proposed_end),
            why="no_time_left",
            window_start=unbooked.window_start,
        )


def _unresolved(ctx: Context, role: str) -> None:
    ctx.problems.append(f"nobody holds the role {role!r}: invite them by hand")
    if ctx.owner is None or role == "owner" or told_in_owner_dm(ctx, role):
        return  # the owner's DM names it (issue 16): no second message to race it
    ctx.add(
        f"meeting:unresolved:{role}",
        "meeting.invite",
        f"no one was found for {role!r}; the owner should invite them by hand",
        ReportUnresolvedRole(role=role, recipient=ctx.owner.person),
        message=f"pmhub found nobody for the role {role!r}: please invite them to the meeting.",
    )


def _check_scheduled(ctx: Context, plan: MeetingPlan) -> None:
    meeting = plan.scheduled
    assert meeting is not None  # noqa: S101 - the caller checked
    if plan.deadline is not None and instant(meeting.end) > instant(plan.deadline):
        ctx.problems.append(
            f"the meeting ends {meeting.end.isoformat()}, after the deadline "
            f"{plan.deadline.isoformat()}"
        )
    plan_upkeep(ctx, plan)
    report_booking(ctx, meeting)
    present = {email.casefold() for email in meeting.invitees}
    for email in plan.invitees:
        if email.casefold() not in present:
            ctx.add(
                f"meeting:invite:{email.casefold()}",
                "meeting.invite",
                f"invite {email}: the policy wants them at the meeting",
                InviteToMeeting(
                    email=email, event_ref=meeting.event_ref, calendar=meeting.calendar
                ),
            )


def _review_request(ctx: Context, plan: MeetingPlan) -> None:
    """Seed 004: share the post-mortem for review about a day before the meeting."""
    spec, meeting = ctx.rule.review, plan.scheduled
    if spec is None or spec.share_before_meeting is None:
        return
    if meeting is None:
        ctx.notes.append("the review request is timed once the meeting is scheduled")
        return
    if ctx.status.value not in ("draft", "in_review"):
        return
    due = shift_back(ctx.calendar, meeting.start, spec.share_before_meeting)
    ctx.add(
        "review-request",
        "review",
        f"share the post-mortem for review {spec.share_before_meeting} before the meeting",
        RequestReview(
            meeting_start=meeting.start,
            document_url=ctx.postmortem.document_url if ctx.postmortem else None,
            owner=ctx.owner_person,
        ),
        due_at=due,
        message=ctx.message(
            "review_request", meeting=meeting.model_dump(), owner=person_value(ctx.owner_person)
        ),
    )
