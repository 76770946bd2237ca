"""`evaluate(incident, postmortem, policies, now) -> Plan`: the pure heart of reconciliation.

No I/O and no clock: `now` is an argument, so the same inputs always give the
same plan, and replaying an event any number of times is safe. A plan lists
what *still needs doing* as intents with stable keys; an intent whose work is
done (meeting on the calendar, ticket filed, message published) is no longer
emitted. Nothing happens before the incident is resolved: the post-mortem
starts when the incident ends.
"""

from __future__ import annotations

from datetime import datetime

from hub.model.incident import Incident, IncidentStatus, Person
from hub.model.intent import (
    AnnounceOwner,
    AskOptional,
    CreatePostMortem,
    NotifyFormerOwner,
    NotifyOwner,
)
from hub.model.postmortem import PostMortem, PostMortemStatus
from hub.model.vendor_status import VendorPostmortemStatus
from hub.policy.context import Context
from hub.policy.document_plan import document_url, plan_document, plan_results_email
from hub.policy.external_message import (
    external_message_required,
    external_message_wanted,
    plan_external_message,
)
from hub.policy.followup_dues import plan_follow_up_dues
from hub.policy.followups import plan_follow_ups
from hub.policy.lifecycle_asks import plan_cancel_meeting, plan_no_owner, plan_second_review
from hub.policy.meeting import emit_meeting, meeting_anchor, plan_meeting
from hub.policy.owner import choose_owner
from hub.policy.owner_briefing import asks_for_external_message, roles_for_owner_dm
from hub.policy.plan import MeetingPlan, Plan, Requirement
from hub.policy.policyset import PolicySet
from hub.policy.reminders import plan_reminders
from hub.policy.requirement import ask, decide, plan_dropped
from hub.policy.teams import resolve_route
from hub.policy.templates import person_value
from hub.policy.upkeep import meeting_facts, update_details
from hub.policy.vendor import plan_vendor_status, report_unblocked
from hub.policy.writeback import plan_writeback


def evaluate(
    incident: Incident, postmortem: PostMortem | None, policies: PolicySet, now: datetime
) -> Plan:
    if now.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    decision = decide(incident, postmortem, policies, now)
    if decision is None:
        return _plan_without(incident, postmortem, None, "no policy rule matches this incident")
    policy, rule, required = decision.policy, decision.rule, decision.required
    if required is False and not decision.dropped:
        declined = incident.status is IncidentStatus.DECLINED and rule.postmortem != "none"
        note = (
            "the incident was declined (merged, not a false positive): no post-mortem"
            if declined
            else None
        )
        return _plan_without(
            incident, postmortem, rule.name, note or "this rule needs no post-mortem"
        )
    owner = choose_owner(incident, postmortem, rule.owner_chain)
    team = policies.team_of(incident)
    route = resolve_route(team, rule=rule.targets, policy=policy.spec.targets, teams=policies.teams)
    ctx = Context(incident, postmortem, policy, rule, now, owner, route=route)
    if decision.dropped:
        meeting = _plan_dropped(ctx, decision.now_rule)
    else:
        drop = postmortem.requirement_dropped if postmortem else None
        if decision.kept and drop is not None:
            ctx.notes.append(f"kept under rule {rule.name!r} after it stopped being required")
            ask(ctx, drop, decision.now_rule)  # the question says it was kept
        meeting = _plan(ctx, required)
    return Plan(
        team=team,
        route=route,
        incident_id=incident.id,
        severity=incident.severity,
        incident_status=incident.status,
        required=required,
        rule=rule.name,
        status=_status(postmortem, required),
        owner=owner,
        meeting=meeting,
        external_message_required=external_message_required(ctx),
        document_expected=rule.document is not None,
        review_requires=tuple(rule.review.requires) if rule.review else (),
        intents=tuple(ctx.intents),
        problems=tuple(dict.fromkeys(ctx.problems)),
        notes=tuple(dict.fromkeys(ctx.notes)),
        dropped=decision.dropped,
        kept=decision.kept,
    )


def _status(postmortem: PostMortem | None, required: Requirement) -> PostMortemStatus | None:
    """The post-mortem's status; a required one not created yet is about to be a draft."""
    if postmortem is not None:
        return postmortem.status
    return PostMortemStatus.DRAFT if required is True else None


def _plan_without(
    incident: Incident, postmortem: PostMortem | None, rule: str | None, note: str
) -> Plan:
    return Plan(
        incident_id=incident.id,
        severity=incident.severity,
        incident_status=incident.status,
        required=False,
        rule=rule,
        status=postmortem.status if postmortem else None,
        notes=(note,),
    )


def _plan(ctx: Context, required: Requirement) -> MeetingPlan | None:
    """Every step in process order; returns the meeting plan for display."""
    pm = ctx.postmortem
    if ctx.incident.status is IncidentStatus.DECLINED and pm is None:
        # Seed 000's "But wait!": a false positive may skip it, but is asked first.
        ctx.notes.append("the incident was declined: no post-mortem unless someone wants one")
        _ask_optional(ctx)
        return None
    if pm is not None and pm.status is PostMortemStatus.CLOSED:
        return _closed(ctx)
    if ctx.resolved_at is None:
        ctx.notes.append("the post-mortem starts when the incident is resolved")
        if pm is not None and pm.meeting is not None:
            # Reopened after the meeting was booked: the event says so; its time stays.
            update_details(ctx, pm.meeting, reopened=True)
        plan_second_review(ctx)
        return _meeting_only(ctx)
    if ctx.owner is None:
        ctx.problems.append(
            f"nobody to own the post-mortem: {', '.join(ctx.rule.owner_chain)} found no one; "
            "designate an owner"
        )
    if required == "optional" and pm is None:
        _ask_optional(ctx)
        return _meeting_only(ctx)
    if pm is None:
        ctx.add(
            "create",
            "postmortem",
            f"rule {ctx.rule.name!r} requires a post-mortem for this {ctx.incident.severity}",
            CreatePostMortem(incident_id=ctx.incident.id),
        )
    planned = plan_meeting(ctx)
    meeting = planned[0] if planned else None
    if required is True:
        _notify_owner(ctx, meeting)
        _tell_former_owners(ctx)
        plan_no_owner(ctx)
    plan_second_review(ctx)
    emit_meeting(ctx, planned)
    plan_reminders(
        ctx,
        anchor=_reminder_anchor(ctx),
        deadline=meeting.deadline if meeting else None,
        external_required=external_message_required(ctx),
    )
    plan_follow_ups(ctx)
    plan_follow_up_dues(ctx)
    plan_external_message(ctx)
    plan_writeback(ctx)
    plan_document(ctx)
    plan_results_email(ctx)
    plan_vendor_status(ctx, meeting)
    return meeting


def _closed(ctx: Context, *, show_meeting: bool = True) -> MeetingPlan | None:
    """A closed post-mortem: its outcome told, its unneeded meeting cancelled, questions
    edited to say how they ended, the incident tool's status written."""
    pm = ctx.postmortem
    assert pm is not None  # noqa: S101 - checked by the caller
    ctx.notes.append(f"closed: {pm.not_needed_reason or 'no further actions'}")
    plan_writeback(ctx)
    plan_document(ctx)
    plan_results_email(ctx)
    plan_follow_up_dues(ctx)  # follow-ups outlive the post-mortem: due dates, reminders
    plan_cancel_meeting(ctx)
    plan_no_owner(ctx)
    plan_vendor_status(ctx, None)
    if pm.vendor_status is not None and pm.vendor_status.status is VendorPostmortemStatus.COMPLETED:
        report_unblocked(ctx)
    return _meeting_only(ctx) if show_meeting else None


def _plan_dropped(ctx: Context, now_rule: str | None) -> MeetingPlan | None:
    """No longer required: ask to keep or close (open), or end it tidily (closed). No
    meeting is planned (the rule's deadlines may not even cover the new severity)."""
    pm = ctx.postmortem
    if pm is not None and pm.status is PostMortemStatus.CLOSED:
        if pm.requirement_dropped is not None:
            ask(ctx, pm.requirement_dropped, now_rule)
        return _closed(ctx, show_meeting=False)
    plan_dropped(ctx, now_rule)
    return None


def _meeting_only(ctx: Context) -> MeetingPlan | None:
    planned = plan_meeting(ctx)
    return planned[0] if planned else None


def _reminder_anchor(ctx: Context) -> datetime | None:
    """`after:` reminders count from the meeting's anchor, or resolution without a meeting."""
    if ctx.rule.meeting is None:
        return ctx.resolved_at
    return meeting_anchor(ctx, ctx.rule.meeting)


def _notify_owner(ctx: Context, meeting: MeetingPlan | None) -> None:
    """The owner's DM (one per owner) and the channel's announcement (one per post-mortem).

    Both payloads carry what their messages show - the deadline, the booked meeting,
    the owner's Accept - so a change there re-runs them, and the chat side edits the
    message it posted before rather than posting another. A hand-off is a new owner:
    their own DM (a new key), and the one announcement edited to name them.
    """
    owner = ctx.owner
    if owner is None:
        return
    deadline = meeting.deadline if meeting else None
    booked = ctx.postmortem.meeting if ctx.postmortem else None
    scheduled = meeting_facts(booked) if booked else None
    # Issue 16: one DM, not a DM and a second message racing it (hub.policy.owner_briefing).
    unresolved = meeting.unresolved_roles if meeting else ()
    roles = roles_for_owner_dm(ctx.postmortem, owner.person, unresolved)
    ctx.add(
        f"owner:notify:{owner.person.key}",
        "owner",
        f"{owner.person.display} owns the post-mortem (chosen by: {owner.reason})",
        NotifyOwner(
            owner=owner.person,
            reason=owner.reason,
            designated_by=owner.designated_by,
            previous_owner=owner.previous,
            deadline=deadline,
            meeting=scheduled,
            accepted_at=_accepted_at(ctx, owner.person),
            document_url=document_url(ctx),
            unresolved_roles=roles or None,
            asks_external_message=asks_for_external_message(
                ctx.postmortem, owner.person, wanted=external_message_wanted(ctx)
            )
            or None,
        ),
        message=ctx.message(
            "owner_notify", previous_owner=person_value(owner.previous), deadline=deadline
        ),
    )
    ctx.add(
        "owner:announce",
        "owner",
        f"tell the incidents channel that {owner.person.display} owns the post-mortem",
        AnnounceOwner(
            owner=owner.person,
            previous_owner=owner.previous,
            deadline=deadline,
            meeting=scheduled,
            document_url=document_url(ctx),
            status=_status_past_draft(ctx.postmortem),
        ),
    )


def _status_past_draft(postmortem: PostMortem | None) -> str | None:
    if postmortem is None or postmortem.status is PostMortemStatus.DRAFT:
        return None
    return postmortem.status.value


def _tell_former_owners(ctx: Context) -> None:
    """Everyone who owned it before a hand-off: their DM is edited to say who owns it now.

    Under their own NOTIFY_OWNER key, so it is the DM they got that changes (its
    buttons go: Accept would take the post-mortem back). The chat side only edits;
    someone who never got a DM is not sent one now.
    """
    owner, pm = ctx.owner, ctx.postmortem
    if owner is None or pm is None or not pm.designations:
        return
    chosen = choose_owner(ctx.incident, None, ctx.rule.owner_chain)  # before anyone designated
    earlier = [chosen.person] if chosen else []
    earlier += [d.person for d in sorted(pm.designations, key=lambda d: d.at.timestamp())]
    former = {p.key: p for p in earlier if p.key != owner.person.key}
    for person in former.values():
        ctx.add(
            f"owner:notify:{person.key}",
            "owner",
            f"{person.display} handed the post-mortem on; {owner.person.display} owns it now",
            NotifyFormerOwner(owner=person, handed_to=owner.person),
        )


def _accepted_at(ctx: Context, owner: Person) -> datetime | None:
    """When `owner` accepted; an Accept by an earlier owner does not count for a new one."""
    acceptance = ctx.postmortem.acceptance if ctx.postmortem else None
    return acceptance.at if acceptance and acceptance.person.key == owner.key else None


def _ask_optional(ctx: Context) -> None:
    """Seed 000: a false positive may skip the post-mortem, but ask whether alerting needs work."""
    owner = ctx.owner
    if owner is None:
        return
    ctx.add(
        f"optional:ask:{owner.person.key}",
        "postmortem",
        "a post-mortem is optional: ask whether a quick one should tune the alerting",
        AskOptional(recipient=owner.person, reason=owner.reason),
        message=ctx.message("optional_ask"),
    )
