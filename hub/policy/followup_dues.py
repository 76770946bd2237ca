"""Follow-ups with due dates: when each is due, the ticket kept in step, reminders, escalation.

A rule's `follow_ups.due` gives a duration per priority (`{P0: 2 weeks, P1: 4 weeks}`,
calendar or business days as for meeting deadlines), counted from when pmhub heard of
the follow-up, in the policy's calendar. Once the ticket has a due date (set by pmhub
when it filed it, or moved by a person in Jira), that date is the follow-up's: the
policy no longer recomputes it (`FollowUp.due_fixed`).

While a follow-up is open (neither done nor dropped), and whether or not its
post-mortem has closed:

* SET_FOLLOWUP_DUE keeps the ticket's due date equal to pmhub's (a ticket filed before
  the policy had due dates, a follow-up whose due date was set in pmhub);
* REMIND_FOLLOWUP tells its owner (the post-mortem's owner when it has none) before
  the due date (`remind.before`) and on it (`remind.on_due`), and escalates to the
  people `escalate.to` names once it is overdue by `escalate.after`. Each stage is one
  key per due date (`pm:<id>:followup:<n>:remind:due@2026-12-04`), so each is said once;
  a moved due date is a new date, and its reminders are new. As with the process's
  reminders, only the latest stage already due and the next one are planned: after
  an outage a person gets the escalation, not three messages at once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from hub.model.incident import Incident, Person
from hub.model.intent import FollowUpStage, RemindFollowUp, SetFollowUpDue
from hub.model.postmortem import FollowUp, FollowUpState
from hub.policy.calendar import WorkCalendar, instant
from hub.policy.context import Context
from hub.policy.deadlines import shift
from hub.policy.directory import resolve_role
from hub.policy.durations import BusinessDays, CalendarDays, Duration, Elapsed
from hub.policy.policyset import Policy, PolicySet
from hub.policy.schema import FollowUpsSpec, RuleSpec

DEFAULT_PRIORITY = "default"


def due_date(ctx: Context, item: FollowUp) -> date | None:
    """The follow-up's due date: the one on record once fixed, else the rule's for its priority."""
    return _due(ctx.calendar, ctx.rule, item, ctx.resolved_at)


def follow_up_due(
    policies: PolicySet,
    incident: Incident,
    item: FollowUp,
    matched: tuple[Policy, RuleSpec] | None = None,
) -> date | None:
    """`due_date` outside a plan (the digest, the report): under the rule the incident
    matches (`matched`, when the caller has already looked it up)."""
    if item.due_fixed:
        return item.due_on
    found = matched or policies.match(incident)
    if found is None:
        return None
    policy, rule = found
    return _due(policy.calendar, rule, item, incident.resolved_at)


def _due(
    calendar: WorkCalendar, rule: RuleSpec, item: FollowUp, resolved_at: datetime | None
) -> date | None:
    if item.due_fixed:
        return item.due_on
    spec = rule.follow_ups
    duration = _duration_for(spec, item.priority) if spec else None
    anchor = item.created_at or resolved_at
    if duration is None or anchor is None:
        return None
    return calendar.local(shift(calendar, anchor, duration)).date()


def plan_follow_up_dues(ctx: Context) -> None:
    pm = ctx.postmortem
    if pm is None:
        return
    for item in pm.follow_ups:
        if item.state is not FollowUpState.OPEN:
            continue  # done or dropped: no date to keep, nobody to remind
        due = due_date(ctx, item)
        if item.tracker_key is not None and due != item.tracker_due_on:
            ctx.add(
                f"followup:{item.id}:due",
                "follow_ups.due",
                f"set the due date of {item.tracker_key} to {due or 'none'}",
                SetFollowUpDue(id=item.id, tracker_key=item.tracker_key, due_on=due),
            )
        if due is not None:
            _plan_reminders(ctx, item, due)


def _duration_for(spec: FollowUpsSpec, priority: str) -> Duration | None:
    wanted = priority.casefold()
    for name, duration in spec.due.items():
        if name.casefold() == wanted:
            return duration
    return next((d for n, d in spec.due.items() if n.casefold() == DEFAULT_PRIORITY), None)


# -- reminders -------------------------------------------------------------------------


def stage_times(ctx: Context, due: date) -> list[tuple[FollowUpStage, datetime]]:
    """When each stage the rule asks for comes, in time order."""
    spec = ctx.rule.follow_ups
    if spec is None:
        return []
    calendar = ctx.calendar
    due_start = _due_morning(calendar, due)
    stages: list[tuple[FollowUpStage, datetime]] = []
    if spec.remind.before is not None:
        stages.append(("before", _before(calendar, due_start, spec.remind.before)))
    if spec.remind.on_due:
        stages.append(("due", due_start))
    if spec.escalate is not None:
        stages.append(("overdue", shift(calendar, calendar.closes(due), spec.escalate.after)))
    return sorted(stages, key=lambda stage: instant(stage[1]))


def _plan_reminders(ctx: Context, item: FollowUp, due: date) -> None:
    stages = stage_times(ctx, due)
    now = instant(ctx.now)
    past = [stage for stage in stages if instant(stage[1]) <= now]
    upcoming = [stage for stage in stages if instant(stage[1]) > now]
    for stage, at in past[-1:] + upcoming[:1]:
        _remind(ctx, item, due, stage, at)


def _remind(ctx: Context, item: FollowUp, due: date, stage: FollowUpStage, at: datetime) -> None:
    recipients, unresolved = _recipients(ctx, item, stage)
    if unresolved:
        ctx.problems.append(f"follow-up {item.id} escalation: nobody holds {', '.join(unresolved)}")
    what = {
        "before": f"follow-up {item.id} is due on {due.isoformat()}",
        "due": f"follow-up {item.id} is due today ({due.isoformat()})",
        "overdue": f"follow-up {item.id} was due on {due.isoformat()} and is still open",
    }[stage]
    ctx.add(
        f"followup:{item.id}:remind:{stage}@{due.isoformat()}",
        f"follow_ups.{'escalate' if stage == 'overdue' else 'remind'}",
        what,
        RemindFollowUp(
            id=item.id,
            due_on=due,
            stage=stage,
            recipients=tuple(recipients),
            unresolved_roles=tuple(unresolved),
        ),
        due_at=at,
    )


def _recipients(
    ctx: Context, item: FollowUp, stage: FollowUpStage
) -> tuple[list[Person], list[str]]:
    """The owner is reminded; the policy's escalation contacts hear once it is overdue."""
    if stage != "overdue":
        owner = item.owner or ctx.owner_person
        return ([owner] if owner else []), []
    spec = ctx.rule.follow_ups
    people: dict[str, Person] = {}
    unresolved: list[str] = []
    for role in spec.escalate.to if spec and spec.escalate else ():
        found = resolve_role(role, ctx.incident, ctx.policy.spec.directory, ctx.owner_person)
        people.update({person.key: person for person in found})
        if not found:
            unresolved.append(role)
    return list(people.values()), unresolved


def _due_morning(calendar: WorkCalendar, due: date) -> datetime:
    """The start of the due date's working day; a due date off work counts from the last
    working morning before it (people are told while they can still act)."""
    day = due if calendar.is_working_day(due) else calendar.next_working_day(due, step=-1)
    return calendar.opens(day)


def _before(calendar: WorkCalendar, due_start: datetime, duration: Duration) -> datetime:
    """`duration` before the due morning, on a working morning (never after it)."""
    match duration:
        case BusinessDays(days):
            day = calendar.local(due_start).date()
            for _ in range(days):
                day = calendar.next_working_day(day, step=-1)
            return calendar.opens(day)
        case CalendarDays(days):
            day = calendar.local(due_start).date() - timedelta(days=days)
            if not calendar.is_working_day(day):
                day = calendar.next_working_day(day, step=-1)
            return calendar.opens(day)
        case Elapsed(delta):
            return (instant(due_start) - delta).astimezone(calendar.tz)
