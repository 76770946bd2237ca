"""The plan as a whole: stable keys, deterministic evaluation, and its JSON rendering."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.model.incident import Incident, Severity
from hub.model.postmortem import (
    ExternalMessage,
    FollowUp,
    PostMortem,
    PostMortemStatus,
)
from hub.policy import evaluate, load_policies, plan_to_json

from .factories import (
    PAGERDUTY_POLICY,
    POSTHOG_POLICY,
    SHIPPED,
    incident,
    meeting,
    ny,
    plan_for,
    postmortem,
)

moments = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@st.composite
def cases(draw: st.DrawFn) -> tuple[Incident, PostMortem | None, datetime]:
    resolved = draw(moments)
    inc = incident(
        severity=draw(st.sampled_from(list(Severity))),
        false_positive=draw(st.booleans()),
        full_outage=draw(st.booleans()),
        resolved_at=resolved,
        incident_commander=draw(st.sampled_from([None, incident().incident_commander])),
    )
    pm = None
    if draw(st.booleans()):
        start = resolved + timedelta(hours=draw(st.integers(min_value=1, max_value=200)))
        pm = postmortem(
            status=draw(st.sampled_from(list(PostMortemStatus))),
            meeting=meeting(start) if draw(st.booleans()) else None,
            follow_ups=tuple(
                FollowUp(id=str(n), summary="s", priority=draw(st.sampled_from(["P0", "P1", "P3"])))
                for n in range(draw(st.integers(min_value=0, max_value=3)))
            ),
            external_message=ExternalMessage(body="An outage.") if draw(st.booleans()) else None,
        )
    now = resolved + timedelta(minutes=draw(st.integers(min_value=0, max_value=20_000)))
    return inc, pm, now


@settings(deadline=None)
@given(case=cases())
def test_evaluating_twice_gives_identical_intents(
    case: tuple[Incident, PostMortem | None, datetime],
) -> None:
    inc, pm, now = case
    first = evaluate(inc, pm, SHIPPED, now)
    # A freshly loaded policy set (cold holiday caches) must not change anything either.
    second = evaluate(inc, pm, load_policies([PAGERDUTY_POLICY]), now)
    assert first == second
    assert [i.fingerprint() for i in first.intents] == [i.fingerprint() for i in second.intents]
    found = [intent.key for intent in first.intents]
    assert len(found) == len(set(found)), "keys are unique within a plan"
    for intent in first.intents:
        assert intent.key.startswith(f"pm:{inc.id}:")
        assert intent.rule == first.rule
        assert intent.due_at is None or intent.due_at.tzinfo is not None


@settings(max_examples=60, deadline=None)
@given(case=cases())
def test_posthog_policy_evaluates_too(case: tuple[Incident, PostMortem | None, datetime]) -> None:
    inc, pm, now = case
    policies = load_policies([POSTHOG_POLICY])
    assert evaluate(inc, pm, policies, now) == evaluate(inc, pm, policies, now)


def test_keys_do_not_depend_on_the_evaluation_time_until_something_falls_due() -> None:
    inc = incident(severity=Severity.SEV2)
    early = plan_for(inc, now=ny(2026, 3, 2, 11))
    later = plan_for(inc, now=ny(2026, 3, 2, 16))
    assert early.intents == later.intents


def test_fingerprint_ignores_wording_but_not_substance() -> None:
    (intent,) = [i for i in plan_for(incident()).intents if i.kind.value == "notify_owner"]
    reworded = intent.model_copy(update={"message": "new words", "reason": "other"})
    assert reworded.fingerprint() == intent.fingerprint()
    moved = intent.model_copy(update={"due_at": ny(2026, 3, 3, 9)})
    assert moved.fingerprint() != intent.fingerprint()


def test_plan_to_json_shape() -> None:
    plan = plan_for(incident(severity=Severity.SEV1))
    rendered = plan_to_json(plan)
    json.dumps(rendered)  # plain JSON
    assert {k: rendered[k] for k in ("id", "severity", "status")} == {
        "id": "pagerduty:P1",
        "severity": "SEV-1",
        "status": "resolved",
    }
    pm = rendered["postmortem"]
    assert (pm["required"], pm["rule"], pm["status"]) == (True, "major", "draft")
    assert pm["owner"] == {
        "email": "ic@example.com",
        "name": "Ida Commander",
        "reason": "incident_commander",
    }
    assert pm["meeting"]["deadline"] == "2026-03-05T10:00:00-05:00"
    assert pm["meeting"]["calendar"] == "Incident Post-Mortem Meetings"
    assert pm["meeting"]["duration_minutes"] == 30
    assert pm["meeting"]["invitees"][0] == "ic@example.com"
    first = pm["intents"][0]
    assert set(first) >= {"key", "kind", "due_at", "rule", "reason"}
    assert first == {
        "key": "pm:pagerduty:P1:create",
        "kind": "create_postmortem",
        "due_at": None,
        "rule": "major",
        "clause": "postmortem",
        "reason": "rule 'major' requires a post-mortem for this SEV-1",
    }
    timers = [i["due_at"] for i in pm["intents"] if i["due_at"]]
    assert timers
    assert all(datetime.fromisoformat(t).utcoffset() is not None for t in timers)


def test_plan_to_json_optional_and_unknown_owner() -> None:
    rendered = plan_to_json(plan_for(incident(severity=Severity.SEV3, false_positive=True)))
    assert rendered["postmortem"]["required"] == "optional"
    assert rendered["postmortem"]["meeting"] is None
    nobody = incident(
        incident_commander=None, acknowledgers=(), primary_oncall=None, manual_trigger=None
    )
    assert plan_to_json(plan_for(nobody))["postmortem"]["owner"] is None


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate(incident(), None, SHIPPED, datetime(2026, 3, 2, 12))
