"""Whether a post-mortem is required now, and what happens when that stops being so.

The rule that matches the incident decides, with two exceptions:

* **Declined** (incident.io declined or cancelled, seed 000's false positive): no
  post-mortem is required, whatever the severity; where the rule would have one, the
  owner is asked whether a quick one should make sure the alerting gets a follow-up
  ("But wait!"), as for any false positive. A merged incident (PagerDuty or
  incident.io) needs none of its own and nobody is asked: the incident it joined has it.
* **The requirement dropped** after the post-mortem started: P1 lowered to P3, or the
  incident declined later. The post-mortem is not left in Draft forever. It stays
  under the rule that required it (`PostMortem.required_by`): its owner is asked to
  keep it or close it as not needed, by a stated time (`when_no_longer_required`);
  after that the rule's default applies. Kept, it goes on under that rule as before;
  closed, its future meeting is cancelled and the reason is in the audit log.

`track` is the bookkeeping the reconciler applies (pure: post-mortem in, post-mortem
out): which rule requires the post-mortem, and since when it no longer is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.model.incident import Incident, IncidentStatus
from hub.model.intent import AskKeepPostMortem, CloseNotNeeded, utc_stamp
from hub.model.postmortem import PostMortem, PostMortemStatus, RequirementDrop
from hub.policy.calendar import instant
from hub.policy.context import Context
from hub.policy.deadlines import shift
from hub.policy.owner_briefing import note_owner_briefings
from hub.policy.plan import Plan, Requirement
from hub.policy.policyset import Policy, PolicySet
from hub.policy.schema import RuleSpec


@dataclass(frozen=True)
class Decision:
    """The rule whose process applies, and what it asks for now."""

    policy: Policy
    rule: RuleSpec
    required: Requirement
    dropped: bool = False  # required before, not now, and not kept (yet)
    kept: bool = False  # required before, not now, and kept: it goes on as before
    now_rule: str | None = None  # the rule that matches the incident now


def decide(
    incident: Incident, pm: PostMortem | None, policies: PolicySet, now: datetime
) -> Decision | None:
    found = policies.match(incident)
    current = _current(incident, found[1] if found else None)
    now_rule = found[1].name if found else None
    earlier = _requiring(policies, pm)
    if pm is not None and earlier is not None and current is not True:
        policy, rule = earlier
        drop = pm.requirement_dropped
        kept = drop is not None and (drop.kept or _kept_by_default(policy, rule, drop, now))
        return Decision(policy, rule, bool(kept), not kept, kept, now_rule)
    if found is None:
        return None
    return Decision(found[0], found[1], current, now_rule=now_rule)


def _current(incident: Incident, rule: RuleSpec | None) -> Requirement:
    if rule is None or rule.postmortem == "none":
        return False
    if incident.status is IncidentStatus.DECLINED:
        # Not an incident after all: optional for a false positive, none for a merge.
        return "optional" if incident.false_positive else False
    return True if rule.postmortem == "required" else "optional"


def _requiring(policies: PolicySet, pm: PostMortem | None) -> tuple[Policy, RuleSpec] | None:
    """The rule that required the post-mortem, if it still exists and still requires one."""
    if pm is None or pm.required_by is None:
        return None
    try:
        policy, rule = policies.rule(pm.required_by)
    except KeyError:
        return None  # renamed or removed since: nothing left to hold it to
    return (policy, rule) if rule.postmortem == "required" else None


def decide_by(policy: Policy, rule: RuleSpec, drop: RequirementDrop) -> datetime:
    """When the rule's default applies to an unanswered question."""
    return shift(policy.calendar, drop.at, rule.when_no_longer_required.answer_within)


def _kept_by_default(policy: Policy, rule: RuleSpec, drop: RequirementDrop, now: datetime) -> bool:
    spec = rule.when_no_longer_required
    if drop.answer is not None or spec.default != "keep":
        return False
    return instant(now) >= instant(decide_by(policy, rule, drop))


def track(pm: PostMortem, plan: Plan, now: datetime) -> PostMortem:
    """The reconciler's bookkeeping: the rule that requires the post-mortem, and when it
    stopped being required (the question is keyed by that instant, so it is asked once);
    and which roles an owner's first DM named (hub.policy.owner_briefing)."""
    pm = note_owner_briefings(pm, plan)
    if pm.status is PostMortemStatus.CLOSED or plan.rule is None:
        return pm
    drop = pm.requirement_dropped
    if plan.dropped:
        if drop is None:
            drop = RequirementDrop(at=now, required_by=plan.rule)
            return pm.model_copy(update={"requirement_dropped": drop})
        return pm
    if plan.required is True and not plan.kept:
        # Required (again) under the rule that matches: a question left open is moot.
        moot = drop is not None and drop.answer is None
        severity = plan.severity.value
        if pm.required_by != plan.rule or pm.required_severity != severity or moot:
            update: dict[str, object] = {"required_by": plan.rule, "required_severity": severity}
            if moot:
                update["requirement_dropped"] = None
            return pm.model_copy(update=update)
    return pm


def why_not_required(ctx: Context, now_rule: str | None) -> str:
    """One sentence: what changed, for the question, the audit log and the calendar."""
    incident = ctx.incident
    if incident.status is IncidentStatus.DECLINED:
        what = "the incident was declined" if incident.false_positive else "it was merged"
    else:
        what = f"the incident is now {incident.severity}"
    needs = f"rule {now_rule!r} needs none" if now_rule else "no rule needs one"
    return f"no longer required: {what} ({needs})"


def plan_dropped(ctx: Context, now_rule: str | None) -> None:
    """Ask the owner to keep it or close it; the rule's default at the stated time."""
    pm = ctx.postmortem
    drop = pm.requirement_dropped if pm else None
    why = why_not_required(ctx, now_rule)
    ctx.notes.append(why)
    if pm is None or drop is None:
        return  # the reconciler records the drop first: the question is keyed by it
    ask(ctx, drop, now_rule)
    spec = ctx.rule.when_no_longer_required
    if drop.answer is None and spec.default == "close" and pm.status is not PostMortemStatus.CLOSED:
        due = decide_by(ctx.policy, ctx.rule, drop)
        ctx.add(
            f"requirement:close@{utc_stamp(drop.at)}",
            "when_no_longer_required",
            f"{why}; nobody chose to keep it by {due.isoformat()}, so the rule's default "
            "closes it as not needed",
            CloseNotNeeded(
                required_by=drop.required_by,
                now_rule=now_rule,
                severity=ctx.incident.severity.value,
            ),
            due_at=due,
        )


def ask(ctx: Context, drop: RequirementDrop, now_rule: str | None) -> None:
    """The question (one per drop), edited once it is answered or the default applied."""
    spec = ctx.rule.when_no_longer_required
    due = decide_by(ctx.policy, ctx.rule, drop)
    answer, answered_by = drop.answer, drop.answered_by
    if answer is None and spec.default == "keep" and instant(ctx.now) >= instant(due):
        answer = "keep"  # kept by default: said so in the question
    ctx.add(
        f"requirement:ask@{utc_stamp(drop.at)}",
        "when_no_longer_required",
        f"{why_not_required(ctx, now_rule)}: ask the owner to keep it or close it as not "
        f"needed (default: {spec.default} at {due.isoformat()})",
        AskKeepPostMortem(
            recipient=ctx.owner_person,
            required_by=drop.required_by,
            now_rule=now_rule,
            severity=ctx.incident.severity.value,
            default=spec.default,
            decide_by=due,
            answer=answer,
            answered_by=answered_by,
        ),
    )
