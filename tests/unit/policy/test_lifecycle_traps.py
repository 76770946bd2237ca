"""Issue 13, a lifecycle with no traps: the pure policy side (no I/O, `now` an argument).

Each case is a moment the process cannot go on by itself; the plan must name who hears
about it (once: one key) and what happens next.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from hub.model.incident import (
    IncidentLinks,
    IncidentStatus,
    Person,
    Severity,
    Source,
)
from hub.model.intent import (
    AskKeepPostMortem,
    AskSecondReview,
    CancelMeeting,
    CloseNotNeeded,
    FollowVendorStatus,
    IntentKind,
    Remind,
    ReportCloseBlocked,
    ReportNoOwner,
    ReportUnassignedFollowUp,
    WriteVendorStatus,
)
from hub.model.postmortem import (
    FollowUp,
    OwnerDesignation,
    PostMortem,
    PostMortemStatus,
    ReopenAnswer,
    RequirementDrop,
)
from hub.model.vendor_status import VendorPostmortemStatus, VendorStatus
from hub.policy import (
    check_policy_files,
    close_as_not_needed,
    load_policies,
    policy_json_schema,
    transition,
)
from hub.policy.lifecycle import PMHUB, walk
from hub.policy.requirement import track

from .factories import (
    ALICE,
    IC,
    POSTHOG_POLICY,
    incident,
    keys,
    meeting,
    ny,
    payload,
    plan_for,
    policy_from,
    postmortem,
)

S = PostMortemStatus
AHEAD = meeting(ny(2026, 3, 4, 11))  # Wednesday, after every `now` below
NOBODY = {"incident_commander": None, "acknowledgers": (), "primary_oncall": None}


# -- a downgrade strands the post-mortem ------------------------------------------------


def test_a_downgrade_strands_the_post_mortem_unless_the_owner_is_asked() -> None:
    """P1 (SEV-1) lowered to P3 after the post-mortem started (shipped PagerDuty policy)."""
    now = ny(2026, 3, 2, 13)
    started = postmortem(meeting=AHEAD)
    required = plan_for(incident(severity=Severity.SEV1), started, now)
    started = track(started, required, now)
    assert started.required_by == "major"

    lowered = incident(severity=Severity.SEV3)
    plan = plan_for(lowered, started, now)
    assert (plan.required, plan.dropped) == (False, True)
    # What was the trap: `close` refused, nothing asked. Now the reconciler records the
    # drop (once), and the plan asks the owner, with the rule's default at a stated time.
    assert not transition(started, S.CLOSED, IC, now, plan=plan).allowed
    dropped = track(started, plan, now)
    assert dropped.requirement_dropped == RequirementDrop(at=now, required_by="major")
    assert track(dropped, plan_for(lowered, dropped, now), now) == dropped, "recorded once"
    plan = plan_for(lowered, dropped, now)
    question = payload(plan.intent_of(IntentKind.ASK_KEEP_POSTMORTEM), AskKeepPostMortem)
    assert question.recipient == IC
    assert (question.default, question.answer) == ("close", None)
    assert question.decide_by == ny(2026, 3, 3, 13)  # one business day
    default = plan.intent_of(IntentKind.CLOSE_NOT_NEEDED)
    assert default is not None
    assert default.due_at == question.decide_by
    payload(default, CloseNotNeeded)
    assert "nobody chose to keep it" in default.reason
    # Nothing else: no reminders, no meeting booked for a post-mortem nobody needs.
    assert {i.kind for i in plan.intents} == {
        IntentKind.ASK_KEEP_POSTMORTEM,
        IntentKind.CLOSE_NOT_NEEDED,
    }

    # Closed as not needed: allowed now, the question answered by the close.
    closed = close_as_not_needed(dropped, ALICE, now, "SEV-3 after all", plan=plan)
    assert closed.allowed
    assert closed.postmortem.requirement_dropped is not None
    assert closed.postmortem.requirement_dropped.answer == "close"
    after = plan_for(lowered, closed.postmortem, now)
    cancel = payload(after.intent_of(IntentKind.CANCEL_MEETING), CancelMeeting)
    assert (cancel.event_ref, cancel.not_needed_reason) == ("evt1", "SEV-3 after all")
    edited = payload(after.intent_of(IntentKind.ASK_KEEP_POSTMORTEM), AskKeepPostMortem)
    assert (edited.answer, edited.answered_by) == ("close", ALICE)
    # pmhub's own close (the default) is answered by nobody: "the default".
    by_default = close_as_not_needed(dropped, PMHUB, now, "default", plan=plan)
    assert by_default.postmortem.requirement_dropped is not None
    assert by_default.postmortem.requirement_dropped.answered_by is None


def test_a_kept_post_mortem_goes_on_under_the_rule_that_required_it() -> None:
    now = ny(2026, 3, 2, 13)
    drop = RequirementDrop(
        at=now, required_by="major", answer="keep", answered_by=ALICE, answered_at=now
    )
    kept = postmortem(required_by="major", required_severity="SEV-1", requirement_dropped=drop)
    plan = plan_for(incident(severity=Severity.SEV3), kept, now)
    assert (plan.required, plan.kept, plan.rule) == (True, True, "major")
    # The meeting keeps the deadline of the severity it was required at (3 calendar days).
    assert plan.meeting is not None
    assert plan.meeting.deadline == ny(2026, 3, 5, 10)
    assert plan.intent_of(IntentKind.SCHEDULE_MEETING) is not None
    question = payload(plan.intent_of(IntentKind.ASK_KEEP_POSTMORTEM), AskKeepPostMortem)
    assert (question.answer, question.answered_by) == ("keep", ALICE)
    assert plan.intent_of(IntentKind.CLOSE_NOT_NEEDED) is None


def test_a_default_of_keep_applies_once_the_time_is_up() -> None:
    """PostHog's policy keeps it unless someone closes it within two business days."""
    policies = load_policies([POSTHOG_POLICY])
    dropped_at = ny(2026, 3, 2, 13)
    pm = postmortem(
        incident_id="incidentio:01D",
        required_by="posthog-minor",
        requirement_dropped=RequirementDrop(at=dropped_at, required_by="posthog-minor"),
    )
    declined = incident(
        id="incidentio:01D",
        source=Source.INCIDENTIO,
        source_id="01D",
        status=IncidentStatus.DECLINED,
        false_positive=True,
    )
    asking = plan_for(declined, pm, dropped_at + timedelta(hours=1), policies)
    assert asking.dropped
    assert asking.intent_of(IntentKind.CLOSE_NOT_NEEDED) is None
    # Dropped Monday 18:00 UTC, after hours: two business days from Tuesday 09:00.
    assert plan_for(declined, pm, ny(2026, 3, 4, 14), policies).dropped
    later = plan_for(declined, pm, ny(2026, 3, 5, 14), policies)
    assert (later.kept, later.required) == (True, True)
    question = payload(later.intent_of(IntentKind.ASK_KEEP_POSTMORTEM), AskKeepPostMortem)
    assert (question.answer, question.answered_by) == ("keep", None)


def test_required_again_the_open_question_is_moot() -> None:
    now = ny(2026, 3, 2, 13)
    pm = postmortem(
        required_by="major", requirement_dropped=RequirementDrop(at=now, required_by="major")
    )
    plan = plan_for(incident(severity=Severity.SEV1), pm, now)
    assert plan.required is True
    assert track(pm, plan, now).requirement_dropped is None


# -- nobody owns it, nobody hears ----------------------------------------------------------


def test_nobody_owns_it_the_incidents_channel_is_told_at_once() -> None:
    plan = plan_for(incident(**NOBODY, manual_trigger=None))
    report = payload(plan.intent_of(IntentKind.REPORT_NO_OWNER), ReportNoOwner)
    assert (report.fallback, report.taken_by) == (None, None)
    assert plan.intent("pm:pagerduty:P1:owner:none") is not None


RULE = """\
version: 1
rules:
  - name: major
    postmortem: required
    owner: [designated, incident_commander, fallback: {fallback}]
"""


def test_nobody_owns_it_the_policy_fallback_hears_it() -> None:
    for fallback, expected in (
        ("sre-leads@example.com", Person(email="sre-leads@example.com")),
        ("S0SRELEADS", Person(slack_id="S0SRELEADS")),
    ):
        policies = policy_from(RULE.format(fallback=fallback))
        plan = plan_for(incident(**NOBODY), policies=policies)
        report = payload(plan.intent_of(IntentKind.REPORT_NO_OWNER), ReportNoOwner)
        assert report.fallback == expected


def test_taken_the_report_is_edited_to_say_who() -> None:
    taken = postmortem(designations=(OwnerDesignation(person=ALICE, by=ALICE, at=ny(2026, 3, 2)),))
    plan = plan_for(incident(**NOBODY, manual_trigger=None), taken)
    report = payload(plan.intent_of(IntentKind.REPORT_NO_OWNER), ReportNoOwner)
    assert report.taken_by == ALICE
    # Someone the chain finds needs no such report at all.
    assert plan_for(incident()).intent_of(IntentKind.REPORT_NO_OWNER) is None


# -- escalation to oneself -----------------------------------------------------------------

LADDER = """\
version: 1
calendar: {timezone: America/New_York, holidays: {country: US}}
directory:
  default: {engineering_manager: [em@example.com]}
rules:
  - name: major
    postmortem: required
    owner: [designated, incident_commander]
    meeting: {calendar: PMs, deadline: {default: 3 calendar days}}
    reminders:
      - {if: overdue, every: 1 business day, notify: [owner, incident_commander],
         escalate_to: [engineering_manager, S0SRELEADS]}
"""


def _escalation(now_day: int, **changes: object) -> Remind:
    policies = policy_from(LADDER)
    plan = plan_for(incident(**changes), postmortem(), ny(2026, 3, now_day, 11), policies)
    due = [i for i in plan.intents if i.kind is IntentKind.REMIND and i.due_at]
    latest = max(
        (i for i in due if i.due_at and i.due_at <= ny(2026, 3, now_day, 11)),
        key=lambda i: i.due_at or 0,
    )
    return payload(latest, Remind)


def test_escalation_to_oneself_goes_to_the_next_person_never_twice() -> None:
    """The owner is the IC: the escalation climbs `escalate_to`, one step a day."""
    first = _escalation(5)  # Thursday: the deadline (Monday 10:00 + 3 days)
    assert [p.key for p in first.recipients] == ["email:ic@example.com", "email:em@example.com"]
    assert first.escalated_to == (Person(email="em@example.com"),)
    second = _escalation(6)  # Friday
    assert second.escalated_to == (Person(slack_id="S0SRELEADS"),)
    assert Person(email="em@example.com") not in second.recipients, "told once"
    third = _escalation(9)  # Monday: every step told; the owner is still reminded
    assert (third.recipients, third.escalated_to) == ((IC,), None)


def test_an_ic_who_is_not_the_owner_hears_it_first() -> None:
    """`notify` itself is the first step when it names someone besides the owner."""
    owned = postmortem(designations=(OwnerDesignation(person=ALICE, by=IC, at=ny(2026, 3, 2)),))
    plan = plan_for(incident(), owned, ny(2026, 3, 5, 11), policy_from(LADDER))
    [first] = [
        i for i in plan.intents if i.kind is IntentKind.REMIND and i.due_at == ny(2026, 3, 5, 10)
    ]
    reminder = payload(first, Remind)
    assert [p.key for p in reminder.recipients] == [
        "email:alice@example.com",
        "email:ic@example.com",
    ]
    assert reminder.escalated_to is None


def test_one_human_under_two_identities_is_told_once() -> None:
    """The owner named by email, the IC by PagerDuty id and the same email in capitals."""
    commander = Person(pagerduty_id="PIC", email="IC@example.com", name="Ida")
    owned = postmortem(designations=(OwnerDesignation(person=IC, by=IC, at=ny(2026, 3, 2)),))
    inc = incident(incident_commander=commander)
    plan = plan_for(inc, owned, ny(2026, 3, 5, 11), policy_from(LADDER))
    [first] = [
        i for i in plan.intents if i.kind is IntentKind.REMIND and i.due_at == ny(2026, 3, 5, 10)
    ]
    reminder = payload(first, Remind)
    # One human: told once, and the escalation goes on to the next person.
    assert [p.key for p in reminder.recipients] == ["email:ic@example.com", "email:em@example.com"]
    assert reminder.escalated_to == (Person(email="em@example.com"),)


# -- a follow-up whose owner Jira does not know --------------------------------------------


def test_a_follow_up_jira_does_not_know_the_owner_of_is_reported_with_its_link() -> None:
    filed = FollowUp(
        id="7",
        summary="Alert on checkout 5xx",
        priority="P1",
        owner=Person(email="carol@example.com"),
        tracker_key="OPS-7",
        tracker_url="https://jira.example/browse/OPS-7",
        unassigned_reason="Jira knows no active user with the email carol@example.com",
    )
    plan = plan_for(incident(), postmortem(follow_ups=(filed,)))
    intent = plan.intent("pm:pagerduty:P1:followup:7:unassigned")
    report = payload(intent, ReportUnassignedFollowUp)
    assert (report.tracker_key, report.tracker_url, report.recipient) == (
        "OPS-7",
        "https://jira.example/browse/OPS-7",
        IC,
    )
    assert intent is not None
    assert "carol@example.com" in intent.message
    assert plan.intent("pm:pagerduty:P1:followup:7:ticket") is None, "filed, not refiled"


# -- a meeting held while the incident was reopened -----------------------------------------


def test_a_reopen_after_the_meeting_asks_whether_a_second_review_is_needed() -> None:
    held = meeting(ny(2026, 3, 3, 11))
    after = ny(2026, 3, 3, 15)
    reopened = incident(status=IncidentStatus.ACKNOWLEDGED, resolved_at=None)
    plan = plan_for(reopened, postmortem(meeting=held), after)
    question = payload(plan.intent_of(IntentKind.ASK_SECOND_REVIEW), AskSecondReview)
    assert (question.recipient, question.meeting_start, question.answer) == (IC, held.start, None)
    # Resolved again since the meeting: still asked (the reopen happened after it).
    again = incident(resolved_at=ny(2026, 3, 3, 14))
    assert plan_for(again, postmortem(meeting=held), after).intent_of(IntentKind.ASK_SECOND_REVIEW)
    # Reopened before the meeting was held: nothing to ask yet.
    early = plan_for(reopened, postmortem(meeting=held), ny(2026, 3, 3, 10))
    assert early.intent_of(IntentKind.ASK_SECOND_REVIEW) is None
    # Answered: the question says so (the same key, edited).
    answer = ReopenAnswer(meeting_start=held.start, second_review=False, by=ALICE, at=after)
    answered = plan_for(reopened, postmortem(meeting=held, reopen_answer=answer), after)
    edited = payload(answered.intent_of(IntentKind.ASK_SECOND_REVIEW), AskSecondReview)
    assert (edited.answer, edited.answered_by) == (False, ALICE)
    assert keys(answered).count(keys(plan)[-1]) <= 1


# -- incident.io taken at its word ----------------------------------------------------------

IO = {
    "id": "incidentio:01X",
    "source": Source.INCIDENTIO,
    "source_id": "01X",
    "links": IncidentLinks(postmortem_document_id="01DOC"),
}


def _io_pm(status: PostMortemStatus, **changes: object) -> PostMortem:
    return postmortem(incident_id="incidentio:01X", status=status, **changes)


def _reported(status: VendorPostmortemStatus) -> VendorStatus:
    return VendorStatus(source="incidentio", document_id="01DOC", status=status, at=ny(2026, 3, 3))


def test_incidentio_completed_walks_pmhub_to_closed_through_its_guards() -> None:
    held = meeting(ny(2026, 3, 3, 11))
    now = ny(2026, 3, 3, 15)
    done = _reported(VendorPostmortemStatus.COMPLETED)
    ready = _io_pm(S.IN_REVIEW, meeting=held, no_follow_ups=True, vendor_status=done)
    plan = plan_for(incident(**IO), ready, now)
    follow = payload(plan.intent_of(IntentKind.FOLLOW_VENDOR_STATUS), FollowVendorStatus)
    assert (follow.status, follow.from_status) == ("completed", "in_review")
    route = walk(ready, S.CLOSED, PMHUB, now, reason="incident.io", plan=plan)
    assert route.arrived
    assert [(s.audit.from_status, s.audit.to_status) for s in route.steps] == [
        (S.IN_REVIEW, S.CLOSED)
    ]

    # Follow-ups not filed: a guard holds it; the owner hears what (and it still moves
    # as far as the guards allow: In Review -> Reviewed).
    held_back = _io_pm(
        S.IN_REVIEW,
        meeting=held,
        follow_ups=(FollowUp(id="1", summary="x", priority="P1"),),
        vendor_status=done,
    )
    plan = plan_for(incident(**IO), held_back, now)
    blocked = payload(plan.intent_of(IntentKind.REPORT_CLOSE_BLOCKED), ReportCloseBlocked)
    assert blocked.blocking == ("follow_ups_filed",)
    assert blocked.recipient == IC
    assert plan.intent_of(IntentKind.FOLLOW_VENDOR_STATUS) is not None  # to Reviewed

    # Only time holds it (completed before the meeting): due when the meeting starts.
    early = _io_pm(S.IN_REVIEW, meeting=AHEAD, no_follow_ups=True, vendor_status=done)
    plan = plan_for(incident(**IO), early, ny(2026, 3, 3, 15))
    timed = plan.intent_of(IntentKind.FOLLOW_VENDOR_STATUS)
    assert timed is not None
    assert timed.due_at == AHEAD.start
    assert plan.intent_of(IntentKind.REPORT_CLOSE_BLOCKED) is None


def test_pmhub_moves_are_written_to_incidentio_never_behind_it() -> None:
    held = meeting(ny(2026, 3, 3, 11))
    now = ny(2026, 3, 3, 15)
    plan = plan_for(incident(**IO), _io_pm(S.IN_REVIEW, meeting=held), now)
    write = payload(plan.intent_of(IntentKind.WRITE_VENDOR_STATUS), WriteVendorStatus)
    assert (write.document_id, write.status) == ("01DOC", "in_review")
    closed = plan_for(incident(**IO), _io_pm(S.CLOSED, meeting=held), now)
    assert payload(closed.intent_of(IntentKind.WRITE_VENDOR_STATUS), WriteVendorStatus).status == (
        "completed"
    )
    # incident.io said completed itself: pmhub in review writes nothing back.
    ahead = _io_pm(
        S.IN_REVIEW, meeting=held, vendor_status=_reported(VendorPostmortemStatus.COMPLETED)
    )
    assert plan_for(incident(**IO), ahead, now).intent_of(IntentKind.WRITE_VENDOR_STATUS) is None
    # Closed as not needed is not "completed".
    unneeded = _io_pm(S.CLOSED, not_needed_reason="false positive")
    assert plan_for(incident(**IO), unneeded, now).intent_of(IntentKind.WRITE_VENDOR_STATUS) is None


# -- the policy language ---------------------------------------------------------------------


def test_pmhub_schema_policy_documents_the_new_keys() -> None:
    schema = policy_json_schema()
    defs = schema["$defs"]
    rule = defs["RuleSpec"]["properties"]
    assert "fallback" in rule["owner"]["description"]
    assert rule["when_no_longer_required"]["default"] == {
        "default": "close",
        "answer_within": "1 business day",
    }
    assert "escalate_to" in defs["ReminderSpec"]["properties"]
    assert "invite_optional" in defs["MeetingSpec"]["properties"]
    assert "default" in defs["SeveritiesSpec"]["properties"]


def test_a_misspelt_owner_fallback_is_one_clear_problem(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\nrules:\n"
        "  - name: a\n    postmortem: required\n    owner: [designated, fallbak: S0123ABCD]\n"
        "  - name: b\n    postmortem: required\n    owner: [fallback: '@sre', designated]\n"
    )
    problems = [str(p) for p in check_policy_files([path])]
    assert problems == [
        f"{path}:5:25: rules[0].owner[1]: an owner entry that is a mapping is `fallback: "
        "<email or Slack user group id>`, not 'fallbak'",
        f"{path}:8:13: rules[1].owner[0]: not an owner fallback: '@sre' (allowed: an email, "
        "or a Slack user group id such as S0123ABCD)",
    ]


def test_what_held_the_walk_when_it_ran_is_told_to_the_owner() -> None:
    """A guard only checked when the walk runs (the document's sections) held it: kept
    with incident.io's report, the owner hears it, with the reason."""
    held = meeting(ny(2026, 3, 3, 11))
    reported = _reported(VendorPostmortemStatus.COMPLETED).model_copy(
        update={"held": ("these sections of the post-mortem document are empty: Summary",)}
    )
    pm = _io_pm(S.IN_REVIEW, meeting=held, no_follow_ups=True, vendor_status=reported)
    plan = plan_for(incident(**IO), pm, ny(2026, 3, 3, 15))
    intent = plan.intent_of(IntentKind.REPORT_CLOSE_BLOCKED)
    blocked = payload(intent, ReportCloseBlocked)
    assert blocked.blocking == ("held",)
    assert intent is not None
    assert "Summary" in intent.message
