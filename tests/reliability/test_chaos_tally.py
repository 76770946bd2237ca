"""The chaos run's count of unfinished effects: what is missing, and what the plan dropped."""

from __future__ import annotations

from hub.model.postmortem import BookingNote
from hub.policy import evaluate
from tests.engine.test_keeping_true import (
    NOW,
    POLICIES,
    booked_meeting,
    draft,
    handed_to_bob,
    incident,
)
from tests.reliability.chaos.tally import owed_not_done, unfinished_effects

PM = "pm:pagerduty:PCHAOS00007"
PLANNED = {f"{PM}:"}
CHECK_AT_6 = f"{PM}:meeting:check@2026-12-07T06:10:00Z"
CHECK_AT_7 = f"{PM}:meeting:check@2026-12-07T07:10:00Z"


def test_an_attempt_cut_off_whose_intent_the_plan_dropped_is_superseded() -> None:
    missing, superseded = unfinished_effects(
        [(CHECK_AT_6, "pending"), (CHECK_AT_7, "done")], PLANNED, {CHECK_AT_7}
    )

    assert missing == []
    assert superseded == [f"{CHECK_AT_6} (pending)"]


def test_an_unfinished_effect_the_plan_still_holds_is_missing() -> None:
    missing, superseded = unfinished_effects(
        [(CHECK_AT_6, "pending"), (CHECK_AT_7, "pending")], PLANNED, {CHECK_AT_7}
    )

    assert missing == [f"{CHECK_AT_7} (pending)"]
    assert superseded == [f"{CHECK_AT_6} (pending)"]


def test_a_refusal_is_missing_even_when_no_longer_planned() -> None:
    missing, superseded = unfinished_effects([(CHECK_AT_6, "failed")], PLANNED, set())

    assert (missing, superseded) == ([f"{CHECK_AT_6} (failed)"], [])


def test_an_effect_of_an_incident_whose_plan_was_not_made_is_missing() -> None:
    other = "pm:pagerduty:PCHAOS00008:slack:announce"
    rollup = "rollup:C-INCIDENTS:1"
    missing, superseded = unfinished_effects(
        [(other, "pending"), (rollup, "pending")], PLANNED, set()
    )

    assert superseded == []
    assert missing == [f"{other} (pending)", f"{rollup} (pending)"]


def test_a_notice_to_an_owner_who_handed_over_leaves_the_plan() -> None:
    """Why such a row is not missing: the booked-time notice is keyed by its owner, and
    the plan after the hand-off holds the new owner's notice instead of the old one's."""
    note = BookingNote(conflicts=("bob@example.com",))
    pm = draft(meeting=booked_meeting().model_copy(update={"booking": note}))

    before = {i.key for i in evaluate(incident(), pm, POLICIES, NOW).intents}
    after = {i.key for i in evaluate(incident(), handed_to_bob(pm), POLICIES, NOW).intents}

    booked = "pm:pagerduty:P1042:meeting:booked:evt1042:email"
    assert f"{booked}:alice@example.com" in before - after
    assert f"{booked}:bob@example.com" in after - before


def test_an_intent_owed_and_never_begun_is_missing() -> None:
    owed = {f"{PM}:slack:announce": "f1", f"{PM}:owner:notify:email:a@example.com": "f2"}
    ledger = {f"{PM}:slack:announce": ("done", "f1")}

    assert owed_not_done(owed, ledger) == [
        f"{PM}:owner:notify:email:a@example.com (planned and due, never begun)"
    ]


def test_an_intent_done_for_an_earlier_version_of_it_is_missing() -> None:
    owed = {f"{PM}:owner:notify:email:a@example.com": "now"}

    stale = owed_not_done(owed, {f"{PM}:owner:notify:email:a@example.com": ("done", "before")})
    current = owed_not_done(owed, {f"{PM}:owner:notify:email:a@example.com": ("done", "now")})

    assert stale == [
        f"{PM}:owner:notify:email:a@example.com (done for an earlier version of its intent)"
    ]
    assert current == []
