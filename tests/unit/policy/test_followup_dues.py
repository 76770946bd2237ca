"""Follow-up due dates (issue 15), pure: when each is due, the ticket kept in step, reminders.

The whole flow under simulated time (filed with the date, moved in Jira, reminded and
escalated once) is tests/e2e/test_followup_dues.py.
"""

from __future__ import annotations

from datetime import date, datetime

from hub.model.intent import FileFollowUp, IntentKind, RemindFollowUp, SetFollowUpDue
from hub.model.postmortem import FollowUp, FollowUpState, PostMortemStatus
from hub.policy import Plan

from .factories import ALICE, IC, incident, ny, payload, plan_for, policy_from, postmortem

POLICY = """\
version: 1
calendar: {timezone: America/New_York, holidays: {country: US}}
directory:
  default: {engineering_manager: em@example.com}
rules:
  - name: all
    postmortem: required
    follow_ups:
      due: {P0: 5 business days, p1: 2 weeks, default: 30 days}
      remind: {before: 1 business day}
      escalate: {to: [engineering_manager]}
"""
POLICIES = policy_from(POLICY)
# Added on Monday 2 March 2026 at 11:00 in New York (the incident resolved at 10:00).
ADDED = ny(2026, 3, 2, 11)


def _item(**changes: object) -> FollowUp:
    values: dict[str, object] = {
        "id": "1",
        "summary": "Alert on 5xx",
        "priority": "P0",
        "owner": ALICE,
        "created_at": ADDED,
    }
    values.update(changes)
    return FollowUp.model_validate(values)


def _plan(*items: FollowUp, now: datetime | None = None, **pm: object) -> Plan:
    return plan_for(
        incident(), postmortem(follow_ups=items, **pm), now=now or ADDED, policies=POLICIES
    )


def _ticket_due(plan: Plan) -> date | None:
    return payload(plan.intent_of(IntentKind.FILE_FOLLOWUP), FileFollowUp).due_on


def test_due_by_priority_in_business_or_calendar_days() -> None:
    # 5 business days from Monday 2 March: Monday 9 March.
    assert _ticket_due(_plan(_item())) == date(2026, 3, 9)
    # Priority names match whatever their case; 2 weeks is 14 calendar days.
    assert _ticket_due(_plan(_item(priority="P1"))) == date(2026, 3, 16)
    # `default` for the others.
    assert _ticket_due(_plan(_item(priority="P2"))) == date(2026, 4, 1)
    # Business days skip holidays: from Friday 3 July 2026 (Independence Day observed).
    late = _item(created_at=ny(2026, 7, 2, 11))
    assert _ticket_due(_plan(late, now=ny(2026, 7, 2, 11))) == date(2026, 7, 10)


def test_a_fixed_due_date_is_the_follow_ups_whatever_the_policy_says() -> None:
    moved = _item(due_on=date(2026, 3, 20), due_set_by="jira")
    assert _ticket_due(_plan(moved)) == date(2026, 3, 20)
    cleared = _item(due_on=None, due_set_by="jira")
    plan = _plan(cleared)
    assert _ticket_due(plan) is None
    assert not [i for i in plan.intents if isinstance(i.payload, RemindFollowUp)]


def test_the_ticket_is_kept_in_step_with_pmhubs_due_date() -> None:
    # Filed before the policy gave due dates: the ticket is set to the policy's date.
    filed = _item(tracker_key="OPS-1")
    intent = _plan(filed).intent_of(IntentKind.SET_FOLLOWUP_DUE)
    change = payload(intent, SetFollowUpDue)
    assert (change.tracker_key, change.due_on) == ("OPS-1", date(2026, 3, 9))
    assert intent is not None
    assert intent.key == "pm:pagerduty:P1:followup:1:due"
    # Filed with it (or moved in Jira): nothing to write back.
    in_step = filed.model_copy(
        update={
            "due_on": date(2026, 3, 9),
            "due_set_by": "pmhub",
            "tracker_due_on": date(2026, 3, 9),
        }
    )
    assert _plan(in_step).intent_of(IntentKind.SET_FOLLOWUP_DUE) is None


def _reminders(plan: Plan) -> list[tuple[str, str, str | None]]:
    found: list[tuple[str, str, str | None]] = []
    for intent in plan.intents:
        if isinstance(intent.payload, RemindFollowUp):
            due = intent.due_at.isoformat() if intent.due_at else None
            found.append((intent.key.rsplit(":", 1)[-1], intent.payload.stage, due))
    return found


def test_the_latest_stage_due_and_the_next_are_planned() -> None:
    item = _item()  # due Monday 9 March
    # Before anything: the reminder a business day before (Friday 09:00) is the timer.
    assert _reminders(_plan(item)) == [("before@2026-03-09", "before", "2026-03-06T09:00:00-05:00")]
    # On Friday: that one now, the due-date one next.
    assert _reminders(_plan(item, now=ny(2026, 3, 6, 10))) == [
        ("before@2026-03-09", "before", "2026-03-06T09:00:00-05:00"),
        ("due@2026-03-09", "due", "2026-03-09T09:00:00-04:00"),
    ]
    # Escalation: the next working morning after the due date (after: 0 business days).
    [*_, escalation] = _reminders(_plan(item, now=ny(2026, 3, 9, 12)))
    assert escalation == ("overdue@2026-03-09", "overdue", "2026-03-10T09:00:00-04:00")
    # Long after: the escalation alone (older stages are not said late).
    assert [r[1] for r in _reminders(_plan(item, now=ny(2026, 3, 20, 12)))] == ["overdue"]


def test_the_owner_is_reminded_and_the_policys_contact_hears_the_escalation() -> None:
    late = _plan(_item(), now=ny(2026, 3, 20, 12))
    reminder = next(i for i in late.intents if isinstance(i.payload, RemindFollowUp))
    escalation = payload(reminder, RemindFollowUp)
    assert [p.email for p in escalation.recipients] == ["em@example.com"]
    on_time = _plan(_item(owner=None), now=ny(2026, 3, 6, 10))
    reminder = next(i for i in on_time.intents if isinstance(i.payload, RemindFollowUp))
    # Nobody owns the follow-up: the post-mortem's owner (the commander) is told.
    assert payload(reminder, RemindFollowUp).recipients == (IC,)


def test_done_and_dropped_follow_ups_stop_their_reminders() -> None:
    for state in (FollowUpState.DONE, FollowUpState.DROPPED):
        settled = _item(state=state, tracker_key="OPS-1")
        assert _reminders(_plan(settled, now=ny(2026, 3, 9, 12))) == []


def test_follow_ups_are_reminded_after_the_post_mortem_closed() -> None:
    plan = _plan(
        _item(tracker_key="OPS-1", due_on=date(2026, 3, 9), due_set_by="pmhub"),
        now=ny(2026, 3, 9, 12),
        status=PostMortemStatus.CLOSED,
    )
    assert [r[1] for r in _reminders(plan)] == ["due", "overdue"]
