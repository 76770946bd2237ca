"""Decision 1: is a post-mortem required? (every SEV-1/2; false positives optional)."""

from __future__ import annotations

import pytest

from hub.model.incident import IncidentStatus, Severity
from hub.model.intent import AskOptional, IntentKind
from hub.model.postmortem import PostMortemStatus
from hub.policy import load_policies, plan_to_json

from .factories import IC, POSTHOG_POLICY, incident, keys, payload, plan_for, postmortem

POSTHOG = load_policies([POSTHOG_POLICY])


@pytest.mark.parametrize(
    ("severity", "false_positive", "required", "rule"),
    [
        (Severity.SEV1, False, True, "major"),
        (Severity.SEV2, False, True, "major"),
        (Severity.SEV3, False, False, "everything-else"),
        (Severity.SEV4, False, False, "everything-else"),
        (Severity.UNKNOWN, False, False, "everything-else"),
        # In the PagerDuty process a SEV-1 is reviewed even if it was a false alarm
        # (seed 002: "even if ... it was a false alarm"): `major` comes first.
        (Severity.SEV1, True, True, "major"),
        (Severity.SEV3, True, "optional", "false-positive"),
    ],
)
def test_pagerduty_process(
    severity: Severity, false_positive: bool, required: object, rule: str
) -> None:
    plan = plan_for(incident(severity=severity, false_positive=false_positive))
    assert (plan.required, plan.rule) == (required, rule)


@pytest.mark.parametrize(
    ("severity", "false_positive", "required", "rule"),
    [
        (Severity.SEV1, False, True, "posthog-major"),
        (Severity.SEV2, False, True, "posthog-major"),
        (Severity.SEV3, False, True, "posthog-minor"),
        # PostHog: any false positive may opt out (seed 000).
        (Severity.SEV1, True, "optional", "posthog-false-positive"),
    ],
)
def test_posthog_process(
    severity: Severity, false_positive: bool, required: object, rule: str
) -> None:
    plan = plan_for(incident(severity=severity, false_positive=false_positive), policies=POSTHOG)
    assert (plan.required, plan.rule) == (required, rule)


def test_not_required_means_nothing_to_do() -> None:
    plan = plan_for(incident(severity=Severity.SEV3))
    assert plan.intents == ()
    assert plan.owner is None
    assert plan_to_json(plan)["postmortem"] == {
        "required": False,
        "rule": "everything-else",
        "status": None,
        "owner": None,
        "meeting": None,
        "intents": [],
        "problems": [],
        "notes": ["this rule needs no post-mortem"],
    }


def test_required_post_mortem_is_created() -> None:
    plan = plan_for(incident(severity=Severity.SEV1))
    assert keys(plan)[0] == "pm:pagerduty:P1:create"
    assert plan.status is PostMortemStatus.DRAFT


def test_false_positive_asks_the_owner_about_alerting() -> None:
    plan = plan_for(incident(severity=Severity.SEV3, false_positive=True))
    assert keys(plan) == ["pm:pagerduty:P1:optional:ask:email:ic@example.com"]
    (ask,) = plan.intents
    assert ask.kind is IntentKind.ASK_OPTIONAL
    assert "alerting" in ask.message
    assert payload(ask, AskOptional).recipient == IC


def test_optional_post_mortem_started_by_the_owner_is_followed() -> None:
    pm = postmortem()
    plan = plan_for(incident(severity=Severity.SEV3, false_positive=True), pm)
    # No meeting in the false-positive rule, no owner DM (the ask was it), nothing to create.
    assert keys(plan) == []


def test_optional_closed_as_not_needed_is_quiet() -> None:
    pm = postmortem(status=PostMortemStatus.CLOSED, not_needed_reason="noisy disk alert, tuned")
    plan = plan_for(incident(severity=Severity.SEV3, false_positive=True), pm)
    assert plan.intents == ()
    assert plan.notes == ("closed: noisy disk alert, tuned",)


@pytest.mark.parametrize("status", [IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED])
def test_nothing_happens_before_resolution(status: IncidentStatus) -> None:
    plan = plan_for(incident(severity=Severity.SEV1, status=status, resolved_at=None))
    assert plan.required is True
    assert plan.intents == ()
    assert plan.owner is not None  # the plan already says who will own it
    assert "resolved" in plan.notes[0]


def test_merged_incident_needs_nothing_and_nobody_is_asked() -> None:
    """Merged (declined, not a false positive): the incident it joined has the post-mortem."""
    plan = plan_for(incident(severity=Severity.SEV1, status=IncidentStatus.DECLINED))
    assert plan.required is False
    assert plan.intents == ()
    assert plan.notes == (
        "the incident was declined (merged, not a false positive): no post-mortem",
    )


def test_declined_false_positive_short_circuits_and_asks_but_wait() -> None:
    """incident.io declined/cancelled: no post-mortem, whatever the severity; seed 000's
    "But wait!" asks the owner whether a quick one should tune the alerting."""
    declined = incident(severity=Severity.SEV1, status=IncidentStatus.DECLINED, false_positive=True)
    plan = plan_for(declined)
    assert plan.required == "optional"
    assert [intent.kind for intent in plan.intents] == [IntentKind.ASK_OPTIONAL]
    assert plan.intent_of(IntentKind.CREATE_POSTMORTEM) is None
    assert plan.intent_of(IntentKind.SCHEDULE_MEETING) is None


def test_closed_post_mortem_only_shares_its_outcome() -> None:
    plan = plan_for(incident(severity=Severity.SEV1), postmortem(status=PostMortemStatus.CLOSED))
    # Nothing more to do for the process; the outcome is shared (seed 000), PagerDuty
    # gets a closing note, and the stakeholders the results email (seed 004), once.
    assert {intent.kind for intent in plan.intents} == {
        IntentKind.SHARE_OUTCOME,
        IntentKind.PAGERDUTY_NOTE,
        IntentKind.EMAIL_RESULTS,
    }
