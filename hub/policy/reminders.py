"""Reminders and escalations as timers with exact due times.

Each reminder clause yields at most two intents per evaluation:

* the most recent occurrence already due (`due_at <= now`), if its condition
  holds now: carried out at once unless the ledger shows it was;
* the next occurrence (`due_at > now`), if its condition would hold then given
  what is known now: a timer. When it fires the engine runs again with the
  state of that moment, and a reminder whose condition no longer holds (the
  meeting got scheduled) is simply not emitted.

Older occurrences are not repeated: after an outage, people get one reminder,
not one per missed day. Keys carry the due time in UTC
(`pm:<id>:remind:overdue@2026-03-12T13:00:00Z`), so each occurrence is its own
effect and re-evaluating never re-sends one.

When a clause counts from:
`after` - the rule's meeting anchor (resolution, or the owner's designation);
`before_meeting` - the scheduled meeting start (nothing until it is scheduled);
neither - the meeting deadline (how `overdue` escalations are written).
`every` repeats the clause from that first time while its condition holds.

Escalations climb (issue 13, `escalate_to`): an escalation that reaches only the
owner is no escalation - the owner and the IC are often the same person. The steps
are the `notify` people other than the owner, then each `escalate_to` entry (a role,
an email, a Slack user group id); a step that names nobody new is skipped. The n-th
occurrence goes to the owner (a reminder for them) and the n-th step; past the last
step only the owner is reminded. Nobody hears one escalation twice: one message per
human per occurrence, however many roles they hold.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from hub.model.incident import Person
from hub.model.intent import Remind, utc_stamp
from hub.model.postmortem import FollowUpState, PostMortemStatus
from hub.policy.calendar import WorkCalendar, instant
from hub.policy.context import OPEN_STATUSES, Context
from hub.policy.deadlines import shift, shift_back
from hub.policy.directory import resolve_role
from hub.policy.durations import Duration, Elapsed
from hub.policy.schema import CHAT_GROUP, ReminderSpec

MAX_OCCURRENCES = 1000  # a daily reminder for almost three years; enough for any process

CONDITION_TEXT = {
    "meeting_not_scheduled": "the post-mortem meeting is not scheduled yet",
    "status_is_draft": "the post-mortem is still a draft",
    "not_reviewed": "the post-mortem has not been reviewed yet",
    "overdue": "the post-mortem meeting deadline has passed",
    "follow_ups_not_filed": "follow-up tickets are not all filed yet",
    "external_message_missing": "the external message is not written yet",
}


def plan_reminders(
    ctx: Context,
    *,
    anchor: datetime | None,
    deadline: datetime | None,
    external_required: bool,
) -> None:
    for reminder in ctx.rule.reminders:
        base = _first_due(ctx, reminder, anchor, deadline)
        if base is None:
            continue
        last, upcoming = occurrences(ctx.calendar, base, reminder.every, ctx.now)
        for due in (last, upcoming):
            if due is not None and holds(ctx, reminder.if_, due, deadline, external_required):
                step = occurrence_index(ctx.calendar, base, reminder.every, due)
                _emit(ctx, reminder, due, deadline, step)


def _first_due(
    ctx: Context, reminder: ReminderSpec, anchor: datetime | None, deadline: datetime | None
) -> datetime | None:
    if reminder.before_meeting is not None:
        meeting = ctx.postmortem.meeting if ctx.postmortem else None
        if meeting is None:
            return None
        return shift_back(ctx.calendar, meeting.start, reminder.before_meeting)
    if reminder.after is not None:
        return shift(ctx.calendar, anchor, reminder.after) if anchor else None
    return deadline


def occurrences(
    calendar: WorkCalendar, first: datetime, every: Duration | None, now: datetime
) -> tuple[datetime | None, datetime | None]:
    """(latest occurrence at or before `now`, first occurrence after `now`)."""
    now = instant(now)
    if every is None:
        return (first, None) if instant(first) <= now else (None, first)
    if instant(first) > now:
        return None, first
    if isinstance(every, Elapsed):
        # Jump straight to `now` rather than stepping through every past hour.
        steps = (now - instant(first)) // every.delta
        last = (instant(first) + steps * every.delta).astimezone(calendar.tz)
        return last, (instant(last) + every.delta).astimezone(calendar.tz)
    last = first
    for _ in range(MAX_OCCURRENCES):
        following = shift(calendar, last, every)
        if instant(following) > now:
            return last, following
        last = following
    return last, None


def occurrence_index(
    calendar: WorkCalendar, first: datetime, every: Duration | None, due: datetime
) -> int:
    """Which occurrence `due` is (0 for the first), counting `every` from `first`."""
    if every is None or instant(due) <= instant(first):
        return 0
    if isinstance(every, Elapsed):
        return int((instant(due) - instant(first)) // every.delta)
    at, index = first, 0
    while index < MAX_OCCURRENCES:
        at = shift(calendar, at, every)
        if instant(at) > instant(due):
            return index
        index += 1
    return index


def holds(
    ctx: Context,
    condition: str,
    at: datetime,
    deadline: datetime | None,
    external_required: bool,
) -> bool:
    """Whether `condition` holds at `at`, judged by the state known now."""
    pm = ctx.postmortem
    if pm is not None and pm.status is PostMortemStatus.CLOSED:
        return False
    is_open = ctx.status in OPEN_STATUSES
    checks: dict[str, Callable[[], bool]] = {
        "meeting_not_scheduled": lambda: (
            (pm is None or pm.meeting is None) and not _cancellation_told_since(ctx, at)
        ),
        "status_is_draft": lambda: ctx.status is PostMortemStatus.DRAFT,
        "not_reviewed": lambda: is_open,
        "overdue": lambda: deadline is not None and instant(at) >= instant(deadline) and is_open,
        "follow_ups_not_filed": lambda: (
            ctx.status is PostMortemStatus.REVIEWED and not _all_filed(ctx)
        ),
        "external_message_missing": lambda: (
            external_required and (pm is None or pm.external_message is None)
        ),
    }
    return checks[condition]()


def _cancellation_told_since(ctx: Context, at: datetime) -> bool:
    """The meeting was cancelled after `at`: the owner was told then (REPORT_MEETING_CANCELLED),
    so an earlier "not scheduled" occurrence is not sent on top of it; later ones are."""
    cancelled = ctx.postmortem.cancelled_meetings if ctx.postmortem else ()
    return bool(cancelled) and instant(at) <= instant(cancelled[-1].noticed_at)


def _all_filed(ctx: Context) -> bool:
    pm = ctx.postmortem
    if pm is None:
        return False
    pending = [f for f in pm.follow_ups if f.state is FollowUpState.OPEN and not f.filed]
    return not pending and (pm.no_follow_ups or bool(pm.follow_ups))


def _emit(
    ctx: Context,
    reminder: ReminderSpec,
    due: datetime,
    deadline: datetime | None,
    step: int = 0,
) -> None:
    recipients: list[Person] = []
    unresolved: list[str] = []
    for role in reminder.notify:
        people = _holders(ctx, role)
        recipients += people
        if not people:
            unresolved.append(role)
    if unresolved:
        ctx.problems.append(f"reminder {reminder.clause!r}: nobody holds {', '.join(unresolved)}")
    recipients = _unique(recipients)
    escalated: tuple[Person, ...] | None = None
    if reminder.escalate_to:
        recipients, escalated = _climb(ctx, reminder, recipients, step)
    elif reminder.if_ == "overdue" and not _others(ctx, recipients):
        ctx.problems.append(
            f"reminder {reminder.clause!r} escalates to the owner alone: name someone "
            "further with `escalate_to` (an engineering manager, a Slack user group)"
        )
    condition = CONDITION_TEXT[reminder.if_]
    ctx.add(
        f"remind:{reminder.clause}@{utc_stamp(due)}",
        f"reminders.{reminder.clause}",
        f"reminder: {condition}",
        Remind(
            condition=reminder.if_,
            recipients=tuple(recipients),
            unresolved_roles=tuple(unresolved),
            escalated_to=escalated,
        ),
        due_at=due,
        message=ctx.message(
            "reminder", clause=reminder.clause, condition=condition, deadline=deadline
        ),
    )


def _same(a: Person, b: Person) -> bool:
    return a.key == b.key or a.same_human(b)


def _unique(people: list[Person]) -> list[Person]:
    """Each human once, in order (one identity shared is one human)."""
    found: list[Person] = []
    for person in people:
        if not any(_same(person, known) for known in found):
            found.append(person)
    return found


def _holders(ctx: Context, role: str) -> tuple[Person, ...]:
    if CHAT_GROUP.match(role):
        return (Person(slack_id=role),)  # a Slack user group, mentioned where it is told
    return resolve_role(role, ctx.incident, ctx.policy.spec.directory, ctx.owner_person)


def _others(ctx: Context, people: list[Person]) -> list[Person]:
    """`people` without the owner (escalating to the owner reaches nobody new)."""
    owner = ctx.owner_person
    return [p for p in people if owner is None or not _same(p, owner)]


def _climb(
    ctx: Context, reminder: ReminderSpec, notified: list[Person], step: int
) -> tuple[list[Person], tuple[Person, ...] | None]:
    """(recipients, who this occurrence escalates to beyond `notify`) for the `step`-th
    occurrence: the owner, and one step of the ladder (see the module's docstring)."""
    others = _others(ctx, notified)
    owner = [p for p in notified if p not in others]
    seen: list[Person] = list(owner)
    steps: list[list[Person]] = []
    for group in [others, *(list(_holders(ctx, entry)) for entry in reminder.escalate_to)]:
        new = [p for p in _unique(group) if not any(_same(p, known) for known in seen)]
        if new:
            steps.append(new)
            seen += new
    if step >= len(steps):
        if steps:
            ctx.notes.append(f"reminder {reminder.clause!r}: every escalation step was told")
        return owner, None
    reached = steps[step]
    if step == 0 and reached == others:
        return notified, None  # `notify` itself: no step of `escalate_to` yet
    return _unique(owner + reached), tuple(reached)
